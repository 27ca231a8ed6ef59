// `walnut bench` / `npm run bench`: ICMP echo round trips per second, walnut board vs the Linux kernel, in one
// run (bench/icmpRate.ts); TCP bulk, 1-byte echo and connection rates and UDP echo round trips, walnut board vs
// the Linux kernel vs lwIP (bench/tcpRate.ts), with the verdict on issue 9's goals (bench/verdict.ts); the
// MicroPython scripts on the board beside the built-in services and CPython (bench/mpRate.ts); TAP frames per
// second, walnut's addon vs a plain C program (bench/tapRate.ts); and a legend (bench/tables.ts). Needs root:
// everything happens in network namespaces created here and removed at the end. `--json FILE` writes the
// whole run as JSON (bench/report.ts), `--plot FILE.svg` the bulk runs over time (bench/plot.ts); a progress
// line on stderr when it is a terminal (bench/progress.ts). `--loss-table` instead runs the simulated
// transfer-time-vs-loss table (bench/lossTable.ts; no root, no network), written to
// bench/results/loss-table.md. Options: bench/options.ts, or --help.

import { cpus, loadavg, release } from "node:os";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { deleteNetns } from "../src/host/iproute.js";
import { ECHO_DATA_BYTES, measureIcmpRates, type IcmpRates } from "./icmpRate.js";
import { measureTapRates, type TapRates } from "./tapRate.js";
import { TCP_TARGETS, measureTcpRates, type TcpRates } from "./tcpRate.js";
import { measureMpRates, type MpRates } from "./mpRate.js";
import { formatLossFailures, formatLossTable, lossTableHeading, measureLossTable, type LossTable } from "./lossTable.js";
import { helpText, parseOptions, UsageError, type RunOptions, type Section } from "./options.js";
import { ProgressLine } from "./progress.js";
import { echoTable, legend, mpFailures, mpTable, TAP_FRAME_BYTES, tapTable, tcpBoardCounters, tcpBoardMemory, tcpCpuTable, tcpFailures, tcpNotes, tcpReferenceTable, tcpTable } from "./tables.js";
import { verdictLines } from "./verdict.js";
import { bulkPlotSvg } from "./plot.js";
import { buildReport, type Failure, type Machine } from "./report.js";
import { cleanupAll, holdCpuDmaLatencyZero, onCleanup, packageRoot } from "./util.js";

// Node opens its inspector on SIGUSR1 unless a listener handles it: the bench runs as root, so one does.
process.on("SIGUSR1", () => undefined);

/**
 * A failed board run is a finding about walnut (stall, corruption): exit 1. A failed peer run alone says the
 * machine was unhealthy (a 5 s stall of Linux or lwIP); it is listed, and fails the bench only if a cell was
 * left without any sample.
 */
function tcpExitCode(rates: TcpRates): number {
  const boardFailures = rates.failures.filter((f) => f.target === "board").length;
  const emptyCells = TCP_TARGETS.flatMap((t) => rates.measured[t].filter((m) => rates.samples[t][m].length === 0).map((m) => `${t} ${m}`));
  if (boardFailures > 0) console.error(`bench: ${boardFailures} board TCP/UDP run(s) failed (listed above)`);
  if (emptyCells.length > 0) console.error(`bench: no successful TCP/UDP run for ${emptyCells.join(", ")}`);
  if (boardFailures === 0 && emptyCells.length === 0 && rates.failures.length > 0) {
    console.error(`bench: warning: ${rates.failures.length} peer TCP/UDP run(s) failed (listed above); their medians use the other runs`);
  }
  return boardFailures > 0 || emptyCells.length > 0 ? 1 : 0;
}

// ---- main ---------------------------------------------------------------------------------------------

/**
 * tapRate.ts removes its namespace in a `finally`, which a signal skips. On a signal during that section
 * remove namespaces that appeared since it started and carry its `wbns<pid % 100000>` prefix (its
 * uniqueName) — never anything else.
 */
function guardTapNamespaces(): () => void {
  const before = new Set(listNetns());
  const prefix = `wbns${process.pid % 100000}`;
  return onCleanup(() => {
    for (const name of listNetns()) {
      if (!before.has(name) && name.startsWith(prefix) && /^\d{0,3}$/.test(name.slice(prefix.length))) deleteNetns(name);
    }
  });
}

function listNetns(): string[] {
  try {
    return readdirSync("/var/run/netns");
  } catch {
    return [];
  }
}

function machineFacts(idle: Machine["idle"]): Machine {
  const [one, five, fifteen] = loadavg();
  return {
    node: process.version,
    kernel: release(),
    vcpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? "unknown",
    loadAverage: [one ?? 0, five ?? 0, fifteen ?? 0],
    idle,
  };
}

const IDLE_TEXT: Record<Machine["idle"], string> = {
  polling: "idle vCPUs held polling (/dev/cpu_dma_latency = 0)",
  halting: "idle vCPUs halt (default kernel idle)",
  "halting-unheld": "idle vCPUs halt (could not open /dev/cpu_dma_latency)",
};

async function main(argv: readonly string[]): Promise<number> {
  let o: RunOptions | "help";
  try {
    o = parseOptions(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`bench: ${err.message} (see --help)`);
    return 2;
  }
  if (o === "help") {
    console.log(helpText());
    return 0;
  }
  if (o.lossTable) return runLossTable(o);
  if (process.getuid?.() !== 0) {
    console.error("bench: needs root (it creates network namespaces and TAP devices): run `sudo walnut bench` or `sudo npm run bench`");
    return 1;
  }

  const startedAt = new Date();
  const started = performance.now();
  const release0 = o.holdPolling ? holdCpuDmaLatencyZero() : null;
  const machine = machineFacts(!o.holdPolling ? "halting" : release0 !== null ? "polling" : "halting-unheld");
  const progress = new ProgressLine(process.stderr);
  // Tables go to stdout: the progress line (stderr, same terminal) is erased first and comes back on the next step.
  const print = (text: string): void => {
    progress.clear();
    console.log(text);
  };
  const log = o.verbose ? (line: string): void => progress.log(`bench: ${line}`) : null;
  const stepsOf = (section: string) => (s: { index: number; total: number; what: string }): void => progress.step(section, s);
  print(
    `walnut bench, ${startedAt.toISOString().replace(/\.\d+Z$/, "Z")}: node ${machine.node}, Linux ${machine.kernel}, ` +
      `${machine.vcpus} vCPUs, load ${machine.loadAverage.map((x) => x.toFixed(2)).join(" ")}`,
  );
  print(`${IDLE_TEXT[machine.idle]}${o.isQuick ? "; --quick: a smoke run, not a measurement" : ""}\n`);

  let icmp: IcmpRates | null = null;
  let tcp: TcpRates | null = null;
  let mp: MpRates | null = null;
  const taps: TapRates[] = [];
  const errors: Failure[] = [];
  let section: Section | "bench" = "bench";
  let exitCode = 0;
  try {
    if (o.withIcmp) {
      section = "icmp";
      icmp = await measureIcmpRates({ repeats: o.repeats, seconds: o.seconds, window: o.window, log, onStep: stepsOf("icmp") });
      print(`ICMP echo round trips per second (ping -f, ${ECHO_DATA_BYTES} data bytes), median of ${o.repeats} × ${o.seconds} s [min–max]`);
      print(echoTable(icmp, o));
    }

    if (o.withTcp) {
      section = o.sections.includes("tcp") ? "tcp" : "udp";
      tcp = await measureTcpRates({
        repeats: o.repeats,
        seconds: o.seconds,
        log,
        offload: o.offload,
        targets: o.tcpTargets,
        metrics: o.tcpMetrics,
        onStep: stepsOf(o.sections.includes("tcp") ? (o.sections.includes("udp") ? "tcp+udp" : "tcp") : "udp"),
      });
      print(`${o.withIcmp ? "\n" : ""}TCP and UDP, one C client for every target, median of ${o.repeats} × ${o.seconds} s [min–max]`);
      print(tcpTable(tcp, o));
      print("\nCPU per unit, median [min–max], and median share of one vCPU");
      print(tcpCpuTable(tcp, o));
      print(`${tcpNotes(tcp)}${tcpBoardMemory(tcp)}${tcpBoardCounters(tcp, o)}${tcpFailures(tcp)}`);
      print(`\n${verdictLines(tcp.samples).join("\n")}`);
      print("\nFor context (not measured now):");
      print(tcpReferenceTable());
      if (o.plotPath !== null) {
        const note = `walnut bench ${startedAt.toISOString()}, ${o.repeats} × ${o.seconds} s, points every 100 ms; node ${machine.node}, Linux ${machine.kernel}, ${machine.vcpus} vCPUs`;
        writeFileSync(o.plotPath, bulkPlotSvg(tcp.samples, o.offload, note));
        print(`\nthroughput over time written to ${o.plotPath}`);
      }
      exitCode = Math.max(exitCode, tcpExitCode(tcp));
    }

    if (o.withMicroPython) {
      section = "micropython";
      mp = await measureMpRates({ repeats: o.repeats, seconds: o.seconds, log, onStep: stepsOf("micropython") });
      print(`\nMicroPython on the board: board scripts vs the built-in services vs CPython, median of ${o.repeats} × ${o.seconds} s [min–max]`);
      print(mpTable(mp));
      const mpFailed = mpFailures(mp);
      if (mpFailed !== "") print(mpFailed);
    }

    if (o.withTap) {
      section = "tap";
      const unguard = guardTapNamespaces();
      for (let r = 0; r < o.repeats; r++) {
        const onStep = stepsOf("tap");
        const step = (s: { index: number; total: number; what: string }): void =>
          onStep({ index: r * s.total + s.index, total: o.repeats * s.total, what: `${s.what} repeat ${r + 1}/${o.repeats}` });
        const tapOptions = o.isQuick ? { readSeconds: 1, writeCount: 100_000 } : {};
        taps.push(await measureTapRates({ ...tapOptions, verbose: o.verbose, log: (line) => progress.log(line), onStep: step }));
      }
      unguard();
      print(`\nTAP frames per second, ${TAP_FRAME_BYTES}-byte frames, median of ${o.repeats} run(s) [min–max]`);
      print(tapTable(taps));
    }
    section = "bench";
    print(`\n${legend(o, tcp)}`);
    print(`\nbench took ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return exitCode;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    progress.clear();
    console.error(`bench: ${reason}`);
    errors.push({ section, target: null, metric: null, repeat: null, reason });
    exitCode = 1;
    return exitCode;
  } finally {
    progress.clear();
    cleanupAll();
    // Written also after a failure: the document then says what failed and holds what was measured before.
    if (o.jsonPath !== null) {
      const report = buildReport({
        startedAt,
        elapsedSeconds: (performance.now() - started) / 1000,
        exitCode,
        machine,
        options: o,
        icmp,
        tcp,
        micropython: mp,
        tap: taps.length > 0 ? taps : null,
        errors,
      });
      try {
        writeFileSync(o.jsonPath, `${JSON.stringify(report, null, 2)}\n`);
        console.log(`\nJSON report written to ${o.jsonPath}`);
      } catch (err) {
        console.error(`bench: cannot write ${o.jsonPath}: ${err instanceof Error ? err.message : String(err)}`);
        process.exitCode = 1;
      }
    }
  }
}


/** `--loss-table`: the simulated table (no root, no network); saved unless --quick. */
function runLossTable(o: RunOptions): number {
  const sizeBytes = o.isQuick ? 1 << 20 : 10 << 20;
  const log = o.verbose ? (line: string): void => void process.stderr.write(`bench: ${line}\n`) : null;
  let t: LossTable;
  try {
    t = measureLossTable(sizeBytes, log);
  } catch (err) {
    // Set-up errors only: failed transfers are rows.
    console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
  const when = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const failures = formatLossFailures(t);
  const text = [
    lossTableHeading(t),
    "",
    formatLossTable(t),
    "",
    ...(failures !== "" ? [failures, ""] : []),
    lossTableLegend(t),
    "",
    `Generated by \`npm run bench -- --loss-table\` on ${when}, node ${process.version}; ${(t.wallMs / 1000).toFixed(1)} s wall.`,
  ].join("\n");
  console.log(text);
  const failed = t.rows.filter((r) => r.failure !== null).length;
  if (o.isQuick) {
    console.log("\n--quick: 1 MiB each way; bench/results/loss-table.md left as it was");
  } else {
    const dir = join(packageRoot(), "bench/results");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "loss-table.md"), `# TCP transfer time vs loss\n\n${text}\n`);
    console.log(`\nwritten to ${join(dir, "loss-table.md")}`);
  }
  if (failed > 0) console.error(`bench: ${failed} transfer(s) of the loss table failed (listed above)`);
  return failed > 0 ? 1 : 0;
}

function lossTableLegend(t: LossTable): string {
  return [
    "- transfer time: simulated time from connect() until the client has read the whole echo and the",
    "  server's FIN; both directions run at once. goodput each way = size / transfer time.",
    "- retransmitted segments: both stacks, however triggered. fast retransmits: entries into fast",
    "  recovery. RTO: retransmission-timer expiries (back-offs included). TLP: tail loss probes sent",
    "  (RFC 8985 §7). Frames: both fault injectors.",
    "- recovery: RACK-TLP (RFC 8985, the default with SACK: loss by per-segment send time, reorder timer,",
    "  tail loss probe), RFC 6675 (SACK with DupThresh, StackConfig tcp.rack = false), NewReno (SACK off).",
    "- Each direction's data segments carry the other direction's ACKs, and RFC 5681 counts only ACKs",
    "  without data as duplicates: with SACK off, losses are mostly recovered by RTO, not fast retransmit.",
    "  With SACK on, data segments shrink to carry SACK blocks, so ACKs riding on data still describe the",
    "  holes. RFC 6675's remaining RTOs are mostly lost retransmissions and tail losses, which RACK-TLP",
    "  detects by time and probes; its few left are lost retransmissions with nothing sent after them.",
    `- Deterministic: loss seeds as in the heading, data seed fixed, stack entropy (ISNs, ports,`,
    `  timestamp offsets, IP IDs) seeded with ${t.entropySeed}: the same code gives the same table.`,
  ].join("\n");
}

const code = await main(process.argv.slice(2));
process.exitCode = Math.max(code, typeof process.exitCode === "number" ? process.exitCode : 0);
