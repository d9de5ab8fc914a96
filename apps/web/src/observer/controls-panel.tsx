import { ROUTING_POLICIES, type ObserverSnapshot, type RoutingPolicyName } from '@cubecast/protocol';
import { useState, type FormEvent, type ReactNode } from 'react';
import type { ControlEvent, ControlPayload, ControlResult } from './use-observer-feed.js';

export type Control = <E extends ControlEvent>(event: E, payload: ControlPayload<E>) => Promise<ControlResult>;

/** A labelled number input of a control. */
function Field(props: { label: string; value: string; onChange: (value: string) => void; disabled: boolean; placeholder?: string; decimal?: boolean }) {
  return (
    <label>
      {props.label}
      <input inputMode={props.decimal ? 'decimal' : 'numeric'} value={props.value} onChange={(e) => props.onChange(e.target.value)} placeholder={props.placeholder} disabled={props.disabled} />
    </label>
  );
}

/** iOverlay's two integers for an algorithm, and the button that sends them (`send` gets them as typed). */
function AlgorithmIntegers(props: { enabled: boolean; busy: boolean; label: string; testId: string; send: (a: string, b: string) => void }) {
  const [a, setA] = useState('');
  const [b, setB] = useState('');
  return (
    <div className="row compact">
      <Field label="a" value={a} onChange={setA} disabled={!props.enabled} placeholder="0" />
      <Field label="b" value={b} onChange={setB} disabled={!props.enabled} placeholder="1" />
      <button type="button" className="small" disabled={!props.enabled || props.busy || a === '' || b === ''} data-testid={props.testId} onClick={() => props.send(a, b)}>
        {props.label}
      </button>
    </div>
  );
}

/** The last answer a control got, shown beside it: the server's result or its refusal. */
function useAnswer(): [ReactNode, (work: () => Promise<ControlResult>, describe: (result: ControlResult & { ok: true }) => string) => Promise<void>, boolean] {
  const [answer, setAnswer] = useState<{ ok: boolean; text: string } | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const run = async (work: () => Promise<ControlResult>, describe: (result: ControlResult & { ok: true }) => string) => {
    setBusy(true);
    setAnswer(undefined);
    const result = await work();
    setBusy(false);
    setAnswer(result.ok ? { ok: true, text: describe(result) } : { ok: false, text: `Refused (${result.code}): ${result.message}` });
  };
  const shown = answer && (
    <p className={answer.ok ? 'answer ok' : 'answer refused'} role="status" data-testid="observer-control-answer">
      {answer.text}
    </p>
  );
  return [shown, run, busy];
}

/** The admin token: kept in this tab's memory only; a new one reconnects the feed with it. */
export function TokenForm(props: { token: string; onToken: (token: string) => void; purpose: string }) {
  const [draft, setDraft] = useState(props.token);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    props.onToken(draft.trim());
  };
  return (
    <form className="row compact token" onSubmit={submit}>
      <label>
        {props.purpose}
        <input type="password" value={draft} onChange={(e) => setDraft(e.target.value)} autoComplete="off" data-testid="observer-token-input" placeholder="token" />
      </label>
      <button type="submit" className="small">
        Use
      </button>
      {props.token !== '' && (
        <button
          type="button"
          className="small secondary"
          onClick={() => {
            setDraft('');
            props.onToken('');
          }}
        >
          Forget
        </button>
      )}
    </form>
  );
}

/** Overlay-wide controls: the routing policy, a re-embedding, and the algorithm's two integers. */
export function OverlayControls(props: { state: ObserverSnapshot; control: Control; token: string; onToken: (token: string) => void }) {
  const { state, control } = props;
  const enabled = state.controls.enabled;
  const [policyAnswer, runPolicy, policyBusy] = useAnswer();
  const [reembedAnswer, runReembed, reembedBusy] = useAnswer();
  const [algorithmAnswer, runAlgorithm, algorithmBusy] = useAnswer();
  const [k, setK] = useState('');
  const [n, setN] = useState('');
  const shape = k === '' && n === '' ? {} : { k: Number(k), n: Number(n) };
  return (
    <section className="controls">
      <h2>Controls</h2>
      {!enabled && (
        <p className="hint" data-testid="observer-controls-disabled">
          Controls are disabled: {state.controls.reason ?? 'this connection has no admin token'}.
        </p>
      )}
      <TokenForm token={props.token} onToken={props.onToken} purpose="Admin token" />
      <div className="row compact">
        <label>
          Routing policy
          <select
            value={state.policy}
            disabled={!enabled || policyBusy}
            data-testid="observer-policy-select"
            onChange={(e) => {
              const policy = e.target.value as RoutingPolicyName;
              void runPolicy(() => control('control:policy', { policy }), () => `Routing policy is now ${policy}.`);
            }}
          >
            {ROUTING_POLICIES.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </label>
      </div>
      {policyAnswer}
      <div className="row compact">
        <Field label="k" value={k} onChange={setK} disabled={!enabled} placeholder={state.cube.k > 0 ? String(state.cube.k) : ''} />
        <Field label="n" value={n} onChange={setN} disabled={!enabled} placeholder={state.cube.n > 0 ? String(state.cube.n) : ''} />
        <button
          type="button"
          className="small"
          disabled={!enabled || reembedBusy}
          data-testid="observer-reembed"
          onClick={() => void runReembed(() => control('control:reembed', shape), (r) => `Re-embedded into the ${String(r.k)}-ary ${String(r.n)}-cube (epoch ${String(r.epoch)}).`)}
        >
          Re-embed now
        </button>
      </div>
      <p className="hint small">Leave k and n empty for the cube the population's M-region calls for.</p>
      {reembedAnswer}
      <AlgorithmIntegers
        enabled={enabled}
        busy={algorithmBusy}
        label="Send to the algorithm"
        testId="observer-algorithm-control"
        send={(a, b) => void runAlgorithm(() => control('control:algorithm', { a: Number(a), b: Number(b) }), (r) => `Sent (${a}, ${b}) to the ${String(r.hosts)} hosts running ${state.algorithm}.`)}
      />
      <p className="hint small">Two integers for the room's algorithm, read as it says (gossip: its probability becomes a / b; coding: a = 0 turns coding off, a = 1 on; cube routing and the trees ignore them; sflow takes its own per host, in the host's controls).</p>
      {algorithmAnswer}
    </section>
  );
}

/** One host's controls: disconnect it, set its emulated position and bandwidth, send its algorithm two integers, check a swap for it. */
export function HostControls(props: { hostId: string; emulation: ObserverSnapshot['hosts'][number]['emulation']; enabled: boolean; control: Control }) {
  const { hostId, emulation, enabled, control } = props;
  const [answer, run, busy] = useAnswer();
  const [x, setX] = useState(String(emulation?.position?.[0] ?? ''));
  const [y, setY] = useState(String(emulation?.position?.[1] ?? ''));
  const [up, setUp] = useState(String(emulation?.upKbps ?? ''));
  const [down, setDown] = useState(String(emulation?.downKbps ?? ''));
  const [total, setTotal] = useState(String(emulation?.totalKbps ?? ''));
  const emulate = () => {
    const position = x !== '' && y !== '' ? ([Number(x), Number(y)] as [number, number]) : undefined;
    const next = { ...(position && { position }), ...(up !== '' && { upKbps: Number(up) }), ...(down !== '' && { downKbps: Number(down) }), ...(total !== '' && { totalKbps: Number(total) }) };
    return run(() => control('control:emulation', { hostId, emulation: next }), () => `${hostId} now emulates ${JSON.stringify(next)}.`);
  };
  return (
    <div className="host-controls">
      <p className="hint small">Emulated position (ms apart = one-way delay) and bandwidth:</p>
      <div className="row compact">
        <Field label="x" value={x} onChange={setX} disabled={!enabled} decimal />
        <Field label="y" value={y} onChange={setY} disabled={!enabled} decimal />
      </div>
      <div className="row compact">
        <Field label="up kbit/s" value={up} onChange={setUp} disabled={!enabled} />
        <Field label="down kbit/s" value={down} onChange={setDown} disabled={!enabled} />
        <Field label="total kbit/s" value={total} onChange={setTotal} disabled={!enabled} />
        <button type="button" className="small" disabled={!enabled || busy} onClick={() => void emulate()} data-testid="observer-emulate">
          Emulate
        </button>
      </div>
      <AlgorithmIntegers
        enabled={enabled}
        busy={busy}
        label="Send to this host's algorithm"
        testId="observer-host-algorithm-control"
        send={(a, b) => void run(() => control('control:algorithm', { hostId, a: Number(a), b: Number(b) }), () => `Sent (${a}, ${b}) to ${hostId}'s algorithm.`)}
      />
      <p className="hint small">sflow: (a, 1) offers service a here (1 thin, 2 pixels, 3 sensor), (a, 0) withdraws it.</p>
      <div className="row compact">
        <button
          type="button"
          className="small secondary"
          disabled={!enabled || busy}
          data-testid="observer-swap-check"
          onClick={() =>
            void run(
              () => control('control:swap-check', { hostId }),
              (r) => {
                const checked = (r.checked as { channel: string; swap?: { displaced: string; latencyBeforeMs: number; latencyAfterMs: number } }[]) ?? [];
                return checked
                  .map((c) => (c.swap ? `"${c.channel}": swapped with ${c.swap.displaced}, estimated ${c.swap.latencyBeforeMs.toFixed(1)} → ${c.swap.latencyAfterMs.toFixed(1)} ms.` : `"${c.channel}": no swap brings it nearer.`))
                  .join(' ');
              },
            )
          }
        >
          Check for a swap
        </button>
        <button
          type="button"
          className="small danger"
          disabled={!enabled || busy}
          data-testid="observer-disconnect"
          onClick={() => void run(() => control('control:kill', { hostId }), () => `${hostId} was disconnected.`)}
        >
          Disconnect
        </button>
      </div>
      {answer}
    </div>
  );
}
