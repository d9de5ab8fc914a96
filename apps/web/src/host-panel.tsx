import type { LinkRoute, PeerSnapshot } from '@cubecast/peer';
import { pipelineLabel, readableSpaText } from './pipelines.js';

/** This tab as a host: its id, the cube, its ids and its links. */
export function HostPanel({ snapshot }: { snapshot: PeerSnapshot }) {
  const { hostId, cube, ids, links } = snapshot;
  return (
    <section aria-labelledby="host-title">
      <h2 id="host-title">This tab</h2>
      <dl className="facts">
        <dt>Host</dt>
        <dd data-testid="host-id">{hostId ?? '…'}</dd>
        <dt>Cube</dt>
        <dd data-testid="cube">{cube ? `${cube.k}-ary ${cube.n}-cube, epoch ${cube.epoch}` : '…'}</dd>
        <dt>Own ids</dt>
        <dd>{ids.length > 0 ? ids.map((id) => <code key={id} className="id">{id}</code>) : '…'}</dd>
      </dl>
      <h3>Links</h3>
      <table className="links" data-testid="links">
        <thead>
          <tr>
            <th>Neighbour</th>
            <th>State</th>
            <th title="The selected ICE candidate pair: host (direct), srflx/prflx (through a NAT), relay (through TURN)">Route</th>
            <th>RTT, loss</th>
          </tr>
        </thead>
        <tbody>
          {links.length === 0 && (
            <tr>
              <td colSpan={4} className="muted">
                {hostId
                  ? 'No neighbours yet: this tab owns the whole cube. Open another tab.'
                  : snapshot.connection === 'disconnected'
                    ? 'Reconnecting to the server…'
                    : 'Joining…'}
              </td>
            </tr>
          )}
          {links.map((link) => (
            <tr key={link.hostId} data-host={link.hostId} data-state={link.state}>
              <td>{link.hostId}</td>
              <td>
                <span className={`state state-${link.state}`}>{link.state}</span>
                {link.state === 'stalled' && <div className="small muted">Silent: streams go around it while its connection restarts ICE.</div>}
                {link.problem && link.state !== 'open' && (
                  <div className="small error-text" data-testid="link-problem">
                    Not linked: {link.problem}.
                  </div>
                )}
              </td>
              <td data-route={link.route ?? ''}>
                {routeText(link.routeDetail)}
                {link.iceRestarts > 0 && <div className="small muted">ICE restarted {link.iceRestarts === 1 ? 'once' : `${link.iceRestarts} times`}</div>}
              </td>
              <td>
                {link.rttMs === null ? '–' : `${link.rttMs.toFixed(1)} ms`}
                {/* Measured by the peer; FEC already sizes its repairs to it. */}
                {link.lossRate >= 0.01 && <div className="small muted" data-testid="link-loss">{Math.round(link.lossRate * 100)}% of what this tab sends is lost</div>}
                {link.stripes > 1 && (
                  <div className="small muted" data-testid="link-stripes" title="A lossy link's stream goes over several peer connections, so one stalling holds back only its share">
                    Widened for loss: {link.stripes} connections
                  </div>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {snapshot.spas.length > 0 && (
        <>
          <h3>Stream processing here</h3>
          <p className="muted small">This tab runs these on streams passing through it: where a subscriber's branch leaves the stream, as a service host, or to merge a stream split over two paths.</p>
          <ul className="spas" data-testid="spas">
            {snapshot.spas.map((spa) => (
              <li key={`${spa.channel}:${spa.variant}`} data-state={spa.state}>
                <strong>{pipelineLabel(spa.pipeline)}</strong> on {spa.channel}:{' '}
                {spa.state === 'dead' ? (
                  <span className="state state-failed">stopped: {readableSpaText(spa.error ?? '')}</span>
                ) : spa.state === 'starting' ? (
                  <span className="muted">starting…</span>
                ) : (
                  spa.stages.map((stage) => `${stage.chunksIn} chunks, ${stage.meanMicros.toFixed(0)} µs each`).join('; ')
                )}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

/** A link's selected candidate pair in a few words: "srflx ↔ host, udp", "relay (tls) ↔ host, udp". */
function routeText(route: LinkRoute | null): string {
  if (!route) return '–';
  const end = (type: string, relayProtocol?: string) => (relayProtocol ? `${type} (${relayProtocol})` : type);
  const ends = route.local === route.remote && !route.relayProtocol ? route.local : `${end(route.local, route.relayProtocol)} ↔ ${route.remote}`;
  return `${ends}, ${route.protocol}`;
}
