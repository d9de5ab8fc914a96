/**
 * The kit's Playwright fixtures: `overlay` starts Cubecast for one test, records it, and
 * writes its report (also when the test fails) before taking everything down.
 */
import { test as base } from '@playwright/test';
import { join, relative } from 'node:path';
import { LOG_ENV, REPORTS_ENV } from './env.js';
import { canIsolate, isIsolated } from './network-namespace.js';
import { Overlay, type OverlayOptions } from './overlay.js';

/** A test's folder name: its titles, lowercased, runs of anything else as one dash. */
export function slug(titles: readonly string[]): string {
  return titles.join(' ').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 80) || 'scenario';
}

/** The first line of an error as Playwright words it, without its terminal colours. */
export function oneLine(message: string): string {
  return (message.replace(/\u001b\[[0-9;]*m/g, '').split('\n').find((line) => line.trim() !== '') ?? '').trim();
}

export const test = base.extend<{ overlay: Overlay; overlayOptions: OverlayOptions }>({
  /** `test.use({ overlayOptions: { nodes: 2, homes: ['eim', 'symmetric'], room: 'lab', algorithm: 'coding' } })`. */
  overlayOptions: [{}, { option: true }],
  overlay: async ({ browser, overlayOptions }, use, testInfo) => {
    // The network rule: WebRTC between tabs never on a real interface where a namespace can be had.
    if (canIsolate() && !isIsolated()) throw new Error('scenarios run in a private network namespace: run this through `cubecast scenario run FILE`');
    const titles = testInfo.titlePath.slice(1);
    const overlay = await Overlay.start(browser, overlayOptions, { title: titles.join(' › '), file: relative(process.cwd(), testInfo.file) });
    if (process.env[LOG_ENV] === '1') overlay.recorder.onEvent((e) => console.log(`${(e.t / 1000).toFixed(1).padStart(7)} s  ${e.type.padEnd(10)} ${e.message}`));
    const startedAt = Date.now();
    try {
      await use(overlay);
    } finally {
      const reports = process.env[REPORTS_ENV];
      const dir = reports ? join(reports, slug(titles)) : testInfo.outputPath('report');
      const error = testInfo.errors[0]?.message;
      try {
        const report = await overlay.writeReport(dir, { status: testInfo.status ?? 'failed', ...(error !== undefined && { error: oneLine(error) }), durationMs: Date.now() - startedAt });
        await testInfo.attach('report', { path: report, contentType: 'text/html' });
      } finally {
        await overlay.close();
      }
    }
  },
});

export { expect } from '@playwright/test';
