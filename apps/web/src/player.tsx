import { VideoPlayer, type CubecastPeer, type PeerSnapshot, type PlayerStats } from '@cubecast/peer';
import { useEffect, useRef, useState } from 'react';
import { pipelineLabel, readableSpaText } from './pipelines.js';

type SubscriptionView = PeerSnapshot['subscriptions'][number];

/** One subscription: a canvas and its live stats against the latency bound. */
export function Player({ peer, subscription, onClose }: { peer: CubecastPeer; subscription: SubscriptionView; onClose: () => void }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [stats, setStats] = useState<PlayerStats | null>(null);
  const { channel } = subscription;
  const source = peer.subscription(channel);
  useEffect(() => {
    if (!source || source.closed) return;
    const player = new VideoPlayer(canvas.current!, source);
    player.on('stats:updated', setStats);
    return () => player.close();
  }, [source]);

  const met = stats ? stats.latencyMs <= subscription.maxLatencyMs : null;
  const pipeline = pipelineLabel(subscription.pipeline);
  return (
    <figure className="player" data-testid="player" data-channel={channel} data-pipeline={subscription.pipeline.join(',')}>
      <canvas ref={canvas} width={320} height={240} />
      {subscription.spaError ? (
        <div className="overlay error-overlay" role="alert">
          {readableSpaText(subscription.spaError)}. Nothing more arrives on this subscription.
        </div>
      ) : (
        !stats && <div className="overlay">Waiting for the first key frame…</div>
      )}
      <figcaption>
        <strong>{channel}</strong>
        {pipeline && <span className="muted">via {pipeline}</span>}
        <span>{stats ? `${stats.fps.toFixed(1)} fps` : '– fps'}</span>
        <span>{stats ? `${stats.latencyMs.toFixed(1)} ms` : '– ms'} (bound {subscription.maxLatencyMs} ms)</span>
        <span>{stats ? `${stats.hops} hop${stats.hops === 1 ? '' : 's'}` : '– hops'}</span>
        {met !== null && <span className={met ? 'state state-open' : 'state state-failed'}>{met ? 'bound met' : 'bound missed'}</span>}
        <button type="button" className="secondary small" onClick={onClose}>
          Unsubscribe
        </button>
      </figcaption>
    </figure>
  );
}
