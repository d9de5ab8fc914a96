import { defaultClientConditions, defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// Tests run against the TypeScript sources of every workspace (the `@cubecast/source` export
// condition), so they need no build; the CLI's spawn tests are the exception and use dist.
export default defineConfig({
  resolve: { conditions: ['@cubecast/source', ...defaultClientConditions] },
  ssr: { resolve: { conditions: ['@cubecast/source', ...defaultServerConditions] } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'signaling-server/src/**/*.test.ts', 'apps/web/src/**/*.test.{ts,tsx}'],
    testTimeout: 30_000,
    reporters: ['default', './scripts/summary-reporter.ts'],
  },
});
