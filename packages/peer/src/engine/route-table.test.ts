import { describe, expect, it } from 'vitest';
import { RouteTable } from './route-table.js';

describe('RouteTable', () => {
  it('digests a channel: the variants each next host wants and its loosest bound, and those wanted here', () => {
    const t = new RouteTable();
    t.setBranch(1, 's1', { nextHost: 'h2', variant: 10, maxLatencyMs: 400, expiresAt: 100 });
    t.setBranch(1, 's2', { nextHost: 'h2', variant: 11, maxLatencyMs: 150, expiresAt: 100 });
    t.setBranch(1, 's3', { nextHost: 'h3', variant: 10, maxLatencyMs: 90, expiresAt: 100 });
    t.setLocal(1, 's4', { variant: 12, expiresAt: 100 });
    t.setBranch(2, 's5', { nextHost: 'h9', variant: 10, maxLatencyMs: 100, expiresAt: 100 });
    const demand = t.demand(1, 0);
    expect(new Map([...demand.next].map(([host, variants]) => [host, [...variants].sort()]))).toEqual(new Map([['h2', [10, 11]], ['h3', [10]]]));
    expect(demand.boundMs).toEqual(new Map([['h2', 400], ['h3', 90]]));
    expect([...demand.local]).toEqual([12]);
    expect([...t.demand(3, 0).next]).toEqual([]);
  });

  it('sees a change at once: a new branch, a prune, a refreshed entry', () => {
    const t = new RouteTable();
    t.setBranch(1, 's1', { nextHost: 'h2', variant: 10, maxLatencyMs: 100, expiresAt: 100 });
    expect([...t.demand(1, 0).next.keys()]).toEqual(['h2']);
    t.setBranch(1, 's1', { nextHost: 'h3', variant: 10, maxLatencyMs: 100, expiresAt: 100 }); // re-routed
    expect([...t.demand(1, 0).next.keys()]).toEqual(['h3']);
    t.setBranch(1, 's1', undefined);
    expect(t.demand(1, 0).next.size).toBe(0);
    t.setLocal(1, 's2', { variant: 5, expiresAt: 100 });
    t.setLocal(1, 's2', undefined);
    expect(t.demand(1, 0).local.size).toBe(0);
  });

  it('ignores entries past their expiry, without a change to tell it, and frees them on expire', () => {
    const t = new RouteTable();
    t.setBranch(1, 'short', { nextHost: 'h2', variant: 10, maxLatencyMs: 100, expiresAt: 50 });
    t.setBranch(1, 'long', { nextHost: 'h3', variant: 10, maxLatencyMs: 100, expiresAt: 150 });
    t.setLocal(1, 'here', { variant: 7, expiresAt: 50 });
    expect([...t.demand(1, 50).next.keys()].sort()).toEqual(['h2', 'h3']);
    expect([...t.demand(1, 51).next.keys()]).toEqual(['h3']);
    expect(t.demand(1, 51).local.size).toBe(0);
    expect([...t.variants()]).toEqual([10, 7]);
    t.expire(51);
    expect([...t.variants()]).toEqual([10]);
    expect([...t.demand(1, 151).next.keys()]).toEqual([]);
  });

  it('drops branches toward given hosts, and forgets channels', () => {
    const t = new RouteTable();
    t.setBranch(1, 's1', { nextHost: 'h2', variant: 10, maxLatencyMs: 100, expiresAt: 100 });
    t.setBranch(1, 's2', { nextHost: 'h3', variant: 10, maxLatencyMs: 100, expiresAt: 100 });
    t.setLocal(1, 's3', { variant: 10, expiresAt: 100 });
    t.setBranch(2, 's4', { nextHost: 'h2', variant: 10, maxLatencyMs: 100, expiresAt: 100 });
    expect(t.demand(1, 0).next.size).toBe(2); // cached
    t.dropBranchesWhere((host) => host === 'h2');
    expect([...t.demand(1, 0).next.keys()]).toEqual(['h3']);
    expect(t.demand(2, 0).next.size).toBe(0);
    t.forgetChannel(1, 'branches');
    expect(t.demand(1, 0).next.size).toBe(0);
    expect(t.demand(1, 0).local.size).toBe(1);
    t.forgetChannel(1);
    expect(t.channels()).toEqual(new Set([2]));
    expect([...t.branchChannels()]).toEqual([2]);
  });
});
