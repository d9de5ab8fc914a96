/**
 * Line charts as standalone SVG text: axes with ticks and labels, a title, a legend. Enough
 * for the experiments' figures, with no dependency and nothing to render but a string.
 */

export interface ChartSeries {
  readonly name: string;
  readonly points: readonly (readonly [x: number, y: number])[];
  readonly color?: string;
  /** How the line is drawn; solid unless said. */
  readonly dash?: 'solid' | 'dashed' | 'dotted';
  /** Draw a dot at each point (for sparse series, such as one value per group size). */
  readonly markers?: boolean;
}

export interface LineChart {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly ChartSeries[];
  /** `log2` spaces powers of two evenly (group sizes, host counts). Default linear. */
  readonly xScale?: 'linear' | 'log2';
  readonly xRange?: readonly [number, number];
  readonly yRange?: readonly [number, number];
}

export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

const DASH_ARRAYS = { dashed: '7 4', dotted: '2 3' } as const;

const WIDTH = 900;
const HEIGHT = 480;
const PLOT = { left: 80, top: 50, right: 660, bottom: 410 };

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Round tick steps (1, 2 or 5 times a power of ten) giving about `count` ticks over [min, max]. */
export function niceTicks(min: number, max: number, count = 6): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10]
    .map((m) => m * magnitude)
    .reduce((best, s) => (Math.abs(Math.log(s / raw)) < Math.abs(Math.log(best / raw)) ? s : best));
  const ticks: number[] = [];
  for (let t = Math.ceil(min / step) * step; t <= max + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

export function formatTick(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e6 && value % 1e6 === 0) return `${value / 1e6}M`;
  if (abs >= 1e4 && value % 1024 === 0) return `${value / 1024}k`;
  if (abs >= 1e3 && value % 1e3 === 0) return `${value / 1e3}k`;
  return String(Number(value.toPrecision(6)));
}

function extent(values: number[], fallback: readonly [number, number]): [number, number] {
  if (values.length === 0) return [...fallback];
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return min === max ? [min - 1, max + 1] : [min, max];
}

export function lineChart(chart: LineChart): string {
  const log = chart.xScale === 'log2';
  const xs = chart.series.flatMap((s) => s.points.map(([x]) => x));
  const ys = chart.series.flatMap((s) => s.points.map(([, y]) => y));
  const [xMin, xMax] = chart.xRange ?? extent(xs, [1, 2]);
  // A log axis spans whole powers of two, so the first and last points sit on labelled ticks.
  const [x0, x1] = log ? [2 ** Math.floor(Math.log2(xMin)), 2 ** Math.ceil(Math.log2(xMax))] : [xMin, xMax];
  const [y0, yTop] = chart.yRange ?? extent([0, ...ys], [0, 1]);
  let y1 = yTop;
  const yTicks = niceTicks(y0, y1);
  // An axis chosen from the data ends on a tick, so the top line has a value beside it.
  if (!chart.yRange && yTicks.length > 1 && yTicks.at(-1)! < y1) {
    y1 = yTicks.at(-1)! + (yTicks[1]! - yTicks[0]!);
    yTicks.push(Number(y1.toPrecision(12)));
  }
  const tx = log ? Math.log2 : (x: number) => x;
  const sx = (x: number) => PLOT.left + ((tx(x) - tx(x0)) / (tx(x1) - tx(x0))) * (PLOT.right - PLOT.left);
  const sy = (y: number) => PLOT.bottom - ((y - y0) / (y1 - y0)) * (PLOT.bottom - PLOT.top);
  const xTicks = log ? powersOfTwo(x0, x1) : niceTicks(x0, x1);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    `<text x="${(PLOT.left + PLOT.right) / 2}" y="28" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(chart.title)}</text>`,
  ];
  for (const t of yTicks) {
    const y = sy(t).toFixed(1);
    out.push(`<line x1="${PLOT.left}" x2="${PLOT.right}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${PLOT.left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${formatTick(t)}</text>`);
  }
  for (const t of xTicks) {
    const x = sx(t).toFixed(1);
    out.push(`<line x1="${x}" x2="${x}" y1="${PLOT.top}" y2="${PLOT.bottom}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${x}" y="${PLOT.bottom + 18}" text-anchor="middle">${formatTick(t)}</text>`);
  }
  out.push(`<rect x="${PLOT.left}" y="${PLOT.top}" width="${PLOT.right - PLOT.left}" height="${PLOT.bottom - PLOT.top}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${(PLOT.left + PLOT.right) / 2}" y="${HEIGHT - 22}" text-anchor="middle">${escapeXml(chart.xLabel)}</text>`);
  out.push(
    `<text transform="translate(22 ${(PLOT.top + PLOT.bottom) / 2}) rotate(-90)" text-anchor="middle">${escapeXml(chart.yLabel)}</text>`,
  );
  out.push(`<clipPath id="plot"><rect x="${PLOT.left}" y="${PLOT.top}" width="${PLOT.right - PLOT.left}" height="${PLOT.bottom - PLOT.top}"/></clipPath>`);
  chart.series.forEach((series, i) => {
    const color = series.color ?? PALETTE[i % PALETTE.length]!;
    const d = series.points.map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join('');
    const dash = series.dash === undefined || series.dash === 'solid' ? '' : ` stroke-dasharray="${DASH_ARRAYS[series.dash]}"`;
    out.push(`<path clip-path="url(#plot)" d="${d}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`);
    if (series.markers) {
      for (const [x, y] of series.points) out.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3.5" fill="${color}"/>`);
    }
    const ly = PLOT.top + 10 + i * 22;
    out.push(`<line x1="${PLOT.right + 20}" x2="${PLOT.right + 52}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"${dash}/>`);
    if (series.markers) out.push(`<circle cx="${PLOT.right + 36}" cy="${ly}" r="3.5" fill="${color}"/>`);
    out.push(`<text x="${PLOT.right + 60}" y="${ly}" dominant-baseline="middle">${escapeXml(series.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function powersOfTwo(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let p = 2 ** Math.ceil(Math.log2(min)); p <= max * (1 + 1e-9); p *= 2) ticks.push(p);
  return ticks;
}
