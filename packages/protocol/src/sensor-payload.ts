import { MalformedMessageError } from './data-plane.js';

/**
 * A sensor channel's chunk payload (big-endian): readings of the channel's first field.
 *
 *  0  u8   version (1)
 *  1  u8   reserved (0)
 *  2  u16  count (1 to 4096)
 *  4  count x { f64 time (ms since the Unix epoch), f64 value }
 *
 * The sensor SPA (packages/spa/assembly/sensor.ts) reads and writes the same layout.
 */
export const SENSOR_PAYLOAD_VERSION = 1;
export const MAX_SENSOR_READINGS = 4096;

export interface SensorReading {
  readonly timeMs: number;
  readonly value: number;
}

export function encodeSensorPayload(readings: readonly SensorReading[]): Uint8Array {
  if (readings.length < 1 || readings.length > MAX_SENSOR_READINGS) throw new RangeError(`a sensor chunk holds 1 to ${MAX_SENSOR_READINGS} readings`);
  const out = new Uint8Array(4 + 16 * readings.length);
  const view = new DataView(out.buffer);
  view.setUint8(0, SENSOR_PAYLOAD_VERSION);
  view.setUint16(2, readings.length);
  readings.forEach(({ timeMs, value }, i) => {
    view.setFloat64(4 + 16 * i, timeMs);
    view.setFloat64(12 + 16 * i, value);
  });
  return out;
}

export function decodeSensorPayload(bytes: Uint8Array): SensorReading[] {
  if (bytes.byteLength < 4) throw new MalformedMessageError('sensor payload shorter than its header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint8(0) !== SENSOR_PAYLOAD_VERSION) throw new MalformedMessageError(`unsupported sensor payload version ${view.getUint8(0)}`);
  const count = view.getUint16(2);
  if (count < 1 || count > MAX_SENSOR_READINGS || bytes.byteLength !== 4 + 16 * count) throw new MalformedMessageError('sensor payload length does not match its count');
  return Array.from({ length: count }, (_, i) => ({ timeMs: view.getFloat64(4 + 16 * i), value: view.getFloat64(12 + 16 * i) }));
}
