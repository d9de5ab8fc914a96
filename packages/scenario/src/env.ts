/** How `cubecast scenario run` tells the Playwright run it starts what to do (environment variables). */

/** The scenario file the kit's Playwright configuration runs. */
export const SCENARIO_FILE_ENV = 'CUBECAST_SCENARIO_FILE';
/** Where reports go: one folder per test under it (unset: the test's Playwright output folder). */
export const REPORTS_ENV = 'CUBECAST_SCENARIO_REPORTS';
/** '1': every step and server event is printed as it happens, so a long scenario shows progress. */
export const LOG_ENV = 'CUBECAST_SCENARIO_LOG';
