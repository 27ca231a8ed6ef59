// The `--json` report (bench/report.ts) and the verdict (bench/verdict.ts) from made-up measurements: the
// document's stable field names, every sample kept, median/min/max per cell, the ratios, issue 9's goals
// judged (met, NOT met, not measured), failures from every section, sections that did not run as null; and
// the printed verdict lines agreeing with it. Also the progress line (bench/progress.ts): silent when stderr
// is not a terminal.

import { describe, expect, it } from "vitest";
import { buildReport, REPORT_FORMAT, REPORT_VERSION, type Machine } from "../../bench/report.js";
import { goalResults, verdictLines } from "../../bench/verdict.js";
import { parseOptions, type RunOptions } from "../../bench/options.js";
import { TCP_METRICS, TCP_TARGETS, type TcpMetric, type TcpTarget } from "../../bench/cells.js";
import type { TcpRates, TcpSample } from "../../bench/tcpRate.js";
import type { IcmpRates } from "../../bench/icmpRate.js";
import type { TapRates } from "../../bench/tapRate.js";
import { ProgressLine } from "../../bench/progress.js";

function options(argv: readonly string[] = []): RunOptions {
  const o = parseOptions(argv);
  if (o === "help") throw new Error("help");
  return o;
}

const machine: Machine = { node: "v20.0.0", kernel: "6.1.0-test", vcpus: 2, cpuModel: "Test CPU", loadAverage: [0.5, 0.4, 0.3], idle: "polling" };

function tcpSample(rate: number): TcpSample {
  return { ops: 100, bytes: 1_000_000, seconds: 2, rate, clientCpuSeconds: 0.5, serverCpuSeconds: 1, intervals: [] };
}

/** Board at `board` × each peer's rate; `rates` gives the peers' per-metric samples. */
function tcpRates(): TcpRates {
  const empty = (): Record<TcpMetric, TcpSample[]> => ({ toBoard: [], fromBoard: [], echo: [], connect: [], udpEcho: [] });
  const samples = Object.fromEntries(TCP_TARGETS.map((t) => [t, empty()])) as Record<TcpTarget, Record<TcpMetric, TcpSample[]>>;
  // toBoard: board 12 Gbit/s (median of 10, 12, 14) vs Linux 10 → 1.2 (met); vs lwIP 2 → 6 (met).
  samples.board.toBoard = [tcpSample(14e9), tcpSample(10e9), tcpSample(12e9)];
  samples.kernel.toBoard = [tcpSample(10e9)];
  samples.lwip.toBoard = [tcpSample(2e9)];
  // fromBoard: board 3 vs Linux 10 → 0.3 (NOT met); vs lwIP 2 → 1.5 (NOT met).
  samples.board.fromBoard = [tcpSample(3e9)];
  samples.kernel.fromBoard = [tcpSample(10e9)];
  samples.lwip.fromBoard = [tcpSample(2e9)];
  // echo: board 50 k vs Linux 50 k → 1.0 (met: ≥ 1.0).
  samples.board.echo = [tcpSample(50e3)];
  samples.kernel.echo = [tcpSample(50e3)];
  // connect: the Linux runs all failed → not measured. udpEcho: board 40 k vs Linux 50 k → 0.8.
  samples.board.connect = [tcpSample(17e3)];
  samples.board.udpEcho = [tcpSample(40e3)];
  samples.kernel.udpEcho = [tcpSample(50e3)];
  return {
    samples,
    failures: [
      { target: "kernel", metric: "connect", repeat: 1, reason: "client did not finish in time" },
      { target: "lwip", metric: "udpEcho", repeat: 0, reason: "error udp echo: more than 10 datagrams lost" },
    ],
    measured: { board: TCP_METRICS, kernel: TCP_METRICS, kernelPerFrame: ["toBoard", "fromBoard"], lwip: TCP_METRICS },
    boardTcpStats: { txRetransmits: 0, resetsReceived: 6 },
    boardUdpStats: { rxDatagrams: 40, txDatagrams: 40 },
    timeWaitBuckets: 1024,
    boardMemory: { connections: 1000, rssBeforeBytes: 100 << 20, rssHeldBytes: 104 << 20, rssPerConnectionBytes: 4194.304, ringStoreBytes: 0 },
    notes: ["Linux (veth, offloads off): not measured, ethtool is not installed (it turns the veth's offloads off)"],
  };
}

const icmp: IcmpRates = {
  board: { sequential: [{ transmitted: 100, received: 100, seconds: 2, repliesPerSec: 50, cpuSeconds: 1 }], pipelined: [] },
  kernel: { sequential: [{ transmitted: 200, received: 200, seconds: 2, repliesPerSec: 100, cpuSeconds: 0 }], pipelined: [] },
};

const tap: TapRates = { addonReadFps: 500e3, addonWriteFps: 400e3, cReadFps: 500e3, cWriteFps: 800e3, addonReadCpu: 0.9, cReadCpu: 0.5 };

function report(overrides: Partial<Parameters<typeof buildReport>[0]> = {}): ReturnType<typeof buildReport> {
  const built = buildReport({
    startedAt: new Date("2026-11-25T20:09:32Z"),
    elapsedSeconds: 12.5,
    exitCode: 0,
    machine,
    options: options(["--repeats", "3"]),
    icmp,
    tcp: tcpRates(),
    micropython: null,
    tap: [tap, { ...tap, addonReadFps: 600e3 }],
    errors: [],
    ...overrides,
  });
  // What --json writes: a round trip through JSON, as a consumer sees it.
  return JSON.parse(JSON.stringify(built)) as ReturnType<typeof buildReport>;
}

describe("the JSON report", () => {
  it("has the documented top-level fields, format and version", () => {
    const r = report();
    expect(Object.keys(r)).toEqual(["format", "version", "startedAt", "elapsedSeconds", "exitCode", "machine", "options", "icmp", "tcp", "micropython", "tap", "failures"]);
    expect(r.format).toBe(REPORT_FORMAT);
    expect(r.version).toBe(REPORT_VERSION);
    expect(r.startedAt).toBe("2026-11-25T20:09:32.000Z");
    expect(r.machine).toEqual(machine);
    expect(r.options).toEqual({
      repeats: 3,
      seconds: 2,
      window: 32,
      quick: false,
      offload: true,
      sections: ["icmp", "tcp", "udp", "tap", "micropython"],
      tcpTargets: [...TCP_TARGETS],
      tcpMetrics: [...TCP_METRICS],
    });
    expect(r.micropython).toBeNull();
  });

  it("keeps every TCP/UDP sample with the median, min and max of its cell, and the ratios", () => {
    const tcp = report().tcp!;
    expect(tcp.rows.map((row) => row.metric)).toEqual([...TCP_METRICS]);
    const toBoard = tcp.rows[0]!;
    expect(Object.keys(toBoard)).toEqual(["metric", "label", "cells", "boardOverKernel", "boardOverLwip"]);
    expect(toBoard.cells.board).toMatchObject({ unit: "bit/s", n: 3, median: 12e9, min: 10e9, max: 14e9 });
    expect(toBoard.cells.board!.samples.map((s) => s.rate)).toEqual([14e9, 10e9, 12e9]);
    expect(Object.keys(toBoard.cells.board!.samples[0]!)).toEqual(["ops", "bytes", "seconds", "rate", "clientCpuSeconds", "serverCpuSeconds", "intervals"]);
    expect(toBoard.boardOverKernel).toBeCloseTo(1.2, 9);
    expect(toBoard.boardOverLwip).toBeCloseTo(6, 9);
    const echo = tcp.rows.find((row) => row.metric === "echo")!;
    expect(echo.cells.board!.unit).toBe("ops/s");
    // Not measured on that target (kernelPerFrame: bulk only) → null; measured without samples → n 0, nulls.
    expect(echo.cells.kernelPerFrame).toBeNull();
    expect(echo.cells.lwip).toMatchObject({ n: 0, median: null, min: null, max: null, samples: [] });
    expect(echo.boardOverLwip).toBeNull();
    expect(tcp.boardTcpStats).toEqual({ txRetransmits: 0, resetsReceived: 6 });
    expect(tcp.boardUdpStats).toEqual({ rxDatagrams: 40, txDatagrams: 40 });
    expect(tcp.timeWaitBuckets).toBe(1024);
    expect(tcp.boardMemory).toEqual({ connections: 1000, rssBeforeBytes: 100 << 20, rssHeldBytes: 104 << 20, rssPerConnectionBytes: 4194.304, ringStoreBytes: 0 });
    expect(tcp.notes).toEqual([expect.stringContaining("ethtool")]);
  });

  it("judges issue 9's goals: met, NOT met, and not measured", () => {
    const tcp = report().tcp!;
    const judged = tcp.goals.map((g) => `${g.metric}/${g.against} ≥ ${g.atLeast}: ${String(g.met)}`);
    expect(judged).toEqual([
      "toBoard/kernel ≥ 1: true",
      "toBoard/lwip ≥ 5: true",
      "fromBoard/kernel ≥ 1: false",
      "fromBoard/lwip ≥ 5: false",
      "echo/kernel ≥ 1: true",
      "connect/kernel ≥ 1: null",
      "udpEcho/kernel ≥ 1: false",
    ]);
    expect(tcp.goals[6]!.ratio).toBeCloseTo(0.8, 9);
    expect(tcp.goals[5]!.ratio).toBeNull();
    expect(tcp.allGoalsMet).toBe(false);
  });

  it("lists every failure with its section (udp for the UDP row) and the errors that ended the run", () => {
    const r = report({ exitCode: 1, errors: [{ section: "tap", target: null, metric: null, repeat: null, reason: "tapbench: no such device" }] });
    expect(r.exitCode).toBe(1);
    expect(r.failures).toEqual([
      { section: "tcp", target: "kernel", metric: "connect", repeat: 1, reason: "client did not finish in time" },
      { section: "udp", target: "lwip", metric: "udpEcho", repeat: 0, reason: "error udp echo: more than 10 datagrams lost" },
      { section: "tap", target: null, metric: null, repeat: null, reason: "tapbench: no such device" },
    ]);
  });

  it("ICMP rows and the TAP runs carry cells and ratios too; sections that did not run are null", () => {
    const r = report();
    expect(r.icmp!.rows.map((row) => [row.mode, row.inFlight])).toEqual([["sequential", 1], ["pipelined", 32]]);
    expect(r.icmp!.rows[0]).toMatchObject({ board: { unit: "replies/s", n: 1, median: 50 }, kernel: { median: 100 }, boardOverKernel: 0.5 });
    expect(r.icmp!.rows[1]!.board).toMatchObject({ n: 0, median: null });
    expect(r.tap!.rows[0]).toMatchObject({ direction: "read", addon: { n: 2, median: 550e3, min: 500e3, max: 600e3 }, c: { median: 500e3 } });
    expect(r.tap!.rows[0]!.addonOverC).toBeCloseTo(1.1, 9);
    expect(r.tap!.runs).toHaveLength(2);
    const none = report({ icmp: null, tcp: null, tap: null });
    expect([none.icmp, none.tcp, none.micropython, none.tap]).toEqual([null, null, null, null]);
  });
});

describe("the verdict lines", () => {
  it("print board/Linux and board/lwIP per measured row with each goal's outcome, then the count", () => {
    const lines = verdictLines(tcpRates().samples);
    expect(lines).toEqual([
      "verdict: kernel→board bulk (discard 9): board/Linux 1.20 (goal ≥ 1.0: met), board/lwIP 6.00 (goal ≥ 5.0: met)",
      "verdict: board→kernel bulk (chargen 19): board/Linux 0.30 (goal ≥ 1.0: NOT met), board/lwIP 1.50 (goal ≥ 5.0: NOT met)",
      "verdict: 1-byte echo, one connection (echo 7): board/Linux 1.00 (goal ≥ 1.0: met), board/lwIP —",
      "verdict: connect + 1-byte echo + close (echo 7): board/Linux — (goal ≥ 1.0: not measured), board/lwIP —",
      "verdict: UDP echo round trip, 16 B (UDP echo 7): board/Linux 0.80 (goal ≥ 1.0: NOT met), board/lwIP —",
      "verdict: 3 of 6 measured goals met (1 not measured)",
    ]);
  });

  it("say so when every goal is met", () => {
    const rates = tcpRates();
    const fast = (x: TcpSample): TcpSample => ({ ...x, rate: x.rate * 100 });
    for (const m of TCP_METRICS) rates.samples.board[m] = rates.samples.board[m].map(fast);
    rates.samples.kernel.connect = [tcpSample(17e3)];
    expect(goalResults(rates.samples).every((g) => g.met === true)).toBe(true);
    expect(verdictLines(rates.samples).at(-1)).toBe("verdict: 7 of 7 measured goals met: every goal of issue 9 is met");
  });
});

describe("the progress line", () => {
  const stream = (isTTY: boolean): { isTTY: boolean; columns: number; out: string[]; write(s: string): boolean } => ({
    isTTY,
    columns: 60,
    out: [],
    write(s: string): boolean {
      this.out.push(s);
      return true;
    },
  });

  it("writes nothing when stderr is not a terminal, and passes log lines through", () => {
    const s = stream(false);
    const p = new ProgressLine(s);
    p.step("tcp", { index: 3, total: 40, what: "board echo repeat 1/5" });
    p.clear();
    expect(s.out).toEqual([]);
    p.log("bench: a verbose line");
    expect(s.out).toEqual(["bench: a verbose line\n"]);
  });

  it("on a terminal rewrites one line in place, keeps it under log lines, and erases it at the end", () => {
    const s = stream(true);
    const p = new ProgressLine(s, Date.now());
    p.step("tcp", { index: 12, total: 40, what: "board echo repeat 3/5" });
    expect(s.out[0]).toBe("\r[tcp 12/40] board echo repeat 3/5 · 0:00\x1b[K");
    p.log("bench: between");
    expect(s.out.slice(1)).toEqual(["\r\x1b[K", "bench: between\n", "\r[tcp 12/40] board echo repeat 3/5 · 0:00\x1b[K"]);
    p.step("tcp", { index: 13, total: 40, what: "a very long description that does not fit into sixty columns at all" });
    expect(s.out.at(-1)!.replace(/\x1b\[K$/, "").length).toBeLessThanOrEqual(60);
    p.clear();
    expect(s.out.at(-1)).toBe("\r\x1b[K");
    const before = s.out.length;
    p.clear();
    expect(s.out).toHaveLength(before);
  });
});
