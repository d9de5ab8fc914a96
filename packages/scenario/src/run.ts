/** What the CLI needs (`@cubecast/scenario/run`): running a scenario file and writing a starter, without loading Playwright's test API. */
export { defaultReportsDir, kitInstalledFor, reportsSince, runScenarioFile, ScenarioFileError, type CommandRunner, type ScenarioReport, type ScenarioRun } from './run-scenario.js';
export { starterScenario } from './starter.js';
export { ChromiumMissingError } from './chromium.js';
export { IsolationUnavailableError } from './network-namespace.js';
export { TIMELINE_VERSION, type Timeline } from './timeline.js';
