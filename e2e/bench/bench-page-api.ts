import type { Page } from 'playwright-core';
import type { LinkRoute } from '@cubecast/peer';

/** What bench.html offers its harness (apps/web/src/bench/bench-page.ts). */
export type BenchApi = {
  ice(configuration: RTCConfiguration): void;
  routes(): Promise<Record<string, LinkRoute | null>>;
  offer(peer: string): Promise<string>;
  answer(peer: string, offer: string): Promise<string>;
  accept(peer: string, answer: string): Promise<void>;
  openLinks(): string[];
  view(index: number, count: number): void;
  publish(target: number, channel?: number): void;
  subscribe(channel?: number): void;
  reset(channel?: number): void;
  flood(bytes: number, durationMs: number, channel?: number): void;
  relay(peer: string | null): void;
  stream(bytes: number, fps: number, durationMs: number): Promise<void>;
  results(): { bytes: number; chunks: number; firstAt: number; lastAt: number; latencies: number[] };
};

/** Calls bench.html's API in a page. */
export const benchApi = (page: Pick<Page, 'evaluate'>) => ({
  call: <K extends keyof BenchApi>(name: K, ...args: Parameters<BenchApi[K]>) =>
    page.evaluate(([n, a]) => (window as unknown as { bench: Record<string, (...x: unknown[]) => unknown> }).bench[n as string]!(...(a as unknown[])), [name, args] as const) as Promise<Awaited<ReturnType<BenchApi[K]>>>,
});
