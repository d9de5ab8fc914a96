/**
 * Virtual hosts in a process of their own (a process holds at most about 19,000 sockets here:
 * `ulimit -n` is 20000), for the benchmarks that need more: `load-clients.ts <url> <count>`.
 * Over IPC: `join` joins them (`inFlight` at a time) and answers with the join latencies;
 * `views` answers with each host's id and ids; `close` closes them. Exits with its parent.
 */
import { VirtualHost } from '../src/testing/virtual-host.js';

const [url, countText, inFlightText = '32'] = process.argv.slice(2);
const count = Number(countText);
const hosts: VirtualHost[] = [];

async function joinAll(): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Number(inFlightText) }, async () => {
      while (next < count) {
        next++;
        const started = performance.now();
        const host = new VirtualHost(url!);
        hosts.push(host);
        await host.join();
        latencies.push(performance.now() - started);
      }
    }),
  );
  return latencies;
}

process.on('message', (message: { type: string }) => {
  const reply = (body: object) => process.send!({ type: message.type, ...body });
  if (message.type === 'join') {
    joinAll().then(
      (latencies) => reply({ latencies }),
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
