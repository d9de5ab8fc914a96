#!/usr/bin/env node
// isolate.mjs COMMAND [ARGS...]: runs COMMAND inside a private network namespace (the scenario
// kit's, @cubecast/scenario/isolate), so WebRTC between browser tabs never touches a real
// interface. Not root on Linux (or not Linux), it runs COMMAND as it is, with a warning: a
// developer's laptop still runs the specs, on its own network.
import { IsolationUnavailableError, runIsolated } from '@cubecast/scenario/isolate';
import { spawnSync } from 'node:child_process';

const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error('usage: node e2e/isolate.mjs COMMAND [ARGS...]');
  process.exit(2);
}
try {
  process.exit(await runIsolated(command, args));
} catch (error) {
  if (!(error instanceof IsolationUnavailableError)) throw error;
  console.warn(`isolate: ${error.message}; so WebRTC runs on the host network`);
  process.exit(spawnSync(command, args, { stdio: 'inherit' }).status ?? 1);
}
