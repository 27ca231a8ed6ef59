// The verdict after the TCP/UDP table: per row, the board's median over Linux's (offloads on) and over lwIP's,
// and whether each of issue 9's goals (bench/cells.ts GOALS) is met. The same results go into the JSON
// report (bench/report.ts), so the printed lines and the document cannot disagree.

import { GOALS, TCP_METRICS, TCP_METRIC_LABEL, type Goal, type TcpMetric, type TcpTarget } from "./cells.js";
import { formatRatio, summarize } from "./util.js";

/** The medians the verdict needs: rate samples per (target, metric). */
export type RateSamples = Record<TcpTarget, Record<TcpMetric, readonly { rate: number }[]>>;

export interface GoalResult extends Goal {
  /** board median / `against` median; null when either was not measured. */
  ratio: number | null;
  /** null: not measured. */
  met: boolean | null;
}

export interface RowRatios {
  metric: TcpMetric;
  boardOverKernel: number | null;
  boardOverLwip: number | null;
}

function median(samples: readonly { rate: number }[]): number | null {
  return samples.length === 0 ? null : summarize(samples.map((s) => s.rate)).median;
}

function ratio(a: number | null, b: number | null): number | null {
  return a === null || b === null || b === 0 ? null : a / b;
}

export function rowRatios(samples: RateSamples): RowRatios[] {
  return TCP_METRICS.map((metric) => {
    const board = median(samples.board[metric]);
    return { metric, boardOverKernel: ratio(board, median(samples.kernel[metric])), boardOverLwip: ratio(board, median(samples.lwip[metric])) };
  });
}

export function goalResults(samples: RateSamples): GoalResult[] {
  return GOALS.map((g) => {
    const r = ratio(median(samples.board[g.metric]), median(samples[g.against][g.metric]));
    return { ...g, ratio: r, met: r === null ? null : r >= g.atLeast };
  });
}

const AGAINST_LABEL = { kernel: "board/Linux", lwip: "board/lwIP" } as const;

/**
 * "verdict: kernel→board bulk: board/Linux 0.40 (goal ≥ 1.0: NOT met), board/lwIP 2.40 (goal ≥ 5: NOT met)",
 * one line per row that was measured, then the count of goals met.
 */
export function verdictLines(samples: RateSamples): string[] {
  const goals = goalResults(samples);
  const lines: string[] = [];
  for (const row of rowRatios(samples)) {
    const parts: string[] = [];
    for (const against of ["kernel", "lwip"] as const) {
      const value = against === "kernel" ? row.boardOverKernel : row.boardOverLwip;
      const goal = goals.find((g) => g.metric === row.metric && g.against === against);
      const shown = value === null ? "—" : formatRatio(value, 1);
      const judged = goal === undefined ? "" : ` (goal ≥ ${goal.atLeast.toFixed(1)}: ${goal.met === null ? "not measured" : goal.met ? "met" : "NOT met"})`;
      parts.push(`${AGAINST_LABEL[against]} ${shown}${judged}`);
    }
    const measured = samples.board[row.metric].length > 0 || samples.kernel[row.metric].length > 0 || samples.lwip[row.metric].length > 0;
    if (measured) lines.push(`verdict: ${TCP_METRIC_LABEL[row.metric]}: ${parts.join(", ")}`);
  }
  const judged = goals.filter((g) => g.met !== null);
  const met = judged.filter((g) => g.met === true).length;
  const unmeasured = goals.length - judged.length;
  lines.push(
    `verdict: ${met} of ${judged.length} measured goals met${unmeasured > 0 ? ` (${unmeasured} not measured)` : ""}` +
      (judged.length > 0 && met === goals.length ? ": every goal of issue 9 is met" : ""),
  );
  return lines;
}
