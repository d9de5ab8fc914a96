/**
 * The forward SPA on the calling thread: copies a chunk into its memory, runs spa_process,
 * copies the output out. What each postMessage and main-thread stage does per chunk, so every
 * transport runs the same module; only how chunks move differs.
 */
export async function forwardInstance(url: string, maxBytes: number): Promise<(chunk: Uint8Array) => Uint8Array> {
  const module = await WebAssembly.compileStreaming(fetch(url));
  const pages = 1 + Math.ceil((2 * maxBytes) / 65536);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: Math.max(pages, 64), shared: true });
  const { exports } = (await WebAssembly.instantiate(module, { env: { memory } })) as unknown as {
    exports: { spa_init(p: number, n: number): number; spa_process(a: number, b: number, c: number, d: number): number };
  };
  exports.spa_init(0, 0);
  const input = 65536;
  const output = input + maxBytes;
  return (chunk) => {
    new Uint8Array(memory.buffer, input, chunk.byteLength).set(chunk);
    const length = exports.spa_process(input, chunk.byteLength, output, maxBytes);
    return new Uint8Array(memory.buffer, output, length).slice();
  };
}
