// pixels: grayscale and 2x downscale of a decoded I420 frame (the host decodes before and
// encodes after; docs/protocol.md, "SPA frame record"). Config: byte 0, bit 0 grayscale,
// bit 1 halve both dimensions (a 2x2 box filter).
// Record: u32 width, u32 height, f64 timestamp (µs; carried through unchanged, so the host can
// match an output to its frame), all little-endian; then the Y, U and V planes, tightly packed;
// chroma planes are ceil(w/2) x ceil(h/2).

const HEADER: usize = 16;

let gray = false;
let halve = false;

export function spa_init(cfgPtr: i32, cfgLen: i32): i32 {
  const flags: u8 = cfgLen > 0 ? load<u8>(<usize>cfgPtr) : 1;
  gray = (flags & 1) != 0;
  halve = (flags & 2) != 0;
  return 0;
}

function chroma(size: u32): u32 {
  return (size + 1) >> 1;
}

function recordBytes(width: u32, height: u32): u64 {
  return <u64>HEADER + <u64>width * height + 2 * <u64>chroma(width) * chroma(height);
}

// Averages 2x2 blocks of a plane (an odd last row or column averages what it has).
function downscale(src: usize, width: u32, height: u32, dst: usize): void {
  const outWidth = (width + 1) >> 1;
  const outHeight = (height + 1) >> 1;
  for (let y: u32 = 0; y < outHeight; y++) {
    const row0 = src + <usize>(y * 2) * width;
    const row1 = y * 2 + 1 < height ? row0 + width : row0;
    const out = dst + <usize>y * outWidth;
    for (let x: u32 = 0; x < outWidth; x++) {
      const x0 = x * 2;
      const x1 = x0 + 1 < width ? x0 + 1 : x0;
      const sum = <u32>load<u8>(row0 + x0) + load<u8>(row0 + x1) + load<u8>(row1 + x0) + load<u8>(row1 + x1);
      store<u8>(out + x, <u8>((sum + 2) >> 2));
    }
  }
}

export function spa_process(inPtr: i32, inLen: i32, outPtr: i32, outCap: i32): i32 {
  if (inLen == 0) return -1; // a drain call: this SPA holds nothing
  if (<usize>inLen < HEADER) return -2;
  const input = <usize>inPtr;
  const output = <usize>outPtr;
  const width = load<u32>(input);
  const height = load<u32>(input, 4);
  if (width == 0 || height == 0 || recordBytes(width, height) != <u64>inLen) return -2;
  const outWidth = halve ? (width + 1) >> 1 : width;
  const outHeight = halve ? (height + 1) >> 1 : height;
  const outLen = recordBytes(outWidth, outHeight);
  if (outLen > <u64>outCap) return -2;
  store<u32>(output, outWidth);
  store<u32>(output, outHeight, 4);
  store<f64>(output, load<f64>(input, 8), 8);

  const lumaIn = input + HEADER;
  const lumaOut = output + HEADER;
  const chromaIn = <usize>chroma(width) * chroma(height);
  const chromaOut = <usize>chroma(outWidth) * chroma(outHeight);
  const uIn = lumaIn + <usize>width * height;
  const uOut = lumaOut + <usize>outWidth * outHeight;
  if (halve) {
    downscale(lumaIn, width, height, lumaOut);
  } else {
    memory.copy(lumaOut, lumaIn, <usize>width * height);
  }
  if (gray) {
    memory.fill(uOut, 128, 2 * chromaOut);
  } else if (halve) {
    downscale(uIn, chroma(width), chroma(height), uOut);
    downscale(uIn + chromaIn, chroma(width), chroma(height), uOut + chromaOut);
  } else {
    memory.copy(uOut, uIn, 2 * chromaIn);
  }
  return <i32>outLen;
}
