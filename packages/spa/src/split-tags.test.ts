import { describe, expect, it } from 'vitest';
import { SplitTwiceError, stagesCarryingTags } from './split-tags.js';

describe('stagesCarryingTags', () => {
  it('carries tags around the stages between split and merge, and from the start on split\'s records', () => {
    expect(stagesCarryingTags(['thin', 'split', 'sensor', 'forward', 'merge', 'thin'])).toEqual([false, false, true, true, false, false]);
    expect(stagesCarryingTags(['sensor', 'merge', 'forward'], true)).toEqual([true, false, false]);
    expect(stagesCarryingTags(['split', 'sensor'])).toEqual([false, true]);
    expect(stagesCarryingTags([], true)).toEqual([]);
  });

  it('refuses to split a stream already split', () => {
    expect(() => stagesCarryingTags(['split', 'thin', 'split'])).toThrow(SplitTwiceError);
    expect(() => stagesCarryingTags(['split'], true)).toThrow(/cannot be split again/);
    expect(stagesCarryingTags(['split', 'merge', 'split'])).toEqual([false, false, false]);
  });
});
