/**
 * The built-in SPAs: what each takes as input, and its configuration, from the JSON a
 * subscription carries ({ spa, config }) to the bytes its `spa_init` reads
 * (assembly/*.ts document the layouts).
 */
import { z } from 'zod';

/**
 * What a stage consumes. `payload`: a channel's chunk payloads as they travel. `frames`: decoded
 * I420 frame records (the host decodes before and encodes after). `tagged`: chunks of two
 * streams, tagged by the host with their input and sequence number (split's records carry
 * such tags themselves, so merge takes them as payloads).
 */
export type SpaInput = 'payload' | 'frames' | 'tagged';

const empty = z.strictObject({});
const configSchemas = {
  forward: empty,
  thin: z.strictObject({ maxLayer: z.number().int().min(0).max(2).default(0) }),
  pixels: z.strictObject({ grayscale: z.boolean().default(true), halve: z.boolean().default(true) }),
  sensor: z.strictObject({
    mode: z.enum(['threshold', 'average']).default('average'),
    window: z.number().int().min(1).max(1024).default(8),
    threshold: z.number().default(0),
  }),
  coding: z.strictObject({
    mode: z.enum(['encode', 'decode']),
    plain: z.enum(['a', 'b']).default('a'),
    seed: z.number().int().min(0).max(255).default(1),
  }),
  split: empty,
  merge: empty,
} as const;

export type BuiltInSpa = keyof typeof configSchemas;

export const BUILT_IN_SPAS: Record<BuiltInSpa, { readonly input: SpaInput; readonly summary: string }> = {
  forward: { input: 'payload', summary: 'passes every chunk on unchanged' },
  thin: { input: 'payload', summary: 'drops temporal layers above maxLayer (L1T3: 0 keeps 1/4 of the frames, 1 keeps 1/2)' },
  pixels: { input: 'frames', summary: 'grayscale and/or halves the size of decoded frames' },
  sensor: { input: 'payload', summary: 'filters a sensor channel: threshold, or moving average' },
  coding: { input: 'tagged', summary: 'GF(2^8) network coding of two streams, and decoding' },
  split: { input: 'payload', summary: 'deals chunks across two paths' },
  merge: { input: 'payload', summary: "puts split's records back in order (hold)" },
};

/** A configuration a built-in SPA does not accept. */
export class SpaConfigError extends Error {
  override readonly name = 'SpaConfigError';
}

export function isBuiltInSpa(name: string): name is BuiltInSpa {
  return Object.hasOwn(configSchemas, name);
}

type Config = Readonly<Record<string, number | string | boolean>>;

/** The bytes `spa_init` of built-in `name` reads for `config`. */
export function encodeSpaConfig(name: BuiltInSpa, config: Config = {}): Uint8Array {
  const parsed = configSchemas[name].safeParse(config);
  if (!parsed.success) {
    throw new SpaConfigError(`${name}: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || 'config'}: ${issue.message}`).join('; ')}`);
  }
  switch (name) {
    case 'thin':
      return new Uint8Array([(parsed.data as z.infer<(typeof configSchemas)['thin']>).maxLayer]);
    case 'pixels': {
      const c = parsed.data as z.infer<(typeof configSchemas)['pixels']>;
      return new Uint8Array([(c.grayscale ? 1 : 0) | (c.halve ? 2 : 0)]);
    }
    case 'sensor': {
      const c = parsed.data as z.infer<(typeof configSchemas)['sensor']>;
      const bytes = new Uint8Array(12);
      const view = new DataView(bytes.buffer);
      view.setUint8(0, c.mode === 'threshold' ? 0 : 1);
      view.setUint16(2, c.window);
      view.setFloat64(4, c.threshold);
      return bytes;
    }
    case 'coding': {
      const c = parsed.data as z.infer<(typeof configSchemas)['coding']>;
      return new Uint8Array([c.mode === 'encode' ? 0 : 1, c.plain === 'a' ? 0 : 1, c.seed]);
    }
    default:
      return new Uint8Array(0);
  }
}

/** A custom module gets its configuration as JSON text: its author decides what it means. */
export function encodeCustomConfig(config: Config = {}): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(config));
}
