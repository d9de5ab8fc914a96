import { CHROMIUM_ARGS as BROWSER_ARGS } from '@cubecast/bench-kit/chromium';

export { CHROMIUM_PATH } from '@cubecast/bench-kit/chromium';

/** What every spec's Chromium runs with: the benchmarks' flags, and a fake camera that needs no prompt. */
export const CHROMIUM_ARGS = ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', ...BROWSER_ARGS];
