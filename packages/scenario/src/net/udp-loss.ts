import { execFileSync } from 'node:child_process';
import { isIsolated } from '../network-namespace.js';

/** Where the loss applies: a namespace's whole intake (a host's downlink), or only what comes from one address (a link). */
export interface UdpLossScope {
  /** A namespace this test made (a NAT home's machine); by default, the process's own, which must be the private one. */
  readonly namespace?: string;
  /** Only packets from this address: the link from the peer (or NAT router) that sends from it. */
  readonly from?: string;
}

/**
 * Real packet loss for WebRTC in a test's network namespace: iptables drops each UDP packet
 * the namespace takes in with a probability (the statistic match; `tc netem` is not
 * available on these machines). Over loopback every packet is taken in once, so between tabs
 * of one namespace that is the loss of each hop; in a NAT home's namespace, it is the loss
 * of that host's downlink (or, with `from`, of one link into it).
 */
export class UdpLoss {
  private probability = 0;

  constructor(private readonly scope: UdpLossScope = {}) {
    // The process's own namespace must be private: never the machine's.
    if (!scope.namespace && !isIsolated()) throw new Error('UdpLoss outside a private network namespace: run under the kit (cubecast scenario run) or e2e/isolate.mjs');
  }

  /** Drops UDP packets with this probability from now on (0: none). */
  set(probability: number): void {
    if (!(probability >= 0 && probability < 1)) throw new RangeError(`a loss probability is in [0, 1), not ${probability}`);
    if (this.probability > 0) this.iptables('-D', this.probability);
    this.probability = probability;
    if (probability > 0) this.iptables('-A', probability);
  }

  private iptables(action: '-A' | '-D', probability: number): void {
    const rule = [action, 'INPUT', '-p', 'udp', ...(this.scope.from ? ['-s', this.scope.from] : []), '-m', 'statistic', '--mode', 'random', '--probability', String(probability), '-j', 'DROP'];
    const [command, args] = this.scope.namespace ? ['ip', ['netns', 'exec', this.scope.namespace, 'iptables', ...rule]] : ['iptables', rule];
    execFileSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  }
}
