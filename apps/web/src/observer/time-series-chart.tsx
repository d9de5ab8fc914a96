import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartLine {
  readonly label: string;
  readonly values: readonly (number | null)[];
  readonly color: string;
  /** Drawn dashed: a bound or a target rather than a measurement. */
  readonly dashed?: boolean;
  /** Which y axis: 0 (left) or 1 (right, for a second unit). */
  readonly axis?: 0 | 1;
}

const fromZero = (_plot: uPlot, _min: number | null, max: number | null): uPlot.Range.MinMax => [0, max === null || max <= 0 ? 1 : max * 1.15];
const clockLabel = (seconds: number) => new Date(seconds * 1000).toLocaleTimeString(undefined, { hour12: false });

/**
 * A time series plot (uPlot: canvas, small, fast enough to redraw a few charts every second
 * with hundreds of points each). `times` are seconds; every line has a value per time.
 */
export function TimeSeriesChart(props: { title: string; times: readonly number[]; lines: readonly ChartLine[]; units: readonly [string, string?]; height?: number; testId?: string; compact?: boolean }) {
  const { title, times, lines, units, height = 150, testId, compact = false } = props;
  const container = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | undefined>(undefined);
  const shape = lines.map((l) => `${l.label}/${l.axis ?? 0}`).join('|');

  useEffect(() => {
    const element = container.current!;
    const width = Math.max(120, element.clientWidth);
    const secondUnit = units[1];
    const options: uPlot.Options = {
      title,
      width,
      height,
      // A compact chart (the totals) has its value in its title and no room for time labels or a legend.
      legend: { show: !compact, live: false },
      cursor: { drag: { x: false, y: false } },
      // Counts and latencies read against zero: an auto range would make 9 hosts look like a flat line at the bottom.
      scales: { x: { time: true }, y: { range: fromZero }, ...(secondUnit !== undefined && { right: { range: fromZero } }) },
      axes: [
        compact ? { show: false } : { values: (_plot: uPlot, ticks: number[]) => ticks.map(clockLabel) },
        { label: units[0], size: 56 },
        ...(secondUnit !== undefined ? [{ label: secondUnit, scale: 'right', side: 1 as const, grid: { show: false }, size: 56 }] : []),
      ],
      series: [
        {},
        ...lines.map((line) => ({
          label: line.label,
          stroke: line.color,
          width: line.dashed ? 1 : 1.5,
          ...(line.dashed && { dash: [6, 4] }),
          ...(line.axis === 1 && { scale: 'right' }),
          spanGaps: false,
        })),
      ],
    };
    const plot = new uPlot(options, [[], ...lines.map(() => [])], element);
    chart.current = plot;
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(120, element.clientWidth), height }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
      chart.current = undefined;
    };
    // A chart is rebuilt only when its lines change (not their values): uPlot keeps its canvas.
  }, [title, shape, height, compact, units[0], units[1]]);

  useEffect(() => {
    chart.current?.setData([[...times], ...lines.map((l) => [...l.values])] as uPlot.AlignedData);
  }, [times, lines]);

  return <div ref={container} className="chart" data-testid={testId} />;
}
