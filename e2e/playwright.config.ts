import { defineConfig } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './chromium.js';

export default defineConfig({
  // The specs, and the example scenarios (docs/scenarios.md): run here, they cannot rot.
  testDir: '..',
  testMatch: [/\/e2e\/[^/]+\.spec\.ts$/, /\/scenarios\/[^/]+\.scenario\.ts$/],
  // Many tabs of WebRTC and video per spec: one spec at a time on a small machine.
  workers: 1,
  timeout: 180_000,
  expect: { timeout: 30_000 },
  reporter: [['list']],
  use: {
    launchOptions: {
      executablePath: CHROMIUM_PATH,
      args: CHROMIUM_ARGS,
    },
  },
});
