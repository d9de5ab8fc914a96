import { readFileSync } from 'node:fs';
import { inlineSpa } from '../inline-spa.js';

/** The compiled built-in SPA `name` (packages/spa/dist/spas, made by `npm run build`). */
export function builtInBytes(name: string): Uint8Array<ArrayBuffer> {
  const url = new URL(`../../dist/spas/${name}.wasm`, import.meta.url);
  try {
    return Uint8Array.from(readFileSync(url));
  } catch {
    throw new Error(`${url.pathname} is missing: run npm run build`);
  }
}

/** A built-in on this thread, without a worker: for testing its logic. */
export function directSpa(name: string, config: Uint8Array = new Uint8Array(0)) {
  return inlineSpa(builtInBytes(name), config, 256 * 1024);
}
