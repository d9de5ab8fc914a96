import type { ChannelInfo, SpaSpec } from '@cubecast/protocol';

/** What a subscriber can ask for, per kind of channel. `custom` takes a module the person loads. */
export interface PipelineChoice {
  readonly id: string;
  readonly label: string;
  readonly pipeline: SpaSpec[];
}

const SMOOTHED: SpaSpec = { spa: 'sensor', config: { mode: 'average', window: 8 } };
const ABOVE_50: SpaSpec = { spa: 'sensor', config: { mode: 'threshold', threshold: 50 } };

export const PIPELINE_CHOICES: Record<ChannelInfo['kind'], PipelineChoice[]> = {
  video: [
    { id: 'full', label: 'Full stream', pipeline: [] },
    { id: 'low-fps', label: 'Low frame rate (1/4: base layer)', pipeline: [{ spa: 'thin', config: { maxLayer: 0 } }] },
    { id: 'gray-small', label: 'Grayscale, half size', pipeline: [{ spa: 'pixels', config: { grayscale: true, halve: true } }] },
  ],
  sensor: [
    { id: 'full', label: 'Every reading', pipeline: [] },
    { id: 'smoothed', label: 'Moving average (8)', pipeline: [SMOOTHED] },
    { id: 'above-50', label: 'Readings of 50 or more', pipeline: [ABOVE_50] },
    { id: 'smoothed-above-50', label: 'Moving average (8), then 50 or more', pipeline: [SMOOTHED, ABOVE_50] },
    // Each path's stages see every other chunk: the average is over that path's readings.
    { id: 'split-smoothed-above-50', label: 'Over two paths, each: moving average (8), then 50 or more', pipeline: [{ spa: 'split' }, SMOOTHED, ABOVE_50] },
  ],
  coded: [{ id: 'full', label: 'Coded chunks', pipeline: [] }],
};

export const CUSTOM_CHOICE = 'custom';

/** Custom SPAs are named by a 64-digit hash: people see its first 8 digits. */
export function readableSpaText(text: string): string {
  return text.replace(/custom:([0-9a-f]{8})[0-9a-f]{56}/g, 'custom SPA $1…');
}

/** A pipeline as people read it: `thin > pixels`, custom SPAs shortened. */
export function pipelineLabel(pipeline: readonly string[]): string {
  return readableSpaText(pipeline.join(' > '));
}
