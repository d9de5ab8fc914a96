import { Flags } from '@cubecast/protocol';
import { openChain } from './bench/bench-page-api.js';
import { expect, test } from './fixtures.js';

const STRIPES = 4;
const CHUNK_BYTES = 12 * 1024;
const FPS = 30;

/**
 * A link over four peer connections (LinkStripes in the engine worker), driven through the
 * benchmark page, which makes the stripes (bench.html?stripes=4).
 */
test('a link striped over four connections carries timely data on every stripe, and keeps carrying it when one fails', async ({ browser, server }) => {
  const line = await openChain(browser, server.url, 2, false, 1000, STRIPES);
  try {
    const { first, last } = line;
    const stream = async () => {
      await last.call('reset', 1);
      const sent = await first.call('stream', CHUNK_BYTES, FPS, 2000, Flags.Timely, 60);
      await expect.poll(async () => (await last.call('results')).chunks, { timeout: 5000 }).toBe(sent);
    };
    const before = await first.call('stripeBytes', 't1');
    expect(before).toHaveLength(STRIPES);
    await stream();
    const after = await first.call('stripeBytes', 't1');
    // 60 chunks of 12 KB in turn over four associations: each carried a share, well past its pings.
    const carried = after.map((bytes, stripe) => bytes - before[stripe]!);
    const total = carried.reduce((a, b) => a + b, 0);
    console.log('bytes per stripe:', JSON.stringify(carried));
    for (const [stripe, bytes] of carried.entries()) expect(bytes, `stripe ${stripe}`).toBeGreaterThan(total / (2 * STRIPES));

    // A later stripe that fails is dropped; the link stays open and the others carry it all.
    await first.call('dropStripe', 't1', 2);
    await stream();
    expect((await first.call('links')).map((link) => link.state)).toEqual(['open']);
  } finally {
    await line.close();
  }
});
