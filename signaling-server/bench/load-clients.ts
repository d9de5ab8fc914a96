/**
 * Virtual hosts in a process of their own (a process holds at most about 19,000 sockets here:
 * `ulimit -n` is 20000), for the benchmarks that need more: `load-clients.ts <url> <count>`.
 * Over IPC: `join` joins them (`inFlight` at a time; a failed join is tried again after 1 s, as
 * a tab does, at most 5 times) and answers with the join latencies and how many were retried;
 * `views` answers with each host's id and ids; `close` closes them. Exits with its parent.
 */
import { VirtualHost } from '../src/testing/virtual-host.js';

const [url, countText, inFlightText = '32'] = process.argv.slice(2);
const count = Number(countText);
const hosts: VirtualHost[] = [];
const MAX_ATTEMPTS = 5;

/** Joins a host, as a tab does: a refused or unanswered join is tried again a second later. */
async function joinOne(retries: { count: number }): Promise<VirtualHost> {
  for (let attempt = 1; ; attempt++) {
    const host = new VirtualHost(url!);
    try {
      return await host.join();
    } catch (error) {
      host.close();
      if (attempt === MAX_ATTEMPTS) throw error;
      retries.count++;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

async function joinAll(): Promise<{ latencies: number[]; retries: number }> {
  const latencies: number[] = [];
  const retries = { count: 0 };
  let next = 0;
  await Promise.all(
    Array.from({ length: Number(inFlightText) }, async () => {
      while (next < count) {
        next++;
        const started = performance.now();
        hosts.push(await joinOne(retries));
        latencies.push(performance.now() - started);
      }
    }),
  );
  return { latencies, retries: retries.count };
}

process.on('message', (message: { type: string }) => {
  const reply = (body: object) => process.send!({ type: message.type, ...body });
  if (message.type === 'join') {
    joinAll().then(
      (joined) => reply(joined),
      (error: unknown) => reply({ error: String(error) }),
    );
  } else if (message.type === 'views') {
    reply({ views: hosts.map((h) => [h.hostId, [...h.ids]]), epochs: [...new Set(hosts.map((h) => h.epoch))] });
  } else if (message.type === 'close') {
    for (const host of hosts) host.close();
    reply({});
  }
});
process.on('disconnect', () => process.exit(0));
process.send!({ type: 'ready' });
