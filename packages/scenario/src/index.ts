/**
 * @cubecast/scenario: multi-tab experiments on a real Cubecast overlay, scripted as Playwright
 * tests, recorded into a timeline and an HTML report. docs/scenarios.md.
 */
export { expect, test, oneLine, slug } from './fixture.js';
export { LOG_ENV, REPORTS_ENV, SCENARIO_FILE_ENV } from './env.js';
export { Overlay, ScenarioError, SCENARIO_ADMIN_TOKEN, Tab, TabClosedError, WaitTimeoutError, type OverlayOptions } from './overlay.js';
export { Recorder, readSnapshot, tabSample } from './recorder.js';
export { renderReport, reportPlots, MARKED_EVENTS } from './report.js';
export { starterScenario } from './starter.js';
export * from './timeline.js';
export { ObserverConnection } from './observer-connection.js';
export { assertChromium, ChromiumMissingError, CHROMIUM_ARGS, CHROMIUM_PATH, BROWSER_ARGS } from './chromium.js';
export { canIsolate, isIsolated, IsolationUnavailableError, runIsolated } from './network-namespace.js';
export { INTERNET_ADDRESS, NatHome, NatNetwork, type NatKind } from './net/nat-network.js';
export { startNatTestbed, TURN_SECRET, type IceMode, type NatTestbed } from './net/testbed.js';
export { UdpLoss, type UdpLossScope } from './net/udp-loss.js';
export { defaultReportsDir, reportsSince, runScenarioFile, ScenarioFileError, type CommandRunner, type ScenarioReport, type ScenarioRun } from './run-scenario.js';
export { startLoopbackServer, webRoot } from './loopback-server.js';
