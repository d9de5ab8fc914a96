import { execFileSync } from 'node:child_process';

/**
 * Real packet loss for WebRTC in a test's network namespace: iptables drops each UDP packet
 * the namespace takes in with a probability (the statistic match; `tc netem` is not
 * available on these machines). Over loopback every packet is taken in once, so between tabs
 * of one namespace that is the loss of each hop.
 */
export class UdpLoss {
  private probability = 0;

  /** In this process's network namespace, which must be the private one `e2e/isolate.mjs` runs it in: never the machine's. */
  constructor() {
    if (process.env.CUBECAST_NETNS !== '1') throw new Error('UdpLoss outside a private network namespace: run under e2e/isolate.mjs');
  }

  /** Drops UDP packets with this probability from now on (0: none). */
  set(probability: number): void {
    if (!(probability >= 0 && probability < 1)) throw new RangeError(`a loss probability is in [0, 1), not ${probability}`);
    if (this.probability > 0) this.iptables('-D', this.probability);
    this.probability = probability;
    if (probability > 0) this.iptables('-A', probability);
  }

  private iptables(action: '-A' | '-D', probability: number): void {
    execFileSync('iptables', [action, 'INPUT', '-p', 'udp', '-m', 'statistic', '--mode', 'random', '--probability', String(probability), '-j', 'DROP'], { stdio: ['ignore', 'ignore', 'pipe'] });
  }
}
