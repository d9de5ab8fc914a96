#!/usr/bin/env node
// The cubecast command. The TypeScript sources are compiled to dist/ by `npm install` (the
// root `prepare` script) or `npm run build`.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('cubecast: not built yet; run "npm run build" in the repository root\n');
  process.exit(1);
}
// A reader that goes away early (`cubecast sim ... | head`) is no error: stop quietly, as
// Unix tools do, instead of dying on the unhandled EPIPE with a stack trace.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  process.stderr.write(`cubecast: cannot write the output: ${error.message}\n`);
  process.exit(1);
});
const { run } = await import(entry.href);
process.exitCode = await run(process.argv.slice(2), {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  status: {
    live: process.stderr.isTTY === true,
    show: (text) => process.stderr.write(process.stderr.isTTY ? `\r\x1b[2K${text.slice(0, process.stderr.columns - 1)}` : `${text}\n`),
    done: () => process.stderr.isTTY && process.stderr.write('\r\x1b[2K'),
  },
});
