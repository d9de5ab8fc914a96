import { readFileSync } from 'node:fs';
import {
  Cube,
  createRouter,
  isRoutingPolicy,
  mRegion,
  MAX_HOSTS,
  MAX_RADIX,
  randomLinkCosts,
  regionTable,
  ROUTING_POLICIES,
  type LinkCost,
} from '@cubecast/overlay';
import { integerArg, parse, UsageError } from './args.js';

export interface Output {
  out(text: string): void;
}

export const CUBE_HELP = `Usage: cubecast cube <command> [options]

Facts of k-ary n-cubes, as the overlay uses them. Output is JSON on stdout.

Commands:
  mregion <m>      the cube Cubecast uses for m hosts
  route            a route between two ids under a routing policy
  regions          which range of host counts maps to which cube

Run "cubecast cube <command> --help" for a command's options.`;

const MREGION_HELP = `Usage: cubecast cube mregion <m>

The cube for m hosts (1 <= m <= ${MAX_HOSTS}): among all (k, n) with k^n >= m, the one with the
lowest average hop count A(k,n) = n*floor(k^2/4)/k; ties go to the larger M, then the smaller k.

Example:
  $ cubecast cube mregion 65536
  {"k":3,"n":11,"M":177147,"avgHops":7.333333333333333,"diameter":11,"degree":22}`;

const ROUTE_HELP = `Usage: cubecast cube route --k <k> --n <n> --from <id> --to <id> [options]

The route from one logical id to another, both included, ids in text form: n base-k digits
(0-9a-z), dimension 0 leftmost.

Options:
  --k <k>            radix, 2..${MAX_RADIX}
  --n <n>            dimensions, 1 or more (k^n at most 2^32)
  --from <id>        source id, e.g. 0120
  --to <id>          destination id
  --policy <p>       ${ROUTING_POLICIES.join(' | ')} (default greedy)
  --seed <s>         seed of random's dimension order and of greedy's random link costs (default 0)
  --costs <file>     greedy: JSON object of measured link costs in ms, {"0120-1120": 12.5, ...};
                     links it does not list count as unmeasured and are taken last.
                     Without it, greedy uses seeded random costs in [1, 100) ms.

Example:
  $ cubecast cube route --k 3 --n 4 --from 0120 --to 2201 --policy odr
  {"path":["0120","2120","2220","2200","2201"]}`;

const REGIONS_HELP = `Usage: cubecast cube regions [--max <m>]

The M-region table: every range of host counts from 1 to --max (default 10000000, at most
${MAX_HOSTS}) with the cube chosen for it.`;

export function cubeCommand(args: string[], io: Output): void {
  const [command, ...rest] = args;
  switch (command) {
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      io.out(CUBE_HELP);
      return;
    case 'mregion':
      return mregionCommand(rest, io);
    case 'route':
      return routeCommand(rest, io);
    case 'regions':
      return regionsCommand(rest, io);
    default:
      throw new UsageError(`unknown command "cube ${command}": expected mregion, route or regions`);
  }
}

function mregionCommand(args: string[], io: Output): void {
  const options = parse(args, {}, 'cube mregion');
  if (options.help) return io.out(MREGION_HELP);
  if (options.positionals.length !== 1) throw new UsageError('cube mregion takes one host count, e.g. "cubecast cube mregion 65536"');
  const m = integerArg(options.positionals[0], 'the host count m', 1, MAX_HOSTS);
  io.out(JSON.stringify(mRegion(m)));
}

function regionsCommand(args: string[], io: Output): void {
  const options = parse(args, { max: { type: 'string' } }, 'cube regions');
  if (options.help) return io.out(REGIONS_HELP);
  if (options.positionals.length > 0) throw new UsageError(`cube regions takes no arguments, got "${options.positionals[0]}"`);
  const maxText = options.string('max');
  const max = maxText === undefined ? 10_000_000 : integerArg(maxText, '--max', 1, MAX_HOSTS);
  io.out(JSON.stringify({ regions: regionTable(max) }));
}

function routeCommand(args: string[], io: Output): void {
  const options = parse(
    args,
    {
      k: { type: 'string' },
      n: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      policy: { type: 'string', default: 'greedy' },
      seed: { type: 'string', default: '0' },
      costs: { type: 'string' },
    },
    'cube route',
  );
  if (options.help) return io.out(ROUTE_HELP);
  if (options.positionals.length > 0) throw new UsageError(`cube route takes options only, got "${options.positionals[0]}"`);
  const k = integerArg(options.string('k'), '--k', 2, MAX_RADIX);
  const n = integerArg(options.string('n'), '--n', 1, 32);
  if (k ** n > 2 ** 32) throw new UsageError(`a ${k}-ary ${n}-cube has more than 2^32 nodes`);
  const cube = new Cube(k, n);
  const policy = options.string('policy')!;
  if (!isRoutingPolicy(policy)) {
    throw new UsageError(`unknown policy "${policy}": expected ${ROUTING_POLICIES.join(', ')}`);
  }
  const seed = integerArg(options.string('seed'), '--seed', 0, 2 ** 32 - 1);
  const from = idArg(cube, options.string('from'), '--from');
  const to = idArg(cube, options.string('to'), '--to');
  const costsFile = options.string('costs');
  if (costsFile !== undefined && policy !== 'greedy') throw new UsageError('--costs applies to the greedy policy only');
  const cost = costsFile === undefined ? randomLinkCosts(seed) : costsFromFile(cube, costsFile);
  const path = createRouter(cube, { policy, seed, cost }).path(from, to);
  io.out(JSON.stringify({ path: path.map((id) => cube.toText(id)) }));
}

function idArg(cube: Cube, text: string | undefined, name: string): number {
  if (text === undefined) throw new UsageError(`missing ${name} <id>`);
  try {
    return cube.fromText(text);
  } catch (error) {
    throw new UsageError(`${name}: ${(error as Error).message}`);
  }
}

/** Reads `{"<id>-<id>": ms}`; every key must be a link of the cube. */
function costsFromFile(cube: Cube, file: string): LinkCost {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new UsageError(`--costs ${file}: ${reason}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`--costs ${file}: expected a JSON object like {"0120-1120": 12.5}`);
  }
  const costs = new Map<string, number>();
  for (const [key, value] of Object.entries(parsed)) {
    const ends = key.split('-');
    const [a, b] = ends.map((text) => {
      try {
        return cube.fromText(text);
      } catch {
        throw new UsageError(`--costs ${file}: "${key}" is not a link "<id>-<id>" of the ${cube}`);
      }
    });
    if (ends.length !== 2 || a === undefined || b === undefined || !cube.areNeighbours(a, b)) {
      throw new UsageError(`--costs ${file}: "${key}" is not a link "<id>-<id>" of the ${cube}`);
    }
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new UsageError(`--costs ${file}: the cost of ${key} must be a non-negative number of ms`);
    }
    costs.set(linkKey(a, b), value);
  }
  return (a, b) => costs.get(linkKey(a, b)) ?? Infinity;
}

function linkKey(a: number, b: number): string {
  return a < b ? `${a}-${b}` : `${b}-${a}`;
}
