import { useMemo } from 'react';
import { browserFeatures, missingCapabilities } from './capabilities.js';
import { ChannelList } from './channel-list.js';
import { CodingPanel } from './coding-panel.js';
import { CubeExplorer } from './cube-explorer.js';
import { emulationFromSearch } from './emulation-params.js';
import { HostPanel } from './host-panel.js';
import { Player } from './player.js';
import { PublishPanel } from './publish-panel.js';
import { SensorView } from './sensor-view.js';
import { roomFromPath } from './room-path.js';
import { usePeer } from './use-peer.js';

export function App() {
  const params = useMemo(() => emulationFromSearch(window.location.search), []);
  const place = useMemo(() => roomFromPath(window.location.pathname), []);
  const capabilities = useMemo(() => missingCapabilities(browserFeatures()), []);
  const { peer, snapshot, errors, dismiss } = usePeer({
    ...(place.room !== undefined && { room: place.room }),
    ...(params.emulation !== undefined && { emulation: params.emulation }),
    ...(params.name !== undefined && { name: params.name }),
    ...(params.debug && { debug: true }),
  });
  const connection = snapshot?.connection ?? 'connecting';

  return (
    <main>
      <header>
        <h1>Cubecast</h1>
        <p className="tagline">Live streams through a k-ary n-cube overlay of browser tabs.</p>
        <p className={`status status-${connection === 'connected' ? 'up' : connection === 'connecting' ? 'checking' : 'down'}`} data-testid="server-status">
          {connection === 'connecting' && 'Joining the overlay…'}
          {connection === 'connected' && `Joined as ${snapshot?.hostId ?? '…'}${place.room === undefined ? '' : ` in room “${place.room}”`}.`}
          {connection === 'disconnected' && 'The server is unreachable. Retrying…'}
        </p>
        {params.emulation && (
          <p className="muted small">
            Emulating{params.emulation.position && ` position (${params.emulation.position.join(', ')})`}
            {params.emulation.upKbps !== undefined && `, up ${params.emulation.upKbps} kbit/s`}
            {params.emulation.downKbps !== undefined && `, down ${params.emulation.downKbps} kbit/s`}
            {params.emulation.totalKbps !== undefined && `, total ${params.emulation.totalKbps} kbit/s`}.
          </p>
        )}
      </header>
      {[...capabilities.blocking, ...(place.error ? [`${place.error}. This tab joined the default room instead.`] : []), ...params.errors.map((e) => `Ignored a URL parameter: ${e}.`)].map((message) => (
        <p key={message} className="error" role="alert">
          {message}
        </p>
      ))}
      {errors.map((message, i) => (
        <p key={`${i}:${message}`} className="warning" role="status">
          {message}
          <button type="button" className="link" onClick={() => dismiss(i)} aria-label="Dismiss">
            ×
          </button>
        </p>
      ))}
      {peer && snapshot && (
        <>
          <div className="columns">
            <HostPanel snapshot={snapshot} />
            <PublishPanel
              peer={peer}
              blocked={capabilities.publishing}
              waiting={connection === 'connected' ? null : 'Publishing waits until this tab has joined the overlay.'}
            />
          </div>
          <ChannelList peer={peer} snapshot={snapshot} />
          <CodingPanel peer={peer} snapshot={snapshot} />
          {snapshot.subscriptions.length > 0 && (
            <section aria-labelledby="watch-title">
              <h2 id="watch-title">Watching</h2>
              <div className="players">
                {snapshot.subscriptions.map((s) => {
                  const kind = snapshot.channels.find((c) => c.name === s.channel)?.kind;
                  if (kind === 'coded') return null; // coded chunks are for recovering a source, not for watching
                  const View = kind === 'sensor' ? SensorView : Player;
                  return <View key={s.channel} peer={peer} subscription={s} onClose={() => void peer.subscription(s.channel)?.close()} />;
                })}
              </div>
            </section>
          )}
        </>
      )}
      <details className="explorer">
        <summary>Cube explorer</summary>
        <CubeExplorer />
      </details>
    </main>
  );
}
