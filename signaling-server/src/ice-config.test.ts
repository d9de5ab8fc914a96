import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_TURN_TTL_SECONDS, iceConfigurationFor, IceConfigError, iceSettingsFromEnv, turnRestCredential } from './ice-config.js';
import { startTurn, TURN_CLIENT } from './services/turn-server.js';

describe('iceSettingsFromEnv', () => {
  it('is empty without settings: host candidates only', () => {
    expect(iceSettingsFromEnv({})).toEqual({ iceServers: [], iceTransportPolicy: 'all' });
  });

  it('reads STUN and static TURN servers, TURN URLs with a secret, a TTL and the relay policy', () => {
    const settings = iceSettingsFromEnv({
      CUBECAST_ICE_SERVERS: '[{"urls":"stun:stun.example.org:3478"},{"urls":["turn:a.example:3478","turns:a.example:5349"],"username":"u","credential":"p"}]',
      CUBECAST_TURN_URLS: 'turn:turn.example:3478?transport=udp, turns:turn.example:5349',
      CUBECAST_TURN_SECRET: 's3cret',
      CUBECAST_TURN_TTL: '3600',
      CUBECAST_ICE_POLICY: 'relay',
    });
    expect(settings).toEqual({
      iceServers: [{ urls: 'stun:stun.example.org:3478' }, { urls: ['turn:a.example:3478', 'turns:a.example:5349'], username: 'u', credential: 'p' }],
      turn: { urls: ['turn:turn.example:3478?transport=udp', 'turns:turn.example:5349'], secret: 's3cret', ttlSeconds: 3600 },
      iceTransportPolicy: 'relay',
    });
    expect(iceSettingsFromEnv({ CUBECAST_TURN_URLS: 'turn:t:3478', CUBECAST_TURN_SECRET: 's' }).turn!.ttlSeconds).toBe(DEFAULT_TURN_TTL_SECONDS);
  });

  it.each([
    [{ CUBECAST_ICE_SERVERS: 'stun:x' }, 'CUBECAST_ICE_SERVERS is not JSON'],
    [{ CUBECAST_ICE_SERVERS: '{"urls":"stun:x"}' }, 'CUBECAST_ICE_SERVERS'],
    [{ CUBECAST_ICE_SERVERS: '[{"urls":"http://x"}]' }, 'CUBECAST_ICE_SERVERS[0]["urls"]'],
    [{ CUBECAST_ICE_SERVERS: '[{"urls":"turn:x:3478"}]' }, 'a TURN server needs username and credential'],
    [{ CUBECAST_ICE_SERVERS: '[{"urls":"stun:x","extra":1}]' }, 'CUBECAST_ICE_SERVERS[0]'],
    [{ CUBECAST_TURN_URLS: 'turn:x:3478' }, 'CUBECAST_TURN_URLS needs CUBECAST_TURN_SECRET'],
    [{ CUBECAST_TURN_SECRET: 's' }, 'CUBECAST_TURN_URLS is not'],
    [{ CUBECAST_TURN_URLS: 'stun:x:3478', CUBECAST_TURN_SECRET: 's' }, '"stun:x:3478" is not a turn: or turns: URL'],
    [{ CUBECAST_TURN_URLS: 'turn:x', CUBECAST_TURN_SECRET: 's', CUBECAST_TURN_TTL: '59' }, 'CUBECAST_TURN_TTL must be whole seconds from 60 to 604800'],
    [{ CUBECAST_TURN_URLS: 'turn:x', CUBECAST_TURN_SECRET: 's', CUBECAST_TURN_TTL: '1e4' }, 'CUBECAST_TURN_TTL'],
    [{ CUBECAST_TURN_TTL: '600' }, 'CUBECAST_TURN_TTL is set but CUBECAST_TURN_URLS is not'],
    [{ CUBECAST_ICE_POLICY: 'none' }, 'CUBECAST_ICE_POLICY must be all or relay'],
    [{ CUBECAST_ICE_POLICY: 'relay', CUBECAST_ICE_SERVERS: '[{"urls":"stun:x"}]' }, 'CUBECAST_ICE_POLICY=relay needs a TURN server'],
  ])('refuses %j in one line that says what is wrong', (env, message) => {
    let error: unknown;
    try {
      iceSettingsFromEnv(env);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(IceConfigError);
    expect((error as Error).message).toContain(message);
    expect((error as Error).message).not.toContain('\n');
  });
});

describe('TURN REST credentials', () => {
  it('match the golden vector (as coturn computes them for use-auth-secret)', () => {
    // printf '%s' '1767225600:default/h7' | openssl dgst -sha1 -hmac 'north-pole' -binary | base64
    expect(turnRestCredential('north-pole', 1767225600, 'default/h7')).toEqual({ username: '1767225600:default/h7', credential: 'qxmWYNBFlLzkrFWGGTGbcNfGx6k=' });
  });

  it('are an HMAC-SHA1 of the username that only the secret makes', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), fc.nat(), fc.string({ minLength: 1, maxLength: 64 }), (secret, other, expiry, user) => {
        const { username, credential } = turnRestCredential(secret, expiry, user);
        expect(username).toBe(`${expiry}:${user}`);
        expect(credential).toBe(createHmac('sha1', secret).update(username).digest('base64'));
        if (other !== secret) expect(turnRestCredential(other, expiry, user).credential).not.toBe(credential);
      }),
    );
  });

  it('are handed out per host after the static servers, expiring after the TTL; never the secret', () => {
    const settings = iceSettingsFromEnv({ CUBECAST_ICE_SERVERS: '[{"urls":"stun:s:3478"}]', CUBECAST_TURN_URLS: 'turn:t:3478', CUBECAST_TURN_SECRET: 'north-pole', CUBECAST_TURN_TTL: '600' });
    const now = 1767225000_500;
    const configuration = iceConfigurationFor(settings, 'default/h7', now);
    expect(configuration).toEqual({
      iceServers: [{ urls: 'stun:s:3478' }, { urls: ['turn:t:3478'], ...turnRestCredential('north-pole', 1767225600, 'default/h7') }],
      iceTransportPolicy: 'all',
      expiresAtMs: 1767225600_000,
    });
    expect(JSON.stringify(configuration)).not.toContain('north-pole');
    expect(iceConfigurationFor(iceSettingsFromEnv({}), 'default/h7', now)).toEqual({ iceServers: [], iceTransportPolicy: 'all' });
  });
});

describe('TURN REST credentials against a real coturn (use-auth-secret)', () => {
  /** Two clients relay 5 messages to each other through their allocations. */
  const relay = (port: number, username: string, credential: string) =>
    new Promise<{ code: number | null; output: string }>((resolve) => {
      const client = spawn(TURN_CLIENT, ['-y', '-n', '5', '-m', '1', '-l', '100', '-u', username, '-w', credential, '-p', String(port), '127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      client.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      client.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const timer = setTimeout(() => client.kill('SIGKILL'), 15_000);
      client.once('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, output });
      });
    });

  it('relays with the credentials a host is handed, and refuses a wrong secret or an expired username', async () => {
    const turn = await startTurn('north-pole');
    try {
      const settings = iceSettingsFromEnv({ CUBECAST_TURN_URLS: `turn:127.0.0.1:${turn.port}`, CUBECAST_TURN_SECRET: 'north-pole', CUBECAST_TURN_TTL: '600' });
      const { iceServers } = iceConfigurationFor(settings, 'default/h7', Date.now());
      const { username, credential } = iceServers[0]!;
      const relayed = await relay(turn.port, username!, credential!);
      expect(relayed.output).toContain('tot_recv_bytes ~ 2000');
      expect(relayed.output).not.toContain('ERROR');
      const forged = turnRestCredential('south-pole', Math.floor(Date.now() / 1000) + 600, 'default/h7');
      expect((await relay(turn.port, forged.username, forged.credential)).output).toContain('Cannot complete Allocation');
      const expired = turnRestCredential('north-pole', Math.floor(Date.now() / 1000) - 1, 'default/h7');
      expect((await relay(turn.port, expired.username, expired.credential)).output).toContain('Cannot complete Allocation');
    } finally {
      await turn.stop();
    }
  }, 60_000);
});
