import { useMemo, useState } from 'react';
import { Cube, createRouter, isRoutingPolicy, mRegion, randomLinkCosts, ROUTING_POLICIES, type RoutingPolicy } from '@cubecast/overlay';

type Result<T> = { ok: true; value: T } | { ok: false; error: string };

function attempt<T>(f: () => T): Result<T> {
  try {
    return { ok: true, value: f() };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

/** The cube chosen for a population, and a route through it under each policy. */
export function CubeExplorer() {
  const [hostsText, setHostsText] = useState('65536');
  const region = useMemo(
    () =>
      attempt(() => {
        if (!/^\d+$/.test(hostsText.trim())) throw new Error('enter a whole number of hosts');
        return mRegion(Number(hostsText));
      }),
    [hostsText],
  );

  return (
    <>
      <section aria-labelledby="region-title">
        <h2 id="region-title">The cube for a population</h2>
        <label>
          Hosts (m)
          <input value={hostsText} onChange={(e) => setHostsText(e.target.value)} inputMode="numeric" data-testid="hosts-input" />
        </label>
        {region.ok ? (
          <dl className="facts" data-testid="region">
            <dt>Cube</dt>
            <dd>
              {region.value.k}-ary {region.value.n}-cube
            </dd>
            <dt>Logical nodes M</dt>
            <dd>{region.value.M.toLocaleString('en')}</dd>
            <dt>Average hops A(k,n)</dt>
            <dd>{region.value.avgHops.toFixed(3)}</dd>
            <dt>Diameter W(k,n)</dt>
            <dd>{region.value.diameter}</dd>
            <dt>Degree</dt>
            <dd>{region.value.degree}</dd>
          </dl>
        ) : (
          <p className="error" role="alert">
            {region.error}
          </p>
        )}
      </section>
      {region.ok && <RouteExplorer key={`${region.value.k}x${region.value.n}`} k={region.value.k} n={region.value.n} />}
    </>
  );
}

function RouteExplorer({ k, n }: { k: number; n: number }) {
  const cube = useMemo(() => new Cube(k, n), [k, n]);
  const [from, setFrom] = useState(() => cube.toText(0));
  const [to, setTo] = useState(() => cube.toText(cube.size - 1));
  const [policy, setPolicy] = useState<RoutingPolicy>('greedy');
  const [seed, setSeed] = useState(1);
  const route = useMemo(
    () =>
      attempt(() => {
        const cost = randomLinkCosts(seed);
        const path = createRouter(cube, { policy, seed, cost }).path(cube.fromText(from.trim()), cube.fromText(to.trim()));
        let latency = 0;
        for (let i = 1; i < path.length; i++) latency += cost(path[i - 1]!, path[i]!);
        return { path: path.map((id) => cube.toText(id)), latency };
      }),
    [cube, from, to, policy, seed],
  );

  return (
    <section aria-labelledby="route-title">
      <h2 id="route-title">A route through the {cube.toString()}</h2>
      <p className="hint">
        Ids are {n} base-{k} digits, dimension 0 leftmost. Greedy uses seeded random link costs (1–100 ms).
      </p>
      <div className="row">
        <label>
          From
          <input value={from} onChange={(e) => setFrom(e.target.value)} data-testid="route-from" />
        </label>
        <label>
          To
          <input value={to} onChange={(e) => setTo(e.target.value)} data-testid="route-to" />
        </label>
        <label>
          Policy
          <select value={policy} onChange={(e) => isRoutingPolicy(e.target.value) && setPolicy(e.target.value)}>
            {ROUTING_POLICIES.map((p) => (
              <option key={p}>{p}</option>
            ))}
          </select>
        </label>
        <label>
          Seed
          <input type="number" min={0} value={seed} onChange={(e) => setSeed(Math.max(0, Math.floor(Number(e.target.value) || 0)))} />
        </label>
      </div>
      {route.ok ? (
        <>
          <ol className="path" data-testid="route-path">
            {route.value.path.map((id, i) => (
              <li key={i}>
                <code>{id}</code>
              </li>
            ))}
          </ol>
          <p>
            {route.value.path.length - 1} hops, {route.value.latency.toFixed(1)} ms over the seeded link costs.
          </p>
        </>
      ) : (
        <p className="error" role="alert">
          {route.error}
        </p>
      )}
    </section>
  );
}
