import type { Emulation } from '@cubecast/protocol';

/** The URL's emulation parameters: `?pos=120,40&up=2000&down=8000&total=9000` (kbit/s), each optional. */
export function emulationFromSearch(search: string): { emulation?: Emulation; name?: string; debug?: true; errors: string[] } {
  const params = new URLSearchParams(search);
  const errors: string[] = [];
  const emulation: { position?: [number, number]; upKbps?: number; downKbps?: number; totalKbps?: number } = {};
  const pos = params.get('pos');
  if (pos !== null) {
    const parts = pos.split(',').map((p) => Number(p.trim()));
    if (parts.length === 2 && parts.every((p) => Number.isFinite(p) && Math.abs(p) <= 10_000)) emulation.position = [parts[0]!, parts[1]!];
    else errors.push(`pos must be two numbers "x,y" within ±10000, got "${pos}"`);
  }
  for (const [key, field] of [['up', 'upKbps'], ['down', 'downKbps'], ['total', 'totalKbps']] as const) {
    const value = params.get(key);
    if (value === null) continue;
    const n = Number(value);
    if (Number.isFinite(n) && n > 0 && n <= 10_000_000) emulation[field] = n;
    else errors.push(`${key} must be a positive number of kbit/s, got "${value}"`);
  }
  const name = params.get('name') ?? undefined;
  return {
    ...(Object.keys(emulation).length > 0 && { emulation }),
    ...(name !== undefined && { name: name.slice(0, 64) }),
    // Diagnostics for tests of bad input (window.cubecastDebug).
    ...(params.has('debug') && { debug: true as const }),
    errors,
  };
}
