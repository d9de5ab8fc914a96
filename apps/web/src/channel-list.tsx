import type { CubecastPeer, PeerSnapshot } from '@cubecast/peer';
import type { ChannelInfo, SpaSpec } from '@cubecast/protocol';
import { useState } from 'react';
import { CUSTOM_CHOICE, PIPELINE_CHOICES } from './pipelines.js';

/** A custom module, once the server has checked it: its pipeline name, or why it was refused. */
type CustomSpa = { state: 'uploading'; file: string } | { state: 'ready'; file: string; spa: string } | { state: 'refused'; file: string; reason: string };

/** Every live channel, with a pipeline, a latency bound and Subscribe for the ones this tab can watch. */
export function ChannelList({ peer, snapshot }: { peer: CubecastPeer; snapshot: PeerSnapshot }) {
  const [bounds, setBounds] = useState<Record<string, string>>({});
  const [choices, setChoices] = useState<Record<string, string>>({});
  const [custom, setCustom] = useState<Record<string, CustomSpa>>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const subscribed = new Set(snapshot.subscriptions.map((s) => s.channel));

  const pipelineFor = (channel: ChannelInfo): SpaSpec[] | string => {
    const choice = choices[channel.name] ?? 'full';
    if (choice !== CUSTOM_CHOICE) return PIPELINE_CHOICES[channel.kind].find((c) => c.id === choice)?.pipeline ?? [];
    const loaded = custom[channel.name];
    if (loaded?.state !== 'ready') return 'Load a .wasm SPA first (or pick another pipeline).';
    return [{ spa: loaded.spa }];
  };

  const subscribe = async (channel: ChannelInfo) => {
    const name = channel.name;
    const text = bounds[name] ?? '400';
    const bound = Number(text);
    if (!Number.isFinite(bound) || bound <= 0 || bound > 60_000) {
      setErrors((e) => ({ ...e, [name]: 'The latency bound is a number of milliseconds from 1 to 60000.' }));
      return;
    }
    const pipeline = pipelineFor(channel);
    if (typeof pipeline === 'string') {
      setErrors((e) => ({ ...e, [name]: pipeline }));
      return;
    }
    setErrors((e) => ({ ...e, [name]: '' }));
    try {
      await peer.subscribe(name, bound, pipeline);
    } catch (error) {
      setErrors((e) => ({ ...e, [name]: `Could not subscribe: ${(error as Error).message}` }));
    }
  };

  const load = async (name: string, file: File | undefined) => {
    if (!file) return;
    setCustom((c) => ({ ...c, [name]: { state: 'uploading', file: file.name } }));
    try {
      const spa = await peer.uploadSpa(file);
      setCustom((c) => ({ ...c, [name]: { state: 'ready', file: file.name, spa } }));
    } catch (error) {
      setCustom((c) => ({ ...c, [name]: { state: 'refused', file: file.name, reason: (error as Error).message } }));
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
              {channel.kind === 'coded' && 'sources' in channel.codec && <CodedSources peer={peer} snapshot={snapshot} coded={channel.name} sources={channel.codec.sources} />}
              {mine ? (
                <span className="muted">You publish this channel.</span>
              ) : subscribed.has(channel.name) ? (
                <span className="state state-open">Subscribed</span>
              ) : (
                <div className="row compact">
                  <label>
                    Pipeline
                    <select data-testid="pipeline-select" value={choices[channel.name] ?? 'full'} onChange={(e) => setChoices((c) => ({ ...c, [channel.name]: e.target.value }))}>
                      {PIPELINE_CHOICES[channel.kind].map((choice) => (
                        <option key={choice.id} value={choice.id}>
                          {choice.label}
                        </option>
                      ))}
                      <option value={CUSTOM_CHOICE}>Custom SPA (.wasm)…</option>
                    </select>
                  </label>
                  {choices[channel.name] === CUSTOM_CHOICE && (
                    <label>
                      SPA module
                      <input data-testid="spa-file-input" type="file" accept=".wasm,application/wasm" onChange={(e) => void load(channel.name, e.target.files?.[0])} />
                    </label>
                  )}
                  <label>
                    Max latency (ms)
                    <input
                      data-testid="max-latency-input"
                      inputMode="numeric"
                      value={bounds[channel.name] ?? '400'}
                      onChange={(e) => setBounds((b) => ({ ...b, [channel.name]: e.target.value }))}
                    />
                  </label>
                  <button type="button" data-testid="subscribe-button" onClick={() => void subscribe(channel)}>
                    Subscribe
                  </button>
                </div>
              )}
              {choices[channel.name] === CUSTOM_CHOICE && !subscribed.has(channel.name) && custom[channel.name] && <CustomStatus custom={custom[channel.name]!} />}
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

function CustomStatus({ custom }: { custom: CustomSpa }) {
  if (custom.state === 'uploading') return <p className="muted small">Checking {custom.file}…</p>;
  if (custom.state === 'refused') {
    return (
      <p className="error" role="alert" data-testid="spa-refused">
        {custom.file} was refused: {custom.reason}
      </p>
    );
  }
  return (
    <p className="muted small" data-testid="spa-ready">
      {custom.file} follows the SPA ABI ({custom.spa.slice(0, 19)}…). Subscribe to run it where your stream branches off.
    </p>
  );
}

/** A coded channel's sources, and Recover when this tab receives one of them. */
function CodedSources({ peer, snapshot, coded, sources }: { peer: CubecastPeer; snapshot: PeerSnapshot; coded: string; sources: readonly [string, string] }) {
  const [error, setError] = useState<string | null>(null);
  const received = snapshot.subscriptions.filter((s) => s.recoveredFrom === null).map((s) => s.channel);
  const recovering = snapshot.subscriptions.find((s) => s.recoveredFrom === coded);
  const have = sources.find((source) => received.includes(source));
  const other = sources.find((source) => source !== have);
  return (
    <div className="row compact">
      <span className="muted">
        c1·{sources[0]} + c2·{sources[1]}
      </span>
      {recovering ? (
        <span className="state state-open">Recovering {recovering.channel}</span>
      ) : have && other && !received.includes(other) ? (
        <button type="button" data-testid="recover-button" onClick={() => peer.startDecoding(coded).then(() => setError(null), (e: Error) => setError(e.message))}>
          Recover {other} from {have}
        </button>
      ) : (
        <span className="muted small">Subscribe to {sources[0]} or {sources[1]} to recover the other from it.</span>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
