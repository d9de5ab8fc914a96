import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SpaAbiError, validateSpaModule } from '@cubecast/spa/abi';
import { ioRegionPages, MAX_PAYLOAD_CHUNK_BYTES } from '@cubecast/spa/memory-layout';
import type { Logger } from '../log.js';

export interface SpaModuleLimits {
  /** Largest module taken. */
  readonly maxModuleBytes: number;
  /** Modules kept at once, and their bytes together (they live in memory). */
  readonly maxModules: number;
  readonly maxTotalBytes: number;
  /** Modules one host's uploads may keep in the store at once. */
  readonly maxModulesPerHost: number;
  /** Uploads under way at once, over all hosts; a host has one at a time. */
  readonly maxConcurrentUploads: number;
  /** An upload whose body has not arrived whole by then is dropped (slow senders hold memory). */
  readonly uploadTimeoutMs: number;
}

export const DEFAULT_SPA_MODULE_LIMITS: SpaModuleLimits = {
  maxModuleBytes: 4 * 1024 * 1024,
  maxModules: 64,
  maxTotalBytes: 128 * 1024 * 1024,
  maxModulesPerHost: 8,
  maxConcurrentUploads: 4,
  uploadTimeoutMs: 30_000,
};

/** What the module store asks of the overlay: who is joined, and which modules are in use. */
export interface SpaModuleOwners {
  hostOfSession(token: string): string | undefined;
  spaInUse(spa: string): boolean;
}

interface StoredModule {
  readonly bytes: Buffer;
  readonly uploader: string;
}

const json = (res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
};

/** A refusal with its HTTP status; anything else that goes wrong is a 500. */
class UploadRefused extends Error {
  override readonly name = 'UploadRefused';
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const mib = (bytes: number) => `${bytes / 1024 / 1024} MiB`;

/**
 * Custom SPAs: `POST /spa` from a joined host (its session token as a bearer token) checks a
 * module against the SPA ABI and keeps it under its SHA-256 (the name a pipeline uses,
 * `custom:<hash>`); `GET /spa/<hash>` is where branch points fetch them. The store is bounded
 * per host and in all; a full store evicts the oldest module no live subscription uses, and
 * never one in use. Returns false for other paths.
 */
export function createSpaModuleHandler(owners: SpaModuleOwners, logger: Logger, limits: SpaModuleLimits = DEFAULT_SPA_MODULE_LIMITS) {
  const modules = new Map<string, StoredModule>();
  const uploading = new Set<string>();
  let storedBytes = 0;

  const remove = (hash: string) => {
    storedBytes -= modules.get(hash)?.bytes.byteLength ?? 0;
    modules.delete(hash);
  };

  const keep = (hash: string, bytes: Buffer, uploader: string) => {
    const existing = modules.get(hash);
    if (existing) {
      // Uploaded again: fresh for eviction, still charged to whoever uploaded it first.
      modules.delete(hash);
      modules.set(hash, existing);
      return;
    }
    const mine = [...modules.values()].filter((m) => m.uploader === uploader).length;
    if (mine >= limits.maxModulesPerHost) {
      throw new UploadRefused(429, `this host keeps ${mine} SPA modules on the server already, the most a host may`);
    }
    const fits = () => modules.size < limits.maxModules && storedBytes + bytes.byteLength <= limits.maxTotalBytes;
    // Oldest first; a Map iterates in insertion order and tolerates deletes while it does.
    for (const old of modules.keys()) {
      if (fits()) break;
      if (!owners.spaInUse(`custom:${old}`)) remove(old);
    }
    if (!fits()) {
      throw new UploadRefused(507, 'the server holds as many SPA modules as it may, and live subscriptions use them all: try again later');
    }
    modules.set(hash, { bytes, uploader });
    storedBytes += bytes.byteLength;
  };

  const receive = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    const hostId = token === undefined ? undefined : owners.hostOfSession(token);
    if (!hostId) {
      throw new UploadRefused(401, 'uploads come from a joined host: send its session token from host:join as "Authorization: Bearer <token>"');
    }
    if (uploading.has(hostId)) throw new UploadRefused(429, 'this host is uploading a module already: one at a time');
    if (uploading.size >= limits.maxConcurrentUploads) {
      throw new UploadRefused(503, 'the server is busy with other uploads: try again in a moment', { 'Retry-After': '1' });
    }
    if (Number(req.headers['content-length'] ?? 0) > limits.maxModuleBytes) {
      throw new UploadRefused(413, `the module is larger than ${mib(limits.maxModuleBytes)}`);
    }
    uploading.add(hostId);
    try {
      const bytes = await readBody(req, limits);
      let memory;
      try {
        ({ memory } = validateSpaModule(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)));
      } catch (error) {
        if (error instanceof SpaAbiError) throw new UploadRefused(400, `not a valid SPA: ${error.message}`);
        throw error;
      }
      // A branch point adds its I/O region above the module's initial memory (docs/protocol.md).
      const needed = memory.initialPages + ioRegionPages(MAX_PAYLOAD_CHUNK_BYTES);
      if (memory.maximumPages < needed) {
        throw new UploadRefused(
          400,
          `not a valid SPA: env.memory may grow to ${memory.maximumPages} pages, but a pipeline stage needs ${needed} (its ${memory.initialPages} initial pages and ${needed - memory.initialPages} for chunks of up to ${MAX_PAYLOAD_CHUNK_BYTES / 1024} KB)`,
        );
      }
      const hash = createHash('sha256').update(bytes).digest('hex');
      keep(hash, bytes, hostId);
      json(res, 201, { spa: `custom:${hash}`, memory });
    } finally {
      uploading.delete(hostId);
    }
  };

  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const path = (req.url ?? '').split('?')[0]!;
    if (path === '/spa' && req.method === 'POST') {
      receive(req, res).catch((error: unknown) => {
        if (!(error instanceof UploadRefused)) logger.log('error', 'spa:upload-failed', { error: error instanceof Error ? error.stack : String(error) });
        if (res.headersSent) return;
        const refused = error instanceof UploadRefused ? error : new UploadRefused(500, 'the server failed to take the module; nothing was kept');
        // The rest of a refused body is not worth reading: the connection ends once the answer is out.
        const unread = req.complete ? {} : { Connection: 'close' };
        json(res, refused.status, { error: refused.message }, { ...refused.headers, ...unread });
        if (!req.complete) res.once('finish', () => req.destroy());
      });
      return true;
    }
    const fetch = /^\/spa\/([0-9a-f]{64})$/.exec(path);
    if (fetch && (req.method === 'GET' || req.method === 'HEAD')) {
      const module = modules.get(fetch[1]!);
      if (!module) json(res, 404, { error: 'no SPA module with that hash (the server keeps them in memory until it restarts)' });
      else {
        res.writeHead(200, { 'Content-Type': 'application/wasm', 'Content-Length': module.bytes.byteLength, 'Cache-Control': 'public, max-age=31536000, immutable' });
        res.end(req.method === 'HEAD' ? undefined : module.bytes);
      }
      return true;
    }
    if (path === '/spa' || path.startsWith('/spa/')) {
      json(res, 405, { error: 'POST /spa uploads a module; GET /spa/<sha-256 hex> fetches one' });
      return true;
    }
    return false;
  };
}

/** The request body, refused past the size limit or the time limit. */
function readBody(req: IncomingMessage, limits: SpaModuleLimits): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => fail(new UploadRefused(408, `the module did not arrive within ${limits.uploadTimeoutMs / 1000} s`)), limits.uploadTimeoutMs);
    const fail = (error: Error) => {
      clearTimeout(timer);
      req.off('data', onData);
      reject(error);
    };
    const onData = (part: Buffer) => {
      size += part.byteLength;
      if (size > limits.maxModuleBytes) fail(new UploadRefused(413, `the module is larger than ${mib(limits.maxModuleBytes)}`));
      else parts.push(part);
    };
    req.on('data', onData);
    req.once('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(parts));
    });
    req.once('error', fail);
    req.once('close', () => {
      if (!req.complete) fail(new UploadRefused(400, 'the upload was cut off'));
    });
  });
}
