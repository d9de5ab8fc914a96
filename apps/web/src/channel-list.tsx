import type { CubecastPeer, PeerSnapshot } from '@cubecast/peer';
import { useState } from 'react';

/** Every live channel, with a latency bound and Subscribe for the ones this tab can watch. */
export function ChannelList({ peer, snapshot }: { peer: CubecastPeer; snapshot: PeerSnapshot }) {
  const [bounds, setBounds] = useState<Record<string, string>>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const subscribed = new Set(snapshot.subscriptions.map((s) => s.channel));

  const subscribe = async (name: string) => {
    const text = bounds[name] ?? '400';
    const bound = Number(text);
    if (!Number.isFinite(bound) || bound <= 0 || bound > 60_000) {
      setErrors((e) => ({ ...e, [name]: 'The latency bound is a number of milliseconds from 1 to 60000.' }));
      return;
    }
    setErrors((e) => ({ ...e, [name]: '' }));
    try {
      await peer.subscribe(name, bound);
    } catch (error) {
      setErrors((e) => ({ ...e, [name]: `Could not subscribe: ${(error as Error).message}` }));
    }
  };

  return (
    <section aria-labelledby="channels-title">
      <h2 id="channels-title">Channels</h2>
      <ul className="channels" data-testid="channel-list">
        {snapshot.channels.length === 0 && <li className="muted">No channel is live. Publish one above, or wait for another tab to.</li>}
        {snapshot.channels.map((channel) => {
          const mine = channel.publisher === snapshot.hostId;
          return (
            <li key={channel.name} data-channel={channel.name}>
              <div>
                <strong>{channel.name}</strong>
                <span className="muted">
                  {' '}
                  {channel.kind} from {mine ? 'this tab' : channel.publisher}
                </span>
              </div>
              {mine ? (
                <span className="muted">You publish this channel.</span>
              ) : subscribed.has(channel.name) ? (
                <span className="state state-open">Subscribed</span>
              ) : (
                <div className="row compact">
                  <label>
                    Max latency (ms)
                    <input
                      data-testid="max-latency-input"
                      inputMode="numeric"
                      value={bounds[channel.name] ?? '400'}
                      onChange={(e) => setBounds((b) => ({ ...b, [channel.name]: e.target.value }))}
                    />
                  </label>
                  <button type="button" data-testid="subscribe-button" onClick={() => void subscribe(channel.name)}>
                    Subscribe
                  </button>
                </div>
              )}
              {errors[channel.name] && (
                <p className="error" role="alert">
                  {errors[channel.name]}
                </p>
              )}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
