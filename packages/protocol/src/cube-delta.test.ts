import { describe, expect, it } from 'vitest';
import { applyCubeDelta } from './cube-delta.js';
import type { CubeState } from './signaling.js';

const state: CubeState = { hostId: 'h1', epoch: 3, revision: 10, k: 3, n: 2, ids: [1, 4], neighbours: [[0, 'h0'], [2, 'h2'], [7, 'h7']], policy: 'greedy' };

describe('applyCubeDelta', () => {
  it('adds and removes ids and neighbour entries, and takes the revision', () => {
    const next = applyCubeDelta(state, { epoch: 3, revision: 11, addedIds: [5], removedIds: [1], neighbours: [[2, null], [8, 'h8'], [0, 'h9']] })!;
    expect(next.revision).toBe(11);
    expect(next.ids.sort()).toEqual([4, 5]);
    expect(new Map(next.neighbours)).toEqual(new Map([[0, 'h9'], [7, 'h7'], [8, 'h8']]));
    expect(next).toMatchObject({ hostId: 'h1', epoch: 3, k: 3, n: 2, policy: 'greedy' });
    // The state given is not changed: a caller may still hold it.
    expect(state.ids).toEqual([1, 4]);
    expect(state.neighbours).toHaveLength(3);
  });

  it('ignores a delta of another epoch, or not newer than the revision held', () => {
    const change = { addedIds: [5], removedIds: [], neighbours: [] };
    expect(applyCubeDelta(state, { epoch: 2, revision: 11, ...change })).toBeUndefined();
    expect(applyCubeDelta(state, { epoch: 4, revision: 11, ...change })).toBeUndefined();
    expect(applyCubeDelta(state, { epoch: 3, revision: 10, ...change })).toBeUndefined();
    expect(applyCubeDelta(state, { epoch: 3, revision: 9, ...change })).toBeUndefined();
  });
});
