/**
 * A NAT test network of real components: network namespaces, veth pairs, a bridge and
 * iptables NAT, built by the test that uses it inside the private namespace of the run.
 *
 *   "internet" (the runner's namespace): bridge ccbr0, 203.0.113.1/24 (TEST-NET-3, an
 *     address for documentation that routes nowhere). The signaling server and coturn listen
 *     here.
 *   home i: a router namespace (WAN 203.0.113.(10+i) on the bridge, LAN 192.168.i.1) doing
 *     NAT, and a host namespace (192.168.i.2, default route via the router) where the home's
 *     Chromium runs, launched through a wrapper that `ip netns exec`s it.
 *
 * NAT kinds: `eim` is MASQUERADE (endpoint-independent mapping: one public port per private
 * port, so a STUN-learned address works for every peer); `symmetric` is MASQUERADE
 * --random-fully (a new public port per destination: only a TURN relay gets through).
 * Every namespace and interface it makes is removed by close(), also after a failure; ones
 * left by a process that died are removed before and after each isolated run (network-namespace.ts).
 */
import { execFileSync } from 'node:child_process';
import { UdpLoss } from './udp-loss.js';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../chromium.js';

export type NatKind = 'eim' | 'symmetric';

/** The internet's address, where the servers listen. */
export const INTERNET_ADDRESS = '203.0.113.1';
const BRIDGE = 'ccbr0';
/** Namespaces of this harness are named cc<pid>-...: removeStaleNamespaces removes those of dead pids. */
const PREFIX = 'cc';

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function inNamespace(namespace: string, command: string, ...args: string[]): void {
  execFileSync('ip', ['netns', 'exec', namespace, command, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

export class NatHome {
  private readonly browsers: Browser[] = [];

  constructor(
    readonly index: number,
    readonly nat: NatKind,
    /** The namespace of the home's own machine. */
    readonly namespace: string,
    /** The namespace of its NAT router. */
    readonly router: string,
    private readonly chromiumWrapper: string,
  ) {}

  /** The router's public address: what peers see of this home through STUN. */
  get publicAddress(): string {
    return `203.0.113.${10 + this.index}`;
  }

  /** A Chromium running in this home, behind its NAT. */
  /** Launches Chromium in this home; `args` go after the specs' usual ones. */
  async launchBrowser(args: readonly string[] = []): Promise<Browser> {
    const browser = await chromium.launch({ executablePath: this.chromiumWrapper, args: [...CHROMIUM_ARGS, ...args] });
    this.browsers.push(browser);
    return browser;
  }

  /**
   * Real UDP loss into this home's machine: of all it receives (its downlink), or with `from`
   * only of what comes from that home (one link). Gone with the home's namespace.
   */
  loss(from?: NatHome): UdpLoss {
    return new UdpLoss({ namespace: this.namespace, ...(from && { from: from.publicAddress }) });
  }

  /** Cuts the home's uplink (its router's WAN link goes down) until `restoreUplink`. */
  cutUplink(): void {
    ip('-n', this.router, 'link', 'set', 'wan', 'down');
  }

  restoreUplink(): void {
    ip('-n', this.router, 'link', 'set', 'wan', 'up');
  }

  async closeBrowsers(): Promise<void> {
    await Promise.all(this.browsers.splice(0).map((browser) => browser.close().catch(() => undefined)));
  }
}

export class NatNetwork {
  private closedFlag = false;

  private constructor(
    readonly homes: readonly NatHome[],
    private readonly namespaces: readonly string[],
    private readonly dir: string,
  ) {}

  /** Builds the internet and one home per entry of `nats`. Needs root, `ip` and `iptables`. */
  static create(nats: readonly NatKind[]): NatNetwork {
    if (process.getuid?.() !== 0) throw new Error('the NAT test network needs root (ip netns, iptables)');
    const id = `${PREFIX}${process.pid}`;
    const dir = mkdtempSync(join(tmpdir(), 'cubecast-nat-'));
    const namespaces: string[] = [];
    const homes: NatHome[] = [];
    const network = new NatNetwork(homes, namespaces, dir);
    removeLeftovers(id);
    try {
      ip('link', 'add', BRIDGE, 'type', 'bridge');
      ip('addr', 'add', `${INTERNET_ADDRESS}/24`, 'dev', BRIDGE);
      ip('link', 'set', BRIDGE, 'up');
      nats.forEach((nat, i) => {
        const index = i + 1;
        const router = `${id}-r${index}`;
        const host = `${id}-h${index}`;
        for (const namespace of [router, host]) {
          ip('netns', 'add', namespace);
          namespaces.push(namespace);
          // IPv4 only: an IPv6 link-local address that finishes its duplicate check a second
          // after the link came up is a network change to Chromium, which aborts the page
          // load under way (ERR_NETWORK_CHANGED).
          inNamespace(namespace, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1');
          ip('-n', namespace, 'link', 'set', 'lo', 'up');
        }
        // WAN: a bridge port in the internet, `wan` in the router.
        ip('link', 'add', `ccw${index}`, 'type', 'veth', 'peer', 'name', 'wan', 'netns', router);
        ip('link', 'set', `ccw${index}`, 'master', BRIDGE, 'up');
        ip('-n', router, 'addr', 'add', `203.0.113.${10 + index}/24`, 'dev', 'wan');
        ip('-n', router, 'link', 'set', 'wan', 'up');
        // LAN: `lan` in the router, `eth0` in the home's machine.
        ip('-n', router, 'link', 'add', 'lan', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host);
        ip('-n', router, 'addr', 'add', `192.168.${index}.1/24`, 'dev', 'lan');
        ip('-n', router, 'link', 'set', 'lan', 'up');
        ip('-n', host, 'addr', 'add', `192.168.${index}.2/24`, 'dev', 'eth0');
        ip('-n', host, 'link', 'set', 'eth0', 'up');
        // Chromium gathers candidates only with a default route.
        ip('-n', host, 'route', 'add', 'default', 'via', `192.168.${index}.1`);
        inNamespace(router, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1');
        inNamespace(router, 'iptables', '-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan', '-j', 'MASQUERADE', ...(nat === 'symmetric' ? ['--random-fully'] : []));
        // A home router's firewall: what nobody inside asked for is dropped. Dropped before
        // its conntrack entry is confirmed, a peer's early check leaves no entry behind that
        // would take the public port the home's own packets to that peer must keep (else
        // MASQUERADE picks another, and the mapping is endpoint-dependent after all).
        inNamespace(router, 'iptables', '-A', 'INPUT', '-i', 'wan', '-m', 'conntrack', '--ctstate', 'NEW', '-j', 'DROP');
        const wrapper = join(dir, `chromium-${index}.sh`);
        writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${host} ${CHROMIUM_PATH} "$@"\n`);
        chmodSync(wrapper, 0o755);
        homes.push(new NatHome(index, nat, host, router, wrapper));
      });
    } catch (error) {
      network.removeAll();
      throw error;
    }
    return network;
  }

  /** Closes every browser launched in the homes. */
  async closeBrowsers(): Promise<void> {
    await Promise.all(this.homes.map((home) => home.closeBrowsers()));
  }

  /** Closes the homes' browsers and removes every namespace, interface and file it made. */
  async close(): Promise<void> {
    if (this.closedFlag) return;
    this.closedFlag = true;
    await this.closeBrowsers();
    this.removeAll();
  }

  private removeAll(): void {
    // Deleting a namespace deletes its ends of the veth pairs, and with them the bridge ports.
    for (const namespace of this.namespaces) tryIp('netns', 'del', namespace);
    tryIp('link', 'del', BRIDGE);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * What a network of this process left when its close() never ran to the end (a teardown cut
 * short by the test timeout): its namespaces and the bridge. The next one starts clean.
 */
function removeLeftovers(id: string): void {
  const listed = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  for (const name of listed.split('\n').map((line) => line.split(' ')[0]!)) if (name.startsWith(`${id}-`)) tryIp('netns', 'del', name);
  tryIp('link', 'del', BRIDGE);
}

function tryIp(...args: string[]): void {
  try {
    ip(...args);
  } catch {
    // Already gone.
  }
}
