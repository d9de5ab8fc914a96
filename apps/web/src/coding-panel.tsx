import type { CubecastPeer, PeerSnapshot } from '@cubecast/peer';
import { useState } from 'react';

/**
 * iOverlay's network-coding case study: this tab receives two channels and publishes one
 * coded channel; a receiver with either source recovers the other from it.
 */
export function CodingPanel({ peer, snapshot }: { peer: CubecastPeer; snapshot: PeerSnapshot }) {
  const sources = snapshot.channels.filter((c) => c.kind !== 'coded' && c.publisher !== snapshot.hostId);
  const [a, setA] = useState('');
  const [b, setB] = useState('');
  const [name, setName] = useState('');
  const [message, setMessage] = useState<{ error: boolean; text: string } | null>(null);
  const first = a || sources[0]?.name || '';
  const second = b || sources[1]?.name || '';

  const start = async () => {
    const coded = name.trim();
    if (!first || !second || first === second) return setMessage({ error: true, text: 'Pick two different channels to code together.' });
    if (!/^[\w.\- ]{1,64}$/.test(coded)) return setMessage({ error: true, text: 'Name the coded channel: 1 to 64 letters, digits, spaces, dots, dashes or underscores.' });
    try {
      await peer.startCoding(first, second, coded);
      setMessage({ error: false, text: `Publishing ${coded} = c1·${first} + c2·${second} over GF(2^8).` });
    } catch (error) {
      setMessage({ error: true, text: `Could not start coding: ${(error as Error).message}` });
    }
  };

  return (
    <details className="coding">
      <summary>Network coding</summary>
      <p className="muted small">Code two channels this tab receives into one channel. A tab that gets either source and the coded channel recovers the other (chunks up to 16 KB, such as sensor readings).</p>
      {sources.length < 2 ? (
        <p className="muted">Coding needs two channels published by other tabs.</p>
      ) : (
        <div className="row compact">
          {[
            [first, setA],
            [second, setB],
          ].map(([value, set], i) => (
            <label key={i}>
              Source {i === 0 ? 'A' : 'B'}
              <select data-testid={`coding-source-${i}`} value={value as string} onChange={(e) => (set as (v: string) => void)(e.target.value)}>
                {sources.map((c) => (
                  <option key={c.name}>{c.name}</option>
                ))}
              </select>
            </label>
          ))}
          <label>
            Coded channel
            <input data-testid="coded-name-input" value={name} maxLength={64} placeholder="e.g. a-plus-b" onChange={(e) => setName(e.target.value)} />
          </label>
          <button type="button" data-testid="code-button" onClick={() => void start()}>
            Code
          </button>
        </div>
      )}
      {message && (
        <p className={message.error ? 'error' : 'muted'} role={message.error ? 'alert' : 'status'}>
          {message.text}
        </p>
      )}
    </details>
  );
}
