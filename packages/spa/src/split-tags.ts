/** Split's tag before each record's payload: [u8 path, 3 x u8 0, u32 seq (big-endian)]. */
export const SPLIT_TAG_BYTES = 8;

/** A pipeline that would split a stream already split: merge could not put it back together. */
export class SplitTwiceError extends Error {
  override readonly name = 'SplitTwiceError';
}

/**
 * Which stages of a pipeline run on split's records with the tag carried around them: those
 * past a `split` (all of them when the input is split's records already) up to a `merge`.
 * Such a stage sees the payload only, as it would unsplit; its output gets the tag back, and a
 * chunk it drops leaves its tag alone (an empty record), so that merge passes that place in
 * the order at once instead of waiting for a chunk that will not come.
 */
export function stagesCarryingTags(names: readonly string[], inputIsSplit = false): boolean[] {
  let carrying = inputIsSplit;
  return names.map((name) => {
    if (name === 'split' && carrying) throw new SplitTwiceError('a split stream cannot be split again before merge');
    if (name !== 'split' && name !== 'merge') return carrying;
    carrying = name === 'split';
    return false;
  });
}
