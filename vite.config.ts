import { fileURLToPath } from 'node:url';
import { defaultClientConditions, defineConfig } from 'vite';

/**
 * SharedArrayBuffer (the SPA rings) needs a cross-origin isolated page: COOP and COEP on the
 * dev and preview servers, as the signaling server sends in production.
 */
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export default defineConfig({
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
      // The app, and the pages the browser benchmarks drive.
      input: {
        main: fileURLToPath(new URL('apps/web/index.html', import.meta.url)),
        bench: fileURLToPath(new URL('apps/web/bench.html', import.meta.url)),
        'spa-bench': fileURLToPath(new URL('apps/web/spa-bench.html', import.meta.url)),
      },
    },
  },
  server: { host: '127.0.0.1', headers: isolation },
  preview: { host: '127.0.0.1', headers: isolation },
});
