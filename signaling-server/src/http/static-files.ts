import { open, type FileHandle } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * Every response carries these: SharedArrayBuffer (the SPA rings) needs a cross-origin
 * isolated page, which needs COOP and COEP on the document and CORP on what it loads.
 */
export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
} as const;

/** How files are opened: injected so tests can make a read fail halfway. */
export type OpenFile = (path: string) => Promise<FileHandle>;

/** The observer's page (`/observer`, `/r/<room>/observer`): its own, which never joins as a host. */
const OBSERVER_PATH = /^(?:\/r\/[^/]+)?\/observer\/?$/;

/** The page a client-side route loads: the observer's, or the app's. */
export function pageFor(pathname: string): 'observer.html' | 'index.html' {
  return OBSERVER_PATH.test(pathname) ? 'observer.html' : 'index.html';
}

/**
 * Serves a built single-page app from `root`. Paths with no file and no extension get
 * their page (`pageFor`), so client-side routes such as /r/<room> load the app. A file is opened before
 * it is measured and read through that handle, so one replaced or deleted meanwhile (a
 * redeploy) is still served whole; a read that fails cuts the response, never the server.
 */
export function createStaticHandler(webRoot: string, openFile: OpenFile = (path) => open(path, 'r')) {
  // Without a trailing separator, or `root + sep` below would never match.
  const root = resolve(webRoot);
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      res.writeHead(400).end('bad path');
      return;
    }
    const file = normalize(join(root, pathname));
    if (file !== root && !file.startsWith(root + sep)) {
      res.writeHead(403).end('forbidden');
      return;
    }
    const target = (await fileAt(file, openFile)) ?? (extname(pathname) === '' ? await fileAt(join(root, pageFor(pathname)), openFile) : undefined);
    if (!target) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found');
      return;
    }
    const immutable = pathname.startsWith('/assets/');
    res.writeHead(200, {
      'Content-Type': CONTENT_TYPES[extname(target.path)] ?? 'application/octet-stream',
      'Content-Length': target.size,
      'Cache-Control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
    if (req.method === 'HEAD') {
      res.end();
      await target.handle.close();
      return;
    }
    const stream = target.handle.createReadStream();
    stream.once('error', () => res.destroy());
    res.once('close', () => stream.destroy());
    stream.pipe(res);
  };
}

async function fileAt(path: string, openFile: OpenFile): Promise<{ path: string; size: number; handle: FileHandle } | undefined> {
  let handle: FileHandle;
  try {
    handle = await openFile(path);
  } catch {
    return undefined;
  }
  try {
    const info = await handle.stat();
    if (info.isFile()) return { path, size: info.size, handle };
  } catch {
    // unreadable: as if absent
  }
  await handle.close().catch(() => undefined);
  return undefined;
}
