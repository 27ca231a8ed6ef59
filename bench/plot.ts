// `--plot FILE.svg`: throughput over time of each bulk run (kernel→board, board→kernel), one chart each, one
// line per target (board, kernel, kernelPerFrame, lwip). Each line is the target's median run — the repeat
// whose rate is nearest the cell's median — drawn from tcpclient's 100 ms "t=… bytes=…" points (bench/tcpRate.ts).
// The SVG comes from bench/svg.ts.

import { TCP_BULK_METRICS, TCP_METRIC_LABEL, TCP_TARGETS, TCP_TARGET_LABEL, type TcpMetric, type TcpTarget } from "./cells.js";
import { lineChartsSvg, type Chart, type Series } from "./svg.js";
import { summarize } from "./util.js";
import type { IntervalPoint, TcpSample } from "./tcpRate.js";

export const TARGET_COLOR: Record<TcpTarget, string> = {
  board: "#d62728",
  kernel: "#1f77b4",
  kernelPerFrame: "#7fb2e5",
  lwip: "#2ca02c",
};

/** The repeat whose rate is nearest the median of all (the lower one on a tie); null when none. */
export function medianRun<T extends { rate: number }>(samples: readonly T[]): T | null {
  if (samples.length === 0) return null;
  const m = summarize(samples.map((s) => s.rate)).median;
  let best = samples[0] as T;
  for (const s of samples) if (Math.abs(s.rate - m) < Math.abs(best.rate - m)) best = s;
  return best;
}

/** Gbit/s over each interval between consecutive points, placed at the interval's end; starts at (0, 0). */
export function throughputPoints(intervals: readonly IntervalPoint[]): [number, number][] {
  const points: [number, number][] = [];
  let t0 = 0;
  let b0 = 0;
  for (const p of intervals) {
    const dt = p.t - t0;
    if (dt <= 0) continue;
    points.push([p.t, ((p.bytes - b0) * 8) / dt / 1e9]);
    t0 = p.t;
    b0 = p.bytes;
  }
  return points;
}

export type BulkSamples = Record<TcpTarget, Partial<Record<TcpMetric, readonly TcpSample[]>>>;

/** One chart per bulk row that has a run with points (a row left out by --metrics gets none). */
export function bulkCharts(samples: BulkSamples, offload: boolean): Chart[] {
  const charts = TCP_BULK_METRICS.map((metric) => {
    const series: Series[] = [];
    for (const target of TCP_TARGETS) {
      const run = medianRun(samples[target][metric] ?? []);
      if (run === null || run.intervals.length === 0) continue;
      const label = target === "board" ? `board (walnut${offload ? "" : ", --no-offload"})` : TCP_TARGET_LABEL[target];
      series.push({ name: target, label, color: TARGET_COLOR[target], points: throughputPoints(run.intervals) });
    }
    return { title: `TCP ${TCP_METRIC_LABEL[metric]}: throughput over time, median run per target`, xLabel: "time (s)", yLabel: "throughput (Gbit/s)", series };
  });
  return charts.filter((c) => c.series.length > 0);
}

export function bulkPlotSvg(samples: BulkSamples, offload: boolean, note: string): string {
  return lineChartsSvg(bulkCharts(samples, offload), note);
}
