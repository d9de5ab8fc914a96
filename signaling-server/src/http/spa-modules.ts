import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SpaAbiError, validateSpaModule } from '@cubecast/spa/abi';
import { ioRegionPages, MAX_PAYLOAD_CHUNK_BYTES } from '@cubecast/spa/memory-layout';

/** Largest custom SPA module the server takes. */
export const MAX_SPA_MODULE_BYTES = 4 * 1024 * 1024;
/** Custom modules kept (oldest dropped first): they live as long as the server, in memory. */
export const MAX_SPA_MODULES = 64;

const json = (res: ServerResponse, status: number, body: object) => {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(body));
};

/**
 * Custom SPAs: `POST /spa` with a module's bytes checks them against the SPA ABI and keeps
 * them under their SHA-256 (the name a pipeline uses, `custom:<hash>`); `GET /spa/<hash>` is
 * where branch points fetch them. Returns false for other paths.
 */
export function createSpaModuleHandler() {
  const modules = new Map<string, Buffer>();
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const path = (req.url ?? '').split('?')[0]!;
    if (path === '/spa' && req.method === 'POST') {
      void receive(req, res, modules);
      return true;
    }
    const fetch = /^\/spa\/([0-9a-f]{64})$/.exec(path);
    if (fetch && (req.method === 'GET' || req.method === 'HEAD')) {
      const bytes = modules.get(fetch[1]!);
      if (!bytes) json(res, 404, { error: 'no SPA module with that hash (the server keeps them in memory until it restarts)' });
      else res.writeHead(200, { 'Content-Type': 'application/wasm', 'Cache-Control': 'public, max-age=31536000, immutable' }).end(bytes);
      return true;
    }
    if (path === '/spa' || path.startsWith('/spa/')) {
      json(res, 405, { error: 'POST /spa uploads a module; GET /spa/<sha-256 hex> fetches one' });
      return true;
    }
    return false;
  };
}

async function receive(req: IncomingMessage, res: ServerResponse, modules: Map<string, Buffer>): Promise<void> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > MAX_SPA_MODULE_BYTES) {
    json(res, 413, { error: `the module is larger than ${MAX_SPA_MODULE_BYTES / 1024 / 1024} MiB` });
    req.resume();
    return;
  }
  const parts: Buffer[] = [];
  let size = 0;
  try {
    for await (const part of req as AsyncIterable<Buffer>) {
      size += part.byteLength;
      if (size > MAX_SPA_MODULE_BYTES) {
        json(res, 413, { error: `the module is larger than ${MAX_SPA_MODULE_BYTES / 1024 / 1024} MiB` });
        req.destroy();
        return;
      }
      parts.push(part);
    }
  } catch {
    return; // the client went away
  }
  const bytes = Buffer.concat(parts);
  let memory;
  try {
    ({ memory } = validateSpaModule(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)));
  } catch (error) {
    if (!(error instanceof SpaAbiError)) throw error;
    json(res, 400, { error: `not a valid SPA: ${error.message}` });
    return;
  }
  // A branch point adds its I/O region above the module's initial memory (docs/protocol.md).
  const needed = memory.initialPages + ioRegionPages(MAX_PAYLOAD_CHUNK_BYTES);
  if (memory.maximumPages < needed) {
    json(res, 400, {
      error: `not a valid SPA: env.memory may grow to ${memory.maximumPages} pages, but a pipeline stage needs ${needed} (its ${memory.initialPages} initial pages and ${needed - memory.initialPages} for chunks of up to ${MAX_PAYLOAD_CHUNK_BYTES / 1024} KB)`,
    });
    return;
  }
  const hash = createHash('sha256').update(bytes).digest('hex');
  modules.delete(hash);
  modules.set(hash, bytes);
  if (modules.size > MAX_SPA_MODULES) modules.delete(modules.keys().next().value!);
  json(res, 201, { spa: `custom:${hash}`, memory });
}
