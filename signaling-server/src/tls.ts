import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { createSecureContext } from 'node:tls';
import { generate } from 'selfsigned';

/** A certificate or key that cannot serve: the server does not start, and says why in one line. */
export class TlsConfigError extends Error {
  override readonly name = 'TlsConfigError';
}

export interface TlsCredentials {
  readonly cert: string;
  readonly key: string;
  /** SHA-256 of the certificate, as browsers show it: what a person compares before trusting it. */
  readonly fingerprint256: string;
  readonly validTo: string;
  /** The names and addresses it is valid for. */
  readonly subjectAltName: string;
}

/** Reads a PEM certificate and its key, and checks that they make a TLS context together. */
export function readTlsFiles(certPath: string, keyPath: string): TlsCredentials {
  const read = (path: string, what: string) => {
    try {
      return readFileSync(path, 'utf8');
    } catch (error) {
      throw new TlsConfigError(`cannot read the TLS ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
  };
  return credentials(read(certPath, 'certificate'), read(keyPath, 'key'), `${certPath} and ${keyPath}`);
}

/**
 * A self-signed certificate for a demo on a LAN, valid for `names` (DNS names and IP
 * addresses) for `days`. Browsers warn about it: a person accepts it after comparing its
 * fingerprint with the one the server printed.
 */
export async function makeSelfSignedCertificate(names: readonly string[], days = 30): Promise<TlsCredentials> {
  const notBeforeDate = new Date();
  const notAfterDate = new Date(notBeforeDate.getTime() + days * 86_400_000);
  const pems = await generate([{ name: 'commonName', value: names[0] ?? 'cubecast' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [...new Set(names)].map((name) => (isIP(name) ? { type: 7 as const, ip: name } : { type: 2 as const, value: name })) },
    ],
  });
  return credentials(pems.cert, pems.private, 'the self-signed certificate');
}

function credentials(cert: string, key: string, what: string): TlsCredentials {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
    createSecureContext({ cert, key });
  } catch (error) {
    // OpenSSL's messages are one line; say whose they are.
    throw new TlsConfigError(`${what} do not make a TLS certificate and matching key: ${(error as Error).message.split('\n')[0]}`);
  }
  return { cert, key, fingerprint256: x509.fingerprint256, validTo: x509.validTo, subjectAltName: x509.subjectAltName ?? '' };
}
