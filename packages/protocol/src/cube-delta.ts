import type { CubeDelta, CubeState } from './signaling.js';

/**
 * A host's view after a `cube:delta`: the one implementation the browser peer and the test
 * hosts share. A delta belongs to the epoch it was made in and is newer than the revision held,
 * or it is stale (a re-embedding overtook it, or it arrived twice): then undefined.
 */
export function applyCubeDelta(state: CubeState, delta: CubeDelta): CubeState | undefined {
  if (delta.epoch !== state.epoch || delta.revision <= state.revision) return undefined;
  const ids = new Set(state.ids);
  for (const id of delta.removedIds) ids.delete(id);
  for (const id of delta.addedIds) ids.add(id);
  const neighbours = new Map(state.neighbours);
  for (const [id, owner] of delta.neighbours) {
    if (owner === null) neighbours.delete(id);
    else neighbours.set(id, owner);
  }
  return { ...state, revision: delta.revision, ids: [...ids], neighbours: [...neighbours] };
}
