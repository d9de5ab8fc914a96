import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The built web app the kit's servers serve (apps/web/dist); throws when it was never built. */
export function webRoot(): string {
  const root = join(dirname(createRequire(import.meta.url).resolve('@cubecast/web/package.json')), 'dist');
  if (!existsSync(join(root, 'index.html'))) throw new Error(`the web app is not built (no ${join(root, 'index.html')}): run npm run build`);
  return root;
}
