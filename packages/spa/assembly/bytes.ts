// Big-endian access: the wire formats SPAs read and write are big-endian (docs/protocol.md),
// WebAssembly memory is little-endian.

export function loadU32BE(at: usize): u32 {
  return bswap<u32>(load<u32>(at));
}

export function storeU32BE(at: usize, value: u32): void {
  store<u32>(at, bswap<u32>(value));
}

export function loadU16BE(at: usize): u16 {
  return bswap<u16>(load<u16>(at));
}

export function storeU16BE(at: usize, value: u16): void {
  store<u16>(at, bswap<u16>(value));
}

export function loadF64BE(at: usize): f64 {
  return reinterpret<f64>(bswap<u64>(load<u64>(at)));
}

export function storeF64BE(at: usize, value: f64): void {
  store<u64>(at, bswap<u64>(reinterpret<u64>(value)));
}

/**
 * An address `offset` bytes into the working memory that follows the module's static data.
 * Built-ins keep large buffers there rather than in `memory.data`, which would put their
 * zeros into the .wasm file; the build sizes --initialMemory to cover them.
 */
export function scratch(offset: usize): usize {
  return ((__heap_base + 15) & ~15) + offset;
}
