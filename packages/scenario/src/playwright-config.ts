/**
 * The Playwright configuration `cubecast scenario run` runs a scenario file with: that one
 * file (CUBECAST_SCENARIO_FILE), one test at a time, Debian's Chromium.
 */
import { defineConfig } from '@playwright/test';
import { join, resolve } from 'node:path';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './chromium.js';
import { REPORTS_ENV, SCENARIO_FILE_ENV } from './env.js';

const file = resolve(process.env[SCENARIO_FILE_ENV] ?? 'scenario.ts');
const escaped = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export default defineConfig({
  testDir: resolve(file, '..'),
  testMatch: new RegExp(`^${escaped}$`),
  // Many tabs of WebRTC and video per scenario: one at a time.
  workers: 1,
  timeout: 15 * 60_000,
  expect: { timeout: 30_000 },
  reporter: [['list']],
  outputDir: join(process.env[REPORTS_ENV] ?? 'scenario-reports', '.playwright'),
  use: { launchOptions: { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS } },
});
