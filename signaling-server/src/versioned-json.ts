import type { z } from 'zod';

/**
 * Reads one JSON document the server keeps or passes between its nodes: refused, as
 * `fail(message)`, when over `maxBytes`, not JSON, of another version (`v`, when the format
 * has one of its own), or not the schema. `what` names the document in the messages.
 */
export function decodeVersionedJson<S extends z.ZodType>(
  text: string,
  format: { readonly what: string; readonly version?: number; readonly maxBytes: number; readonly schema: S },
  fail: (message: string) => Error,
): z.output<S> {
  const { what, version, maxBytes, schema } = format;
  if (text.length > maxBytes) throw fail(`${what} of ${text.length} bytes is over the ${maxBytes} read`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw fail(`${what} is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const found = (json as { v?: unknown } | null)?.v;
  if (version !== undefined && found !== version) throw fail(`${what} of version ${String(found)}; this server reads version ${version}`);
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw fail(`${what} is malformed at ${issue.path.join('.') || '(top)'}: ${issue.message}`);
  }
  return parsed.data;
}
