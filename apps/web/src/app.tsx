import { useEffect, useState } from 'react';
import { CubeExplorer } from './cube-explorer.js';

type Health = { state: 'checking' } | { state: 'up' } | { state: 'down'; reason: string };

/**
 * Today the app explores the cube the overlay is built on, running the overlay package in the
 * browser; joining, publishing and watching arrive with the peer runtime.
 */
export function App() {
  const [health, setHealth] = useState<Health>({ state: 'checking' });
  useEffect(() => {
    fetch('/healthz')
      .then((res) => setHealth(res.ok ? { state: 'up' } : { state: 'down', reason: `HTTP ${res.status}` }))
      .catch((error: unknown) => setHealth({ state: 'down', reason: String(error) }));
  }, []);

  return (
    <main>
      <header>
        <h1>Cubecast</h1>
        <p className="tagline">Live streams through a k-ary n-cube overlay of browser tabs.</p>
        <p className={`status status-${health.state}`} data-testid="server-status">
          {health.state === 'checking' && 'Checking the server…'}
          {health.state === 'up' && 'Server reachable.'}
          {health.state === 'down' && `Server unreachable (${health.reason}). Reload to retry.`}
        </p>
      </header>
      <CubeExplorer />
    </main>
  );
}
