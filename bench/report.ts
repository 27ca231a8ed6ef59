// `--json FILE`: the whole bench run as one JSON document for machines — every measured sample, the median,
// min and max of each cell, the ratios, the verdict on issue 9's goals, the machine facts and every failure.
// The field names are stable (bench/README.md "JSON report" documents them); `version` changes when one is
// renamed or its meaning changes, not when a field is added. Sections that did not run are null.

import {
  TCP_METRICS,
  TCP_METRIC_LABEL,
  TCP_TARGETS,
  metricUnit,
  type TcpMetric,
  type TcpTarget,
} from "./cells.js";
import type { RunOptions, Section } from "./options.js";
import type { IcmpRates, EchoSample } from "./icmpRate.js";
import type { TcpRates, TcpSample } from "./tcpRate.js";
import type { BoardMemory } from "./boardMemory.js";
import { MP_CASES, isBulkMode, type MpRates, type MpSample } from "./mpRate.js";
import type { TapRates } from "./tapRate.js";
import { goalResults, rowRatios, type GoalResult } from "./verdict.js";
import { summarize } from "./util.js";

export const REPORT_FORMAT = "walnut-bench";
export const REPORT_VERSION = 1;

/** Median, min and max of a cell's `rate`s (null without samples), and the samples themselves. */
export interface Cell<S> {
  unit: string;
  n: number;
  median: number | null;
  min: number | null;
  max: number | null;
  samples: S[];
}

export interface Machine {
  node: string;
  kernel: string;
  vcpus: number;
  cpuModel: string;
  /** 1, 5 and 15 minute load averages when the bench started. */
  loadAverage: [number, number, number];
  /** "polling": /dev/cpu_dma_latency held at 0; "halting": --halting-idle; "halting-unheld": could not open it. */
  idle: "polling" | "halting" | "halting-unheld";
}

export interface Failure {
  section: Section | "bench";
  target: string | null;
  metric: string | null;
  /** 0: the warm-up; null: not a repeated run. */
  repeat: number | null;
  reason: string;
}

export interface BenchReport {
  format: typeof REPORT_FORMAT;
  version: typeof REPORT_VERSION;
  startedAt: string;
  /** Wall time of the whole run, seconds. */
  elapsedSeconds: number;
  exitCode: number;
  machine: Machine;
  options: {
    repeats: number;
    seconds: number;
    window: number;
    quick: boolean;
    offload: boolean;
    sections: Section[];
    tcpTargets: TcpTarget[];
    tcpMetrics: TcpMetric[];
  };
  icmp: null | {
    rows: { mode: "sequential" | "pipelined"; inFlight: number; board: Cell<EchoSample>; kernel: Cell<EchoSample>; boardOverKernel: number | null }[];
  };
  tcp: null | {
    rows: {
      metric: TcpMetric;
      label: string;
      cells: Record<TcpTarget, Cell<TcpSample> | null>;
      boardOverKernel: number | null;
      boardOverLwip: number | null;
    }[];
    goals: GoalResult[];
    /** Every goal measured and met; null when none was measured. */
    allGoalsMet: boolean | null;
    boardTcpStats: Record<string, number>;
    boardUdpStats: Record<string, number>;
    timeWaitBuckets: number;
    /** The board's RSS per idle connection (bench/boardMemory.ts); null when not measured. */
    boardMemory: BoardMemory | null;
    /** Why a requested target was not measured, one line each. */
    notes: string[];
  };
  micropython: null | {
    rows: { name: string; unit: string; script: Cell<MpSample>; builtin: Cell<MpSample>; cpython: Cell<MpSample>; scriptOverBuiltin: number | null }[];
  };
  tap: null | {
    rows: { direction: "read" | "write"; unit: "frames/s"; addon: Cell<number>; c: Cell<number>; addonOverC: number | null }[];
    /** Each run's figures as tapRate.ts reports them (the readers' CPU share included). */
    runs: TapRates[];
  };
  failures: Failure[];
}

function cell<S>(unit: string, samples: readonly S[], rate: (s: S) => number): Cell<S> {
  const s = summarize(samples.map(rate));
  const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);
  return { unit, n: samples.length, median: finite(s.median), min: finite(s.min), max: finite(s.max), samples: [...samples] };
}

const ratioOf = (a: number | null, b: number | null): number | null => (a === null || b === null || b === 0 ? null : a / b);

export interface ReportInput {
  startedAt: Date;
  elapsedSeconds: number;
  exitCode: number;
  machine: Machine;
  options: RunOptions;
  icmp: IcmpRates | null;
  tcp: TcpRates | null;
  micropython: MpRates | null;
  tap: readonly TapRates[] | null;
  /** Set-up or section errors that ended the run early (the sections' own failures are taken from them). */
  errors: readonly Failure[];
}

export function buildReport(r: ReportInput): BenchReport {
  const o = r.options;
  const failures: Failure[] = [];
  if (r.tcp !== null) {
    for (const f of r.tcp.failures) {
      failures.push({ section: f.metric === "udpEcho" ? "udp" : "tcp", target: f.target, metric: f.metric, repeat: f.repeat, reason: f.reason });
    }
  }
  if (r.micropython !== null) {
    for (const f of r.micropython.failures) failures.push({ section: "micropython", target: f.target, metric: f.name, repeat: null, reason: f.reason });
  }
  failures.push(...r.errors);
  return {
    format: REPORT_FORMAT,
    version: REPORT_VERSION,
    startedAt: r.startedAt.toISOString(),
    elapsedSeconds: r.elapsedSeconds,
    exitCode: r.exitCode,
    machine: r.machine,
    options: {
      repeats: o.repeats,
      seconds: o.seconds,
      window: o.window,
      quick: o.isQuick,
      offload: o.offload,
      sections: [...o.sections],
      tcpTargets: [...o.tcpTargets],
      tcpMetrics: [...o.tcpMetrics],
    },
    icmp: r.icmp === null ? null : icmpSection(r.icmp, o.window),
    tcp: r.tcp === null ? null : tcpSection(r.tcp),
    micropython: r.micropython === null ? null : mpSection(r.micropython),
    tap: r.tap === null ? null : tapSection(r.tap),
    failures,
  };
}

function icmpSection(rates: IcmpRates, window: number): NonNullable<BenchReport["icmp"]> {
  return {
    rows: (["sequential", "pipelined"] as const).map((mode) => {
      const board = cell("replies/s", rates.board[mode], (s) => s.repliesPerSec);
      const kernel = cell("replies/s", rates.kernel[mode], (s) => s.repliesPerSec);
      return { mode, inFlight: mode === "sequential" ? 1 : window, board, kernel, boardOverKernel: ratioOf(board.median, kernel.median) };
    }),
  };
}

function tcpSection(rates: TcpRates): NonNullable<BenchReport["tcp"]> {
  const ratios = rowRatios(rates.samples);
  const goals = goalResults(rates.samples);
  const judged = goals.filter((g) => g.met !== null);
  return {
    rows: TCP_METRICS.map((metric) => {
      const cells = Object.fromEntries(
        TCP_TARGETS.map((t) => [t, rates.measured[t].includes(metric) ? cell(metricUnit(metric), rates.samples[t][metric], (s) => s.rate) : null]),
      ) as Record<TcpTarget, Cell<TcpSample> | null>;
      const row = ratios.find((x) => x.metric === metric);
      return { metric, label: TCP_METRIC_LABEL[metric], cells, boardOverKernel: row?.boardOverKernel ?? null, boardOverLwip: row?.boardOverLwip ?? null };
    }),
    goals,
    allGoalsMet: judged.length === 0 ? null : judged.length === goals.length && judged.every((g) => g.met === true),
    boardTcpStats: { ...rates.boardTcpStats },
    boardUdpStats: { ...rates.boardUdpStats },
    timeWaitBuckets: rates.timeWaitBuckets,
    boardMemory: rates.boardMemory === null ? null : { ...rates.boardMemory },
    notes: [...rates.notes],
  };
}

function mpSection(rates: MpRates): NonNullable<BenchReport["micropython"]> {
  return {
    rows: Object.entries(rates.samples).map(([name, row]) => {
      const c = MP_CASES.find((x) => x.name === name);
      const unit = c !== undefined && isBulkMode(c) ? "bit/s" : "ops/s";
      const script = cell(unit, row.script, (s) => s.rate);
      const builtin = cell(unit, row.builtin, (s) => s.rate);
      const cpython = cell(unit, row.cpython, (s) => s.rate);
      return { name, unit, script, builtin, cpython, scriptOverBuiltin: ratioOf(script.median, builtin.median) };
    }),
  };
}

function tapSection(runs: readonly TapRates[]): NonNullable<BenchReport["tap"]> {
  const row = (direction: "read" | "write", addonOf: (t: TapRates) => number, cOf: (t: TapRates) => number): NonNullable<BenchReport["tap"]>["rows"][number] => {
    const addon = cell("frames/s", runs.map(addonOf), (x) => x);
    const c = cell("frames/s", runs.map(cOf), (x) => x);
    return { direction, unit: "frames/s", addon, c, addonOverC: ratioOf(addon.median, c.median) };
  };
  return {
    rows: [row("read", (t) => t.addonReadFps, (t) => t.cReadFps), row("write", (t) => t.addonWriteFps, (t) => t.cWriteFps)],
    runs: [...runs],
  };
}
