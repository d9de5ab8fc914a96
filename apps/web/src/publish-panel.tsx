import { DEFAULT_SENSOR, DEFAULT_VIDEO, SensorPublisher, VideoPublisher, type CubecastPeer } from '@cubecast/peer';
import { useEffect, useRef, useState } from 'react';

type Status = { state: 'idle' } | { state: 'starting' } | { state: 'live'; name: string; kind: 'video' | 'sensor' } | { state: 'error'; message: string };

function cameraError(error: unknown): string {
  const name = error instanceof DOMException ? error.name : '';
  if (name === 'NotAllowedError' || name === 'SecurityError') return 'Camera access was denied. Allow the camera for this site and try again.';
  if (name === 'NotFoundError' || name === 'OverconstrainedError') return 'No camera was found on this device.';
  if (name === 'NotReadableError') return 'The camera is in use by another application.';
  return `Could not publish: ${error instanceof Error ? error.message : String(error)}`;
}

/** Publish this tab's webcam (with a local preview) or a synthetic sensor as a channel. */
export function PublishPanel({ peer, blocked, waiting }: { peer: CubecastPeer; blocked: string | null; waiting: string | null }) {
  const canPublish = blocked ?? waiting;
  const [name, setName] = useState('');
  const [status, setStatus] = useState<Status>({ state: 'idle' });
  const preview = useRef<HTMLVideoElement>(null);
  const publisher = useRef<VideoPublisher | null>(null);
  const sensor = useRef<SensorPublisher | null>(null);

  useEffect(
    () => () => {
      void publisher.current?.close();
      void sensor.current?.close();
    },
    [],
  );

  const channelName = (): string | null => {
    const channel = name.trim();
    if (/^[\w.\- ]{1,64}$/.test(channel)) return channel;
    setStatus({ state: 'error', message: 'Name the channel: 1 to 64 letters, digits, spaces, dots, dashes or underscores.' });
    return null;
  };

  const startSensor = async () => {
    const channel = channelName();
    if (!channel) return;
    setStatus({ state: 'starting' });
    try {
      sensor.current = await SensorPublisher.start(peer, channel);
      sensor.current.publication.on('publication:closed', () => setStatus({ state: 'idle' }));
      setStatus({ state: 'live', name: channel, kind: 'sensor' });
    } catch (error) {
      setStatus({ state: 'error', message: `Could not publish: ${(error as Error).message}` });
    }
  };

  const start = async () => {
    const channel = channelName();
    if (!channel) return;
    setStatus({ state: 'starting' });
    let stream: MediaStream | undefined;
    try {
      if (!(await VideoPublisher.supported())) throw new Error('this browser cannot encode VP8 with WebCodecs');
      const { width, height, framerate } = DEFAULT_VIDEO;
      stream = await navigator.mediaDevices.getUserMedia({ video: { width, height, frameRate: framerate }, audio: false });
      const track = stream.getVideoTracks()[0]!;
      const publication = await peer.publish({
        name: channel,
        kind: 'video',
        codec: { codec: 'vp8', width, height, framerate, bitrateKbps: DEFAULT_VIDEO.bitrateKbps, scalabilityMode: 'L1T3' },
      });
      publisher.current = new VideoPublisher(publication, track, DEFAULT_VIDEO);
      publisher.current.on('encoder:failed', ({ message }) => setStatus({ state: 'error', message }));
      publisher.current.start();
      publication.on('publication:closed', () => {
        if (preview.current) preview.current.srcObject = null;
        setStatus({ state: 'idle' });
      });
      if (preview.current) preview.current.srcObject = stream;
      setStatus({ state: 'live', name: channel, kind: 'video' });
    } catch (error) {
      for (const track of stream?.getTracks() ?? []) track.stop();
      setStatus({ state: 'error', message: error instanceof DOMException || error instanceof Error ? cameraError(error) : String(error) });
    }
  };

  const stop = async () => {
    if (status.state !== 'live') return;
    const source = publisher.current ?? sensor.current;
    publisher.current = null;
    sensor.current = null;
    if (preview.current) preview.current.srcObject = null;
    await source?.close();
    setStatus({ state: 'idle' });
  };

  return (
    <section aria-labelledby="publish-title">
      <h2 id="publish-title">Publish</h2>
      {blocked && <p className="error">{blocked}</p>}
      {!blocked && waiting && <p className="muted">{waiting}</p>}
      <div className="row">
        <label>
          Channel name
          <input
            data-testid="channel-name-input"
            value={name}
            placeholder="e.g. kitchen-cam"
            maxLength={64}
            disabled={status.state === 'live' || status.state === 'starting'}
            onChange={(e) => setName(e.target.value)}
            onKeyDown={(e) => e.key === 'Enter' && void start()}
          />
        </label>
        {status.state === 'live' ? (
          <button type="button" className="secondary" onClick={() => void stop()}>
            Stop publishing
          </button>
        ) : (
          <>
            <button type="button" data-testid="publish-button" disabled={status.state === 'starting' || canPublish !== null} onClick={() => void start()}>
              {status.state === 'starting' ? 'Starting…' : 'Publish webcam'}
            </button>
            <button type="button" className="secondary" data-testid="publish-sensor-button" disabled={status.state === 'starting' || waiting !== null} onClick={() => void startSensor()}>
              Publish a synthetic sensor
            </button>
          </>
        )}
      </div>
      {status.state === 'error' && (
        <p className="error" role="alert" data-testid="publish-error">
          {status.message}
        </p>
      )}
      <video ref={preview} className={status.state === 'live' && status.kind === 'video' ? 'preview' : 'preview hidden'} autoPlay muted playsInline />
      {status.state === 'live' && (
        <p className="muted">
          Publishing {status.kind === 'sensor' ? `synthetic readings (${DEFAULT_SENSOR.rateHz} per second) as` : ''} “{status.name}”. Other tabs can subscribe to it below.
        </p>
      )}
    </section>
  );
}
