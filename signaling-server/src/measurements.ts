import { jsonBytes, pipelineVariant, type LinkReport, type SpaReport } from '@cubecast/protocol';
import { readWatchdogMessage, watchdogMessage } from '@cubecast/spa/watchdog';
import type { RoomContext } from './room-context.js';
import type { LinkMeasurement } from './store.js';

/**
 * What subscribers are told of a pipeline's death: the server's words. A watchdog stop of a
 * stage of that very pipeline is said again from its numbers; anything else a reporter wrote
 * stays with the reporter.
 */
function failureReason(reported: string | undefined, pipeline: readonly string[]): string {
  const stop = readWatchdogMessage(reported ?? '');
  return stop && pipeline.includes(stop.stage) ? watchdogMessage(stop) : 'its branch point reported it stopped';
}

/** A room's measurements: what hosts report of their links and of the pipelines they run. */
export class Measurements {
  constructor(private readonly room: RoomContext) {}

  /**
   * A host's report of all its links: it replaces what the host said before. Only links the
   * server made count: what a host says about hosts it is not linked to is not its to say.
   */
  reportLinks(hostId: string, report: LinkReport): void {
    const host = this.room.host(hostId);
    const linked = this.room.requireCube().ownership.linkedHosts(hostId);
    const links = report.links.filter((link) => linked.has(link.hostId));
    this.room.charge(host, 'links', jsonBytes(links));
    const now = this.room.config.now();
    const before = this.room.store.links.get(hostId);
    const reported = new Map<string, LinkMeasurement>();
    for (const link of links) {
      const previous = before?.get(link.hostId);
      reported.set(link.hostId, {
        state: link.state,
        ...(link.rttMs !== undefined && { rttMs: link.rttMs }),
        ...(link.throughputKbps !== undefined && { throughputKbps: link.throughputKbps }),
        ...(link.lossRate !== undefined && { lossRate: link.lossRate }),
        ...(link.channels !== undefined && link.channels.length > 0 && { channels: link.channels }),
        at: now,
      });
      if (link.rttMs !== undefined) this.room.store.coordinates.update(hostId, link.hostId, link.rttMs);
      if ((link.state === 'stalled' || link.state === 'failed') && previous?.state !== link.state) {
        this.room.logEvent('failure', `${hostId} reports its link to ${link.hostId} ${link.state}`, hostId, { peer: link.hostId });
      }
    }
    this.room.store.links.set(hostId, reported);
    this.room.outbox.changed();
  }

  /**
   * A host's report of the pipelines it runs. A pipeline newly dead there (its watchdog
   * stopped it, or it could not start) is news for every subscription that wanted its output
   * and whose route can pass through that host: the reporter must own an id on a minimal
   * path from the channel's anchor to the subscriber (every policy routes on one), so a host
   * cannot end streams it does not carry. Subscribers get the server's words, not the
   * reporter's.
   */
  reportSpas(hostId: string, report: SpaReport): void {
    const record = this.room.host(hostId);
    this.room.charge(record, 'spas', jsonBytes(report.spas));
    const wasDead = new Set(record.spas.filter((s) => s.state === 'dead').map((s) => `${s.channel}:${s.variant}`));
    record.spas = report.spas;
    this.room.store.changedHosts.add(hostId);
    for (const spa of report.spas) {
      if (spa.state !== 'dead' || wasDead.has(`${spa.channel}:${spa.variant}`)) continue;
      const channel = this.room.store.channels.get(spa.channel);
      if (!channel) continue;
      const affected = [...this.room.store.subscriptions.values()].filter(
        (sub) => sub.channel === spa.channel && pipelineVariant(sub.pipeline) === spa.variant && this.onMinimalPath(hostId, channel.anchor, sub.target),
      );
      if (affected.length === 0) continue;
      const pipeline = affected[0]!.pipeline.map((stage) => stage.spa);
      const message = failureReason(spa.error, pipeline);
      this.room.logEvent('spa', `${pipeline.join(' > ')} for ${spa.channel} died on ${hostId}: ${message}`, hostId, { channel: spa.channel, pipeline });
      for (const sub of affected) {
        this.room.outbox.host(sub.subscriber, 'spa:failed', { subscriptionId: sub.subscriptionId, channel: sub.channel, host: hostId, pipeline, message });
      }
    }
    this.room.outbox.changed();
  }

  /** Whether some id of the host lies on a minimal-hop path from `from` to `to`. */
  private onMinimalPath(hostId: string, from: number, to: number): boolean {
    const { cube, ownership } = this.room.requireCube();
    const length = cube.hopDistance(from, to);
    return ownership.idsOf(hostId).some((id) => cube.hopDistance(from, id) + cube.hopDistance(id, to) === length);
  }
}
