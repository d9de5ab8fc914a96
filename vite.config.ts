import { fileURLToPath } from 'node:url';
import { defaultClientConditions, defineConfig, type Plugin } from 'vite';
import { pageFor } from './signaling-server/src/http/static-files.js';

/**
 * SharedArrayBuffer (the SPA rings) needs a cross-origin isolated page: COOP and COEP on the
 * dev and preview servers, as the signaling server sends in production.
 */
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** The dev server loads the page the production server would for a client route (/observer, /r/<room>/observer). */
const clientRoutes: Plugin = {
  name: 'cubecast-client-routes',
  configureServer(server) {
    server.middlewares.use((req, _res, next) => {
      const path = (req.url ?? '/').split('?')[0]!;
      if (pageFor(path) === 'observer.html') req.url = '/observer.html';
      next();
    });
  },
};

export default defineConfig({
  plugins: [clientRoutes],
  root: 'apps/web',
  // Bundle workspace packages from their TypeScript sources.
  resolve: { conditions: ['@cubecast/source', ...defaultClientConditions] },
  // simple-peer's stream code reads Node's `global`.
  define: { global: 'globalThis' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
    rollupOptions: {
      // The app, the observer's page, and the pages the browser benchmarks drive.
      input: {
        main: fileURLToPath(new URL('apps/web/index.html', import.meta.url)),
        observer: fileURLToPath(new URL('apps/web/observer.html', import.meta.url)),
        bench: fileURLToPath(new URL('apps/web/bench.html', import.meta.url)),
        'spa-bench': fileURLToPath(new URL('apps/web/spa-bench.html', import.meta.url)),
      },
    },
  },
  server: { host: '127.0.0.1', headers: isolation },
  preview: { host: '127.0.0.1', headers: isolation },
});
