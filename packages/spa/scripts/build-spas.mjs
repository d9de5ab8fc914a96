// Compiles the built-in SPAs (assembly/*.ts, AssemblyScript) to dist/spas/<name>.wasm and
// checks each against the SPA ABI, so a built-in that would be refused at run time fails the
// build instead. Run by `npm run build` (and so by `npm install`): no .wasm is committed.
import asc from 'assemblyscript/asc';
import { mkdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { validateSpaModule } from '../dist/abi.js';

const root = fileURLToPath(new URL('..', import.meta.url));

// initialPages covers each module's static data and the working memory it keeps above it
// (assembly/bytes.ts, `scratch`); maximumPages caps what the host may give it, its I/O
// region included (packages/spa/src/host.ts).
const BUILT_INS = {
  forward: { initialPages: 1, maximumPages: 64 },
  thin: { initialPages: 1, maximumPages: 64 },
  pixels: { initialPages: 1, maximumPages: 256 },
  sensor: { initialPages: 1, maximumPages: 64 },
  coding: { initialPages: 5, maximumPages: 64 }, // 2 inputs x 8 slots x 16 KiB
  split: { initialPages: 1, maximumPages: 64 },
  merge: { initialPages: 17, maximumPages: 96 }, // 16 slots x 64 KiB
};

await mkdir(`${root}/dist/spas`, { recursive: true });
for (const [name, { initialPages, maximumPages }] of Object.entries(BUILT_INS)) {
  const out = `dist/spas/${name}.wasm`;
  const { error } = await asc.main(
    [
      `assembly/${name}.ts`,
      '--baseDir', root,
      '--outFile', out,
      '--runtime', 'stub',
      '--importMemory', '--sharedMemory',
      '--initialMemory', String(initialPages),
      '--maximumMemory', String(maximumPages),
      '--enable', 'threads',
      // No abort import: the ABI allows env.memory only, so a failed assertion traps instead.
      '--use', 'abort=',
      '-O3', '--noAssert',
    ],
    { stdout: process.stdout, stderr: process.stderr },
  );
  if (error) {
    console.error(`build-spas: ${name}: ${error.message}`);
    process.exit(1);
  }
  validateSpaModule(new Uint8Array(await readFile(`${root}/${out}`)));
}
console.log(`build-spas: ${Object.keys(BUILT_INS).length} built-in SPAs in packages/spa/dist/spas`);
