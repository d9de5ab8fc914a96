import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Bad command-line input: the CLI prints the message on one line and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

export interface Parsed {
  readonly positionals: string[];
  readonly help: boolean;
  /** A string option's value (its default when not given). */
  string(name: string): string | undefined;
  /** Every value of a string option given more than once (`multiple: true`). */
  strings(name: string): string[];
  /** Whether a boolean option was given. */
  flag(name: string): boolean;
}

/**
 * parseArgs in strict mode, with `--help`/`-h` added and its errors turned into one-line
 * UsageErrors.
 */
export function parse(args: string[], options: Options, command: string): Parsed {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    throw new UsageError(`${command}: ${message.replace(/\. To specify a positional argument.*$/, '')}`);
  }
  const values: Record<string, unknown> = parsed.values;
  return {
    positionals: parsed.positionals,
    help: values.help === true,
    string: (name) => (typeof values[name] === 'string' ? (values[name] as string) : undefined),
    strings: (name) => (Array.isArray(values[name]) ? (values[name] as string[]) : []),
    flag: (name) => values[name] === true,
  };
}

/** A whole number written in decimal digits only: "12", not "1e3", "0x10" or " 12". */
export function integerArg(value: string | undefined, name: string, min: number, max: number): number {
  if (value === undefined) throw new UsageError(`missing ${name}`);
  if (!/^-?\d+$/.test(value)) throw new UsageError(`${name} must be a whole number, got "${value}"`);
  const n = Number(value);
  if (n < min || n > max) throw new UsageError(`${name} must be from ${min} to ${max}, got ${value}`);
  return n;
}
