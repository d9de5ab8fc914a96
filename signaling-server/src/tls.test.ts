import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:http2';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from './log.js';
import { startServer } from './server.js';
import { VirtualHost } from './testing/virtual-host.js';
import { makeSelfSignedCertificate, readTlsFiles, TlsConfigError } from './tls.js';

const dir = mkdtempSync(join(tmpdir(), 'cubecast-tls-'));
const file = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};

describe('TLS', () => {
  it('makes a self-signed certificate for the names and addresses given, and serves the app and socket.io over HTTPS (HTTP/1.1 and HTTP/2) with it', async () => {
    const tls = await makeSelfSignedCertificate(['localhost', '127.0.0.1']);
    expect(tls.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1');
    expect(tls.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    const server = await startServer({ port: 0, host: '127.0.0.1', logger: silentLogger, tls });
    try {
      expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const response = await new Promise<{ status: number; coop: string | undefined }>((resolve, reject) => {
        get(`${server.url}/healthz`, { ca: tls.cert }, (res) => {
          res.resume();
          resolve({ status: res.statusCode!, coop: res.headers['cross-origin-opener-policy'] as string | undefined });
        }).on('error', reject);
      });
      expect(response).toEqual({ status: 200, coop: 'same-origin' });
      // The same over HTTP/2, which a client that offers it gets (ALPN).
      const session = connect(server.url, { ca: tls.cert });
      const h2 = await new Promise<{ status: unknown; coop: unknown; alpn: unknown }>((resolve, reject) => {
        session.on('error', reject);
        const request = session.request({ ':path': '/healthz' });
        request.on('response', (headers) => resolve({ status: headers[':status'], coop: headers['cross-origin-opener-policy'], alpn: session.alpnProtocol }));
        request.on('error', reject);
        request.resume();
      });
      // The session stays open: the server's close() must end it.
      session.on('close', () => undefined);
      expect(h2).toEqual({ status: 200, coop: 'same-origin', alpn: 'h2' });
      const host = await new VirtualHost(server.url, { ca: tls.cert }).join();
      expect(host.hostId).toBe('h1');
      host.close();
      // A client that does not trust the certificate is refused in the handshake, and the server goes on.
      const untrusted = new VirtualHost(server.url);
      const error = await new Promise<Error>((resolve) => untrusted.socket.once('connect_error', resolve));
      expect(String((error as { description?: { message?: string } }).description?.message)).toMatch(/self-signed certificate/);
      untrusted.close();
    } finally {
      await server.close();
    }
  });

  it('reads a certificate and key from files, and refuses files that cannot serve in one line', async () => {
    const a = await makeSelfSignedCertificate(['localhost']);
    const b = await makeSelfSignedCertificate(['localhost']);
    expect(readTlsFiles(file('a.crt', a.cert), file('a.key', a.key)).fingerprint256).toBe(a.fingerprint256);
    const cases: [string, string, RegExp][] = [
      [join(dir, 'missing.crt'), file('a2.key', a.key), /^cannot read the TLS certificate .*missing\.crt: ENOENT$/],
      [file('a3.crt', a.cert), join(dir, 'missing.key'), /^cannot read the TLS key .*missing\.key: ENOENT$/],
      [file('a4.crt', a.cert), file('b.key', b.key), /do not make a TLS certificate and matching key: .*key values mismatch/],
      [file('junk.crt', 'not a certificate'), file('a5.key', a.key), /do not make a TLS certificate and matching key/],
    ];
    for (const [cert, key, message] of cases) {
      let error: unknown;
      try {
        readTlsFiles(cert, key);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(TlsConfigError);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).not.toContain('\n');
    }
  });
});
