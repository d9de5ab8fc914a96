import { createHmac } from 'node:crypto';
import type { IceConfiguration, IceServer } from '@cubecast/protocol';
import { z } from 'zod';

/** A bad ICE setting: the server does not start, and says why in one line. */
export class IceConfigError extends Error {
  override readonly name = 'IceConfigError';
}

/**
 * The ICE servers a deployment hands its hosts. STUN lets a tab behind a NAT offer its public
 * address; TURN relays for a tab behind a symmetric NAT, which no direct pair gets through.
 */
export interface IceSettings {
  /** Handed out as they are: STUN, or TURN with static credentials. */
  readonly iceServers: readonly IceServer[];
  /**
   * TURN with credentials made per host and limited in time, in the TURN REST form coturn
   * checks with `use-auth-secret`; the secret stays on the server.
   */
  readonly turn?: { readonly urls: readonly string[]; readonly secret: string; readonly ttlSeconds: number };
  /** `relay`: every connection goes through TURN (privacy, or testing TURN). */
  readonly iceTransportPolicy: 'all' | 'relay';
}

export const NO_ICE_SERVERS: IceSettings = { iceServers: [], iceTransportPolicy: 'all' };

export const DEFAULT_TURN_TTL_SECONDS = 86_400;
/** Credentials are handed out again when this share of their lifetime has passed. */
export const TURN_REFRESH_AT = 0.8;

const MAX_ICE_SERVERS = 16;
const MAX_FIELD = 512;
const iceUrl = z
  .string()
  .max(MAX_FIELD)
  .regex(/^(stuns?|turns?):[^\s,]+$/, 'a stun:, stuns:, turn: or turns: URL');
const turnUrl = iceUrl.regex(/^turns?:/, 'a turn: or turns: URL');
const iceServerSchema = z
  .strictObject({
    urls: z.union([iceUrl, z.array(iceUrl).min(1).max(MAX_ICE_SERVERS)]),
    username: z.string().min(1).max(MAX_FIELD).optional(),
    credential: z.string().min(1).max(MAX_FIELD).optional(),
  })
  // A browser refuses a TURN server without both, and with it the whole configuration.
  .refine((server) => ![server.urls].flat().some((url) => url.startsWith('turn')) || (server.username !== undefined && server.credential !== undefined), 'a TURN server needs username and credential');

/**
 * The ICE settings in the environment: CUBECAST_ICE_SERVERS (a JSON array of RTCIceServer),
 * CUBECAST_TURN_URLS with CUBECAST_TURN_SECRET (and CUBECAST_TURN_TTL, seconds),
 * CUBECAST_ICE_POLICY (`all` or `relay`). Throws IceConfigError naming the variable at fault.
 */
export function iceSettingsFromEnv(env: Readonly<Record<string, string | undefined>>): IceSettings {
  const iceServers = parseIceServers(env.CUBECAST_ICE_SERVERS);
  const urls = env.CUBECAST_TURN_URLS?.trim() ? env.CUBECAST_TURN_URLS.split(',').map((url) => url.trim()) : undefined;
  const secret = env.CUBECAST_TURN_SECRET || undefined;
  if (urls && !secret) throw new IceConfigError('CUBECAST_TURN_URLS needs CUBECAST_TURN_SECRET (the static-auth-secret of the TURN server)');
  if (secret && !urls) throw new IceConfigError('CUBECAST_TURN_SECRET is set but CUBECAST_TURN_URLS is not: which TURN servers is it for?');
  if (env.CUBECAST_TURN_TTL !== undefined && !urls) throw new IceConfigError('CUBECAST_TURN_TTL is set but CUBECAST_TURN_URLS is not');
  let turn: IceSettings['turn'];
  if (urls && secret) {
    for (const url of urls) {
      const checked = turnUrl.safeParse(url);
      if (!checked.success) throw new IceConfigError(`CUBECAST_TURN_URLS: "${url.slice(0, 80)}" is not ${checked.error.issues[0]!.message}`);
    }
    if (urls.length > MAX_ICE_SERVERS) throw new IceConfigError(`CUBECAST_TURN_URLS lists ${urls.length} URLs, at most ${MAX_ICE_SERVERS}`);
    turn = { urls, secret, ttlSeconds: parseTtl(env.CUBECAST_TURN_TTL) };
  }
  const policy = env.CUBECAST_ICE_POLICY || 'all';
  if (policy !== 'all' && policy !== 'relay') throw new IceConfigError(`CUBECAST_ICE_POLICY must be all or relay, got "${policy.slice(0, 40)}"`);
  const hasTurn = turn !== undefined || iceServers.some((server) => [server.urls].flat().some((url) => url.startsWith('turn')));
  if (policy === 'relay' && !hasTurn) throw new IceConfigError('CUBECAST_ICE_POLICY=relay needs a TURN server (CUBECAST_TURN_URLS, or one in CUBECAST_ICE_SERVERS)');
  return { iceServers, ...(turn && { turn }), iceTransportPolicy: policy };
}

function parseIceServers(text: string | undefined): IceServer[] {
  if (!text?.trim()) return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new IceConfigError('CUBECAST_ICE_SERVERS is not JSON: give an array of RTCIceServer, e.g. [{"urls":"stun:stun.example.org:3478"}]');
  }
  const parsed = z.array(iceServerSchema).max(MAX_ICE_SERVERS).safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new IceConfigError(`CUBECAST_ICE_SERVERS${issue.path.map((part) => `[${JSON.stringify(part)}]`).join('')}: ${issue.message}`);
  }
  // Without the keys zod leaves undefined: RTCIceServer has none.
  return parsed.data.map(({ urls, username, credential }) => ({ urls, ...(username !== undefined && { username }), ...(credential !== undefined && { credential }) }));
}

function parseTtl(text: string | undefined): number {
  if (text === undefined) return DEFAULT_TURN_TTL_SECONDS;
  const ttl = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(ttl >= 60 && ttl <= 7 * 86_400)) throw new IceConfigError(`CUBECAST_TURN_TTL must be whole seconds from 60 to 604800, got "${text.slice(0, 40)}"`);
  return ttl;
}

/**
 * TURN REST credentials (draft-uberti-behave-turn-rest, as coturn's use-auth-secret checks
 * them): the username is the expiry in Unix seconds, a colon, and who they are for; the
 * password is base64(HMAC-SHA1(secret, username)). Anyone can read the expiry; only the
 * holder of the secret can make a password for it.
 */
export function turnRestCredential(secret: string, expiresAtSeconds: number, user: string): { username: string; credential: string } {
  const username = `${expiresAtSeconds}:${user}`;
  return { username, credential: createHmac('sha1', secret).update(username).digest('base64') };
}

/**
 * What a host's connections are made with, at `nowMs`: the static servers, and the TURN
 * servers with credentials for this host that expire after the TTL (`expiresAtMs`).
 * `user` names the host in the TURN server's logs and quotas: `<room>/<hostId>`, as host ids
 * repeat from room to room.
 */
export function iceConfigurationFor(settings: IceSettings, user: string, nowMs: number): IceConfiguration & { expiresAtMs?: number } {
  if (!settings.turn) return { iceServers: settings.iceServers, iceTransportPolicy: settings.iceTransportPolicy };
  const expiresAtSeconds = Math.floor(nowMs / 1000) + settings.turn.ttlSeconds;
  const turn: IceServer = { urls: settings.turn.urls, ...turnRestCredential(settings.turn.secret, expiresAtSeconds, user) };
  return { iceServers: [...settings.iceServers, turn], iceTransportPolicy: settings.iceTransportPolicy, expiresAtMs: expiresAtSeconds * 1000 };
}
