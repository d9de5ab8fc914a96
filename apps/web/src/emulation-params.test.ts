import { describe, expect, it } from 'vitest';
import { emulationFromSearch } from './emulation-params.js';

describe('emulationFromSearch', () => {
  it('reads position and bandwidth', () => {
    expect(emulationFromSearch('?pos=120,40&up=2000&down=8000&name=alice')).toEqual({
      emulation: { position: [120, 40], upKbps: 2000, downKbps: 8000 },
      name: 'alice',
      errors: [],
    });
    expect(emulationFromSearch('')).toEqual({ errors: [] });
    expect(emulationFromSearch('?debug')).toEqual({ debug: true, errors: [] });
  });

  it('explains bad values instead of ignoring them', () => {
    expect(emulationFromSearch('?pos=abc&up=-5').errors).toEqual([
      'pos must be two numbers "x,y" within ±10000, got "abc"',
      'up must be a positive number of kbit/s, got "-5"',
    ]);
  });
});
