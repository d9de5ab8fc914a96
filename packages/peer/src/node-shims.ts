/// <reference path="./process-browser.d.ts" />
// simple-peer and readable-stream reach for Node's `process` (nextTick) in the browser.
// Imported before them, this gives them one.
import process from 'process/browser.js';

const scope = globalThis as { process?: unknown };
scope.process ??= process;
