import type { z } from 'zod';
import { BadPayloadError } from './errors.js';
import { LIMITS } from './signaling.js';

/**
 * Checks a received payload against its schema and the size limit, returning the parsed
 * value or throwing BadPayloadError with a message that names the first problem.
 */
export function parsePayload<S extends z.ZodType>(schema: S, payload: unknown, event: string): z.output<S> {
  let size: number;
  try {
    size = JSON.stringify(payload ?? null).length;
  } catch {
    throw new BadPayloadError(`${event}: the payload is not JSON`);
  }
  if (size > LIMITS.maxPayloadBytes) {
    throw new BadPayloadError(`${event}: the payload is ${size} bytes, more than ${LIMITS.maxPayloadBytes}`);
  }
  const result = schema.safeParse(payload);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const where = issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
    throw new BadPayloadError(`${event}: ${issue.message}${where}`);
  }
  return result.data;
}
