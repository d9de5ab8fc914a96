import { describe, expect, it } from 'vitest';
import { formatTick, lineChart, niceTicks } from './svg-chart.js';

describe('niceTicks', () => {
  it('steps by 1, 2 or 5 times a power of ten and stays inside the range', () => {
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(1, 63)).toEqual([10, 20, 30, 40, 50, 60]);
    expect(niceTicks(0, 6561)).toEqual([0, 1000, 2000, 3000, 4000, 5000, 6000]);
  });
});

describe('formatTick', () => {
  it('shortens round thousands and powers of two', () => {
    expect([formatTick(0.2), formatTick(2000), formatTick(16384), formatTick(512)]).toEqual(['0.2', '2k', '16k', '512']);
  });
});

describe('lineChart', () => {
  const svg = lineChart({
    title: 'A & B <test>',
    xLabel: 'group size',
    yLabel: 'ratio',
    xScale: 'log2',
    series: [
      { name: 'first', points: [[32, 0.5], [4095, 0.7]], markers: true },
      { name: 'second', points: [[32, 0.1], [4095, 0.2]], dash: 'dashed' },
      { name: 'third', points: [[32, 0.3], [4095, 0.4]], dash: 'dotted' },
    ],
  });

  it('escapes text and labels its axes and series', () => {
    expect(svg).toContain('A &#38; B &#60;test&#62;');
    for (const text of ['>group size<', '>ratio<', '>first<', '>second<']) expect(svg).toContain(text);
  });

  it('draws each series its own way, in the plot and in the legend', () => {
    expect(svg.match(/stroke-dasharray="7 4"/g)).toHaveLength(2);
    expect(svg.match(/stroke-dasharray="2 3"/g)).toHaveLength(2);
    expect(svg.match(/stroke-dasharray/g)).toHaveLength(4);
  });

  it('widens a log axis to whole powers of two, so both ends are labelled', () => {
    expect(svg).toContain('>32<');
    expect(svg).toContain('>4096<');
  });
});
