import { inlineSpa } from '@cubecast/spa';

/**
 * The forward SPA on the calling thread: what each postMessage and main-thread stage runs per
 * chunk, so every transport runs the same module; only how chunks move differs.
 */
export async function forwardInstance(url: string, maxBytes: number): Promise<(chunk: Uint8Array) => Uint8Array> {
  const spa = inlineSpa(new Uint8Array(await (await fetch(url)).arrayBuffer()), new Uint8Array(0), maxBytes);
  return (chunk) => {
    const out = spa.process(chunk);
    if (typeof out === 'number') throw new Error(`forward refused a chunk (status ${out})`);
    return out;
  };
}
