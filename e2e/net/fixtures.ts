import { test as base, expect } from '@playwright/test';
import { startNatTestbed, type IceMode, type NatKind, type NatTestbed } from '@cubecast/scenario';

export type { IceMode, NatTestbed };

/** `test.use({ homes: ['eim', 'symmetric'], ice: 'none' })` picks a test's network. */
export const test = base.extend<{ homes: NatKind[]; ice: IceMode; nat: NatTestbed }>({
  homes: [['eim', 'eim'], { option: true }],
  ice: ['stun-turn', { option: true }],
  nat: async ({ homes, ice }, use) => {
    const testbed = await startNatTestbed(homes, ice);
    try {
      await use(testbed);
    } finally {
      await testbed.close();
    }
    expect(testbed.errors, 'no page errors').toEqual([]);
  },
});

export { expect };
