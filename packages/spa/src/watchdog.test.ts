import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readWatchdogMessage, watchdogMessage } from './watchdog.js';

describe('watchdog messages', () => {
  it('read back the stop they say', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z][a-z0-9-]{0,31}$|^custom:[0-9a-f]{64}$/), fc.nat(10 ** 9 - 1), fc.nat(10 ** 9 - 1), (stage, ranMs, budgetMs) => {
        expect(readWatchdogMessage(watchdogMessage({ stage, ranMs, budgetMs }))).toEqual({ stage, ranMs, budgetMs });
      }),
    );
  });

  it('read nothing from other text, or from a stop with words added', () => {
    expect(readWatchdogMessage('its stage crashed: unreachable')).toBeUndefined();
    expect(readWatchdogMessage(`${watchdogMessage({ stage: 'thin', ranMs: 150, budgetMs: 100 })}. CLICK HERE`)).toBeUndefined();
    expect(readWatchdogMessage('thin ran 1e9 ms on one chunk (budget 100 ms) and was stopped')).toBeUndefined();
  });
});
