import type { CubecastPeer, PeerSnapshot } from '@cubecast/peer';
import { decodeSensorPayload, MalformedMessageError, type SensorReading } from '@cubecast/protocol';
import { useEffect, useState } from 'react';
import { pipelineLabel, readableSpaText } from './pipelines.js';

type SubscriptionView = PeerSnapshot['subscriptions'][number];

const KEPT = 200;
const WIDTH = 320;
const HEIGHT = 120;

/** A sensor subscription: the last readings as a line, the latest value, latency and hops. */
export function SensorView({ peer, subscription, onClose }: { peer: CubecastPeer; subscription: SubscriptionView; onClose: () => void }) {
  const [readings, setReadings] = useState<SensorReading[]>([]);
  const [last, setLast] = useState<{ latencyMs: number; hops: number } | null>(null);
  const { channel } = subscription;
  const source = peer.subscription(channel);
  useEffect(
    () =>
      source?.on('chunk:received', (chunk) => {
        let fresh: SensorReading[];
        try {
          fresh = decodeSensorPayload(chunk.payload);
        } catch (error) {
          if (error instanceof MalformedMessageError) return;
          throw error;
        }
        const latencyMs = chunk.latencyUs / 1000;
        source.noteDecoded({ trueLatencyMs: Date.now() - fresh.at(-1)!.timeMs });
        setLast({ latencyMs, hops: chunk.hops });
        setReadings((r) => [...r, ...fresh].slice(-KEPT));
      }),
    [source],
  );

  const values = readings.map((r) => r.value);
  const low = Math.min(0, ...values);
  const high = Math.max(100, ...values);
  const points = values.map((v, i) => `${((i / (KEPT - 1)) * WIDTH).toFixed(1)},${(HEIGHT - ((v - low) / (high - low)) * HEIGHT).toFixed(1)}`).join(' ');
  const pipeline = pipelineLabel(subscription.pipeline);
  return (
    <figure
      className="player sensor"
      data-testid="sensor-view"
      data-channel={channel}
      // Tests compare what different tabs received, reading by reading.
      data-history={JSON.stringify(readings.map((r) => [r.timeMs, r.value]))}
    >
      <svg width={WIDTH} height={HEIGHT} viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={`Last ${readings.length} readings of ${channel}`}>
        <rect width={WIDTH} height={HEIGHT} className="plot" />
        {values.length > 1 && <polyline points={points} className="trace" />}
      </svg>
      {subscription.spaError ? (
        <div className="overlay error-overlay" role="alert">
          {readableSpaText(subscription.spaError)}. Nothing more arrives on this subscription.
        </div>
      ) : (
        readings.length === 0 && <div className="overlay">Waiting for readings…</div>
      )}
      <figcaption>
        <strong>{channel}</strong>
        {pipeline && <span className="muted">via {pipeline}</span>}
        <span>{values.length > 0 ? `latest ${values.at(-1)!.toFixed(1)}` : '–'}</span>
        <span>{last ? `${last.latencyMs.toFixed(1)} ms` : '– ms'} (bound {subscription.maxLatencyMs} ms)</span>
        <span>{last ? `${last.hops} hop${last.hops === 1 ? '' : 's'}` : '– hops'}</span>
        <button type="button" className="secondary small" onClick={onClose}>
          Unsubscribe
        </button>
      </figcaption>
    </figure>
  );
}
