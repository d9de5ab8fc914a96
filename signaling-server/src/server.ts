import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createStaticHandler, ISOLATION_HEADERS } from './http/static-files.js';
import type { Logger } from './log.js';

export interface ServerOptions {
  /** 0 picks a free port (tests). */
  readonly port: number;
  readonly host: string;
  /** Folder of the built web app. */
  readonly webRoot: string;
  readonly logger: Logger;
}

export interface RunningServer {
  readonly url: string;
  readonly http: Server;
  close(): Promise<void>;
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const serveStatic = createStaticHandler(options.webRoot);
  const startedAt = Date.now();
  const http = createServer((req, res) => {
    for (const [name, value] of Object.entries(ISOLATION_HEADERS)) res.setHeader(name, value);
    if (req.url === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ ok: true, uptimeSeconds: Math.round((Date.now() - startedAt) / 1000) }));
      return;
    }
    serveStatic(req, res).catch((error: unknown) => {
      options.logger.log('error', 'http:error', { url: req.url, error: String(error) });
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port, options.host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const { port } = http.address() as AddressInfo;
  const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
  options.logger.log('info', 'server:listening', { url, webRoot: options.webRoot });
  return {
    url,
    http,
    close: () =>
      new Promise<void>((resolve, reject) => {
        http.closeAllConnections();
        http.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
