// `npm run bench`: ICMP echo round trips per second, walnut board vs the Linux kernel, in one run
// (bench/icmpRate.ts); TCP bulk, 1-byte echo and connection rates, walnut board vs the Linux kernel vs lwIP
// (bench/tcpRate.ts); TAP frames per second, walnut's addon vs a plain C program (bench/tapRate.ts); and a
// legend. Needs root: everything happens in network namespaces created here and removed at the end.
// `--loss-table` instead runs the simulated transfer-time-vs-loss table (bench/lossTable.ts; no root, no
// network) and writes it to bench/results/loss-table.md.
// "MicroPython on the board" (bench/mpRate.ts): board scripts under `walnut run` beside the built-in services
// and the same scripts in CPython over a veth.
// Options: --quick (1 × 1 s smoke run), --repeats N, --seconds S, --window N, --no-icmp, --no-tcp, --no-tap,
// --no-micropython, --only SECTIONS, --no-offload, --targets LIST, --metrics LIST, --halting-idle, --verbose,
// --loss-table.

import { cpus, loadavg, release } from "node:os";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import { deleteNetns } from "../src/host/iproute.js";
import { ECHO_DATA_BYTES, measureIcmpRates, type EchoMode, type EchoSample, type IcmpRates } from "./icmpRate.js";
import { measureTapRates, type TapRates } from "./tapRate.js";
import { TCP_METRICS, TCP_TARGETS, measureTcpRates, type TcpMetric, type TcpRates, type TcpSample, type TcpTarget } from "./tcpRate.js";
import { MP_CASES, isBulkMode, measureMpRates, type MpCase, type MpRates, type MpSample } from "./mpRate.js";
import { formatLossFailures, formatLossTable, lossTableHeading, measureLossTable, type LossTable } from "./lossTable.js";
import {
  cleanupAll,
  formatCount,
  formatRateSummary,
  formatRatio,
  formatTable,
  holdCpuDmaLatencyZero,
  onCleanup,
  packageRoot,
  summarize,
  type Summary,
} from "./util.js";

// Node opens its inspector on SIGUSR1 unless a listener handles it: the bench runs as root, so one does.
process.on("SIGUSR1", () => undefined);

interface RunOptions {
  repeats: number;
  seconds: number;
  window: number;
  isQuick: boolean;
  withIcmp: boolean;
  withTcp: boolean;
  withTap: boolean;
  withMicroPython: boolean;
  lossTable: boolean;
  holdPolling: boolean;
  verbose: boolean;
  /** The board's TAP with offloads (TSO/GRO, partial checksums); false with --no-offload. */
  offload: boolean;
  /** TCP targets and metrics to measure (--targets, --metrics); all by default. */
  tcpTargets: readonly TcpTarget[];
  tcpMetrics: readonly TcpMetric[];
}

class UsageError extends Error {}

const USAGE =
  "usage: node dist/bench/run.js [--quick] [--repeats N] [--seconds S] [--window N] [--no-icmp] [--no-tcp] [--no-tap] " +
  "[--no-micropython] [--only icmp,tcp,tap,micropython] " +
  `[--no-offload] [--targets ${TCP_TARGETS.join(",")}] [--metrics ${TCP_METRICS.join(",")}] ` +
  "[--halting-idle] [--verbose] | --loss-table [--quick] [--verbose]";

const SPEC = {
  quick: { type: "boolean" },
  repeats: { type: "string" },
  seconds: { type: "string" },
  window: { type: "string" },
  "no-icmp": { type: "boolean" },
  "no-tcp": { type: "boolean" },
  "no-tap": { type: "boolean" },
  "no-micropython": { type: "boolean" },
  only: { type: "string" },
  "no-offload": { type: "boolean" },
  targets: { type: "string" },
  metrics: { type: "string" },
  "loss-table": { type: "boolean" },
  "halting-idle": { type: "boolean" },
  verbose: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

function intOption(name: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`--${name}: expected a whole number from ${min} to ${max}, got '${text}'`);
  }
  return Number(text);
}

/** A comma-separated subset of `all` (e.g. `--targets board,kernel`), in `all`'s order. */
function listOption<T extends string>(name: string, text: string | undefined, all: readonly T[]): readonly T[] {
  if (text === undefined) return all;
  const picked = text.split(",").map((t) => t.trim());
  for (const p of picked) {
    if (!(all as readonly string[]).includes(p)) throw new UsageError(`--${name}: '${p}' is not one of ${all.join(", ")}`);
  }
  return all.filter((a) => picked.includes(a));
}

function parseOptions(argv: readonly string[]): RunOptions | "help" {
  let v;
  try {
    v = parseArgs({ args: [...argv], options: SPEC, strict: true, allowPositionals: false }).values;
  } catch (err) {
    const message = err instanceof Error ? (err.message.split("\n")[0] ?? "") : String(err);
    throw new UsageError(message.replace(/^Unknown option '(.*?)'.*$/, "unknown option $1").replace(/\. To specify.*$/, ""));
  }
  if (v.help === true) return "help";
  const isQuick = v.quick === true;
  const sections = ["icmp", "tcp", "tap", "micropython"];
  const only = v.only === undefined ? sections : v.only.split(",").map((x) => x.trim());
  for (const name of only) if (!sections.includes(name)) throw new UsageError(`--only: unknown section '${name}' (choose from ${sections.join(", ")})`);
  const wants = (name: string): boolean => only.includes(name) && v[`no-${name}` as "no-tap"] !== true;
  return {
    repeats: intOption("repeats", v.repeats, isQuick ? 1 : 5, 1, 20),
    seconds: intOption("seconds", v.seconds, isQuick ? 1 : 2, 1, 10),
    window: intOption("window", v.window, 32, 2, 1024),
    isQuick,
    withIcmp: wants("icmp"),
    withTcp: wants("tcp"),
    withTap: wants("tap"),
    withMicroPython: wants("micropython"),
    lossTable: v["loss-table"] === true,
    holdPolling: v["halting-idle"] !== true,
    verbose: v.verbose === true,
    offload: v["no-offload"] !== true,
    tcpTargets: listOption("targets", v.targets, TCP_TARGETS),
    tcpMetrics: listOption("metrics", v.metrics, TCP_METRICS),
  };
}

// ---- output -------------------------------------------------------------------------------------------

function echoTable(rates: IcmpRates, o: RunOptions): string {
  const modes: [EchoMode, string][] = [
    ["sequential", "one outstanding"],
    ["pipelined", `${o.window} in flight`],
  ];
  const rows = modes.map(([mode, label]) => {
    const board = summarize(rates.board[mode].map((s) => s.repliesPerSec));
    const kernel = summarize(rates.kernel[mode].map((s) => s.repliesPerSec));
    return [label, formatRateSummary(board), formatRateSummary(kernel), formatRatio(board.median, kernel.median), boardCpu(rates.board[mode])];
  });
  return formatTable(["mode", "board (walnut, TAP)", "Linux kernel (veth)", "board/kernel", "board CPU per 1000 echoes"], rows);
}

function boardCpu(samples: readonly EchoSample[]): string {
  const perThousandMs = summarize(samples.map((s) => (s.cpuSeconds / s.received) * 1e6)).median;
  const busy = summarize(samples.map((s) => s.cpuSeconds / s.seconds)).median;
  return `${perThousandMs.toFixed(1)} ms (${Math.round(busy * 100)}% of a vCPU)`;
}

const TAP_FRAME_BYTES = 1514;

function frameRate(fps: number): string {
  return `${formatCount(fps)} frames/s (${((fps * TAP_FRAME_BYTES * 8) / 1e9).toFixed(1)} Gbit/s)`;
}

function tapTable(t: TapRates): string {
  return formatTable(
    ["direction", "walnut addon", "plain C (tapbench)", "addon/C"],
    [
      ["read (kernel → process)", frameRate(t.addonReadFps), frameRate(t.cReadFps), formatRatio(t.addonReadFps, t.cReadFps)],
      ["write (process → kernel)", frameRate(t.addonWriteFps), frameRate(t.cWriteFps), formatRatio(t.addonWriteFps, t.cWriteFps)],
    ],
  );
}

// ---- TCP ----------------------------------------------------------------------------------------------

const TCP_METRIC_LABEL: Record<TcpMetric, string> = {
  toBoard: "kernel→board bulk (discard 9)",
  fromBoard: "board→kernel bulk (chargen 19)",
  echo: "1-byte echo, one connection (echo 7)",
  connect: "connect + 1-byte echo + close (echo 7)",
};

const isBulk = (m: TcpMetric): boolean => m === "toBoard" || m === "fromBoard";

/** "1.23 Gbit/s [1.10–1.30]" for bulk, "12.3 k/s [11.9k–13.0k]" for the others. */
function formatTcpRate(metric: TcpMetric, s: Summary): string {
  if (s.samples.length === 0) return "—";
  if (!isBulk(metric)) return formatRateSummary(s);
  const g = (x: number): string => (x / 1e9).toFixed(2);
  return s.samples.length <= 1 ? `${g(s.median)} Gbit/s` : `${g(s.median)} Gbit/s [${g(s.min)}–${g(s.max)}]`;
}

function tcpSummary(rates: TcpRates, target: TcpTarget, metric: TcpMetric): Summary {
  return summarize(rates.samples[target][metric].map((s) => s.rate));
}

function tcpTable(rates: TcpRates, o: RunOptions): string {
  const rows = TCP_METRICS.map((m) => {
    const board = tcpSummary(rates, "board", m);
    const kernel = tcpSummary(rates, "kernel", m);
    const perFrame = tcpSummary(rates, "kernelPerFrame", m);
    const lwip = tcpSummary(rates, "lwip", m);
    return [
      TCP_METRIC_LABEL[m],
      formatTcpRate(m, board),
      formatTcpRate(m, kernel),
      formatTcpRate(m, perFrame),
      formatTcpRate(m, lwip),
      formatRatio(board.median, kernel.median),
      formatRatio(board.median, lwip.median),
    ];
  });
  return formatTable(
    ["metric", `board (walnut, TAP${o.offload ? ", offloads on" : ", --no-offload"})`, "Linux (veth, offloads on)", "Linux (veth, offloads off)", "lwIP 2.1.3 (TAP)", "board/kernel", "board/lwIP"],
    rows,
  );
}

/** Median CPU per unit and the median share of one vCPU, for one (target, metric). */
function cpuPerUnit(samples: readonly TcpSample[], metric: TcpMetric, cpu: (s: TcpSample) => number): string {
  if (samples.length === 0) return "—";
  const busy = summarize(samples.map((s) => cpu(s) / s.seconds)).median;
  const share = `${Math.round(busy * 100)}%`;
  if (isBulk(metric)) {
    const msPerMB = summarize(samples.map((s) => (cpu(s) * 1e3) / (s.bytes / 1e6))).median;
    return `${msPerMB.toFixed(2)} ms/MB (${share})`;
  }
  const usPerOp = summarize(samples.map((s) => (cpu(s) * 1e6) / s.ops)).median;
  return `${usPerOp.toFixed(1)} µs/op (${share})`;
}

function tcpCpuTable(rates: TcpRates): string {
  const server = (s: TcpSample): number => s.serverCpuSeconds;
  const client = (s: TcpSample): number => s.clientCpuSeconds;
  const rows = TCP_METRICS.map((m) => [
    TCP_METRIC_LABEL[m],
    cpuPerUnit(rates.samples.board[m], m, server),
    cpuPerUnit(rates.samples.lwip[m], m, server),
    cpuPerUnit(rates.samples.kernel[m], m, server),
    cpuPerUnit(rates.samples.board[m], m, client),
    cpuPerUnit(rates.samples.kernel[m], m, client),
  ]);
  return formatTable(
    ["metric", "board: this process", "lwIP: lwipserve", "Linux: tcpserve (user side)", "client, board runs", "client, Linux runs"],
    rows,
  );
}

/** docs/measurements.md "Reference figures on the same TAP path" (measured before walnut existed; medians of 6). */
function tcpReferenceTable(): string {
  return formatTable(
    ["reference (docs/measurements.md)", "kernel→board", "board→kernel", "1-byte echo", "connect+echo+close"],
    [
      ["lwIP 2.1.3, Debian liblwip-dev, unix tapif", "1.86 Gbit/s (1.46–2.15)", "2.72 Gbit/s (1.72–2.94)", "37 k/s", "6.8 k/s"],
      ["Linux ↔ Linux over a veth, offloads off", "4.7 Gbit/s", "4.6 Gbit/s", "—", "—"],
      ["Linux ↔ Linux over a veth, offloads on", "21 Gbit/s", "17 Gbit/s", "58 k/s", "13 k/s"],
    ],
  );
}

function tcpFailures(rates: TcpRates): string {
  if (rates.failures.length === 0) return "";
  const lines = rates.failures.map(
    (f) => `  ${f.target} ${f.metric}${f.repeat === 0 ? " (warm-up)" : ` (repeat ${f.repeat})`}: ${f.reason}`,
  );
  return `\nFAILED client runs (${rates.failures.length}; medians above leave them out):\n${lines.join("\n")}`;
}

/**
 * A failed board run is a finding about walnut (stall, corruption): exit 1. A failed peer run alone says the
 * machine was unhealthy (a 5 s stall of Linux or lwIP); it is listed, and fails the bench only if a cell was
 * left without any sample.
 */
function tcpExitCode(rates: TcpRates): number {
  const boardFailures = rates.failures.filter((f) => f.target === "board").length;
  const emptyCells = TCP_TARGETS.flatMap((t) => rates.measured[t].filter((m) => rates.samples[t][m].length === 0).map((m) => `${t} ${m}`));
  if (boardFailures > 0) console.error(`bench: ${boardFailures} board TCP run(s) failed (listed above)`);
  if (emptyCells.length > 0) console.error(`bench: no successful TCP run for ${emptyCells.join(", ")}`);
  if (boardFailures === 0 && emptyCells.length === 0 && rates.failures.length > 0) {
    console.error(`bench: warning: ${rates.failures.length} peer TCP run(s) failed (listed above); their medians use the other runs`);
  }
  return boardFailures > 0 || emptyCells.length > 0 ? 1 : 0;
}

function tcpBoardCounters(rates: TcpRates): string {
  const s = rates.boardTcpStats;
  const pick = ["txTsoSegments", "rxGroSegments", "txRetransmits", "fastRetransmits", "rtoFired", "dropOutOfWindow", "dropRecvFull", "dropOooFull", "txDropLink", "listenOverflows", "synCookiesSent", "timeouts", "resetsReceived"];
  return `board TCP counters over the section: ${pick.map((k) => `${k} ${s[k] ?? 0}`).join(", ")}`;
}

function tcpLegend(o: RunOptions, rates: TcpRates): string[] {
  return [
    "  TCP             one C client (bench/c/tcpclient.c) in the client namespace for every target; median of",
    `                  ${o.repeats} run(s) of ${o.seconds} s. board: walnut in this process behind its TAP (offloads: TSO/GRO`,
    "                  super-frames and partial checksums, unless --no-offload). Linux: a C epoll",
    "                  server (bench/c/tcpserve.c) in another namespace behind a veth, offloads on (TSO/GRO: 64 KiB",
    "                  super-frames) and off (1514-byte frames, like a TAP; bulk only). lwIP: Debian's liblwip 2.1.3",
    "                  with the unix tapif netif on a TAP (bench/lwip/lwipserve.c, raw TCP API, tcpip thread).",
    "  bulk            kernel→board: write 64 KiB blocks to discard for the run, half-close, wait for the server's",
    "                  FIN (every byte taken); board→kernel: read chargen, every byte checked against RFC 864.",
    "  1-byte echo     send one byte, wait for it, repeat (TCP_NODELAY): 1 / round-trip time through TCP.",
    "  connect+echo    connect, 1-byte echo, close (an ordinary FIN), repeat. The client namespace keeps at most",
    `                  ${rates.timeWaitBuckets} TIME-WAIT sockets (net.ipv4.tcp_max_tw_buckets), so no run meets FINDINGS' ~32 k slowdown.`,
    "  CPU             serving process's CPU (user + system, all threads) per MB or per operation, and its share",
    "                  of one vCPU. Linux's tcpserve figure is only its own syscalls: most of the kernel's TCP work runs",
    "                  in the client's context or softirq and is not counted. Client CPU near 100% = client-bound.",
  ];
}

function legend(o: RunOptions, tcp: TcpRates | null): string {
  return [
    "Legend:",
    ...(o.withIcmp ? icmpLegend(o) : []),
    ...(tcp !== null ? tcpLegend(o, tcp) : []),
    ...(o.withMicroPython ? mpLegend(o) : []),
    ...(o.withTap
      ? [
          `  TAP frames/s    ${TAP_FRAME_BYTES}-byte frames through one TAP, walnut's N-API addon vs a plain C read()/write()`,
          "                  loop on the same path; read is fed by a C AF_PACKET flooder. addon/C: 1.00 = no overhead.",
        ]
      : []),
  ].join("\n");
}

function icmpLegend(o: RunOptions): string[] {
  return [
    `  k/s             echo replies received per second by one \`ping -f\` client (iputils, in a namespace), ${ECHO_DATA_BYTES} data bytes;`,
    `                  median of ${o.repeats} run(s) of ${o.seconds} s, [min–max] over the runs.`,
    "  one outstanding the client sends the next request only when the previous reply is in: 1 / round-trip time.",
    `  ${`${o.window} in flight`.padEnd(15)} the client keeps ${o.window} requests outstanding (ping -l ${o.window}): how many echoes/s the target can turn.`,
    "  board           walnut's stack in this node process, answering on its TAP; the client is the kernel in the",
    "                  TAP's namespace. kernel: the Linux stack in another namespace behind a veth pair.",
    "  board/kernel    ratio of the medians; 1.00 = as fast as Linux. Over a veth the kernel answers inside the",
    "                  client's own send(), on the client's vCPU with no wake-up, so the kernel column sits near the",
    "                  client's ceiling; the board answers from a second vCPU, so pipelined it can exceed 1.",
    "  board CPU       this process's CPU time (user + system, process.cpuUsage) per 1000 echoes answered, and",
    "                  as a share of one vCPU over the run. The client's CPU is not included.",
  ];
}

// ---- MicroPython on the board ----------------------------------------------------------------------------

function mpRate(c: MpCase, samples: readonly MpSample[]): string {
  if (samples.length === 0) return "—";
  const s = summarize(samples.map((x) => x.rate));
  if (!isBulkMode(c)) return formatRateSummary(s);
  const g = (x: number): string => (x / 1e9).toFixed(2);
  return samples.length <= 1 ? `${g(s.median)} Gbit/s` : `${g(s.median)} Gbit/s [${g(s.min)}–${g(s.max)}]`;
}

/** Per-call µs (one call per op, or per 64 KiB / 4 KiB moved for bulk) and the server's CPU share. */
function mpCost(c: MpCase, samples: readonly MpSample[]): string {
  if (samples.length === 0) return "—";
  const busy = summarize(samples.map((s) => s.serverCpuSeconds / s.seconds)).median;
  const perUnit = isBulkMode(c)
    ? `${summarize(samples.map((s) => (s.serverCpuSeconds * 1e3) / (s.bytes / 1e6))).median.toFixed(2)} ms/MB`
    : `${summarize(samples.map((s) => (s.seconds * 1e6) / s.ops)).median.toFixed(1)} µs/op`;
  return `${perUnit} (${Math.round(busy * 100)}% CPU)`;
}

function mpGoal(c: MpCase, rates: MpRates): { text: string; met: boolean | null } {
  const row = rates.samples[c.name];
  const script = summarize((row?.script ?? []).map((s) => s.rate)).median;
  const builtin = summarize((row?.builtin ?? []).map((s) => s.rate)).median;
  if ((row?.script.length ?? 0) === 0) return { text: "—", met: null };
  if ("rate" in c.goal) {
    const goal = isBulkMode(c) ? `≥ ${(c.goal.rate / 1e9).toFixed(1)} Gbit/s` : `≥ ${formatCount(c.goal.rate)}/s`;
    return { text: goal, met: script >= c.goal.rate };
  }
  return { text: `≥ ${c.goal.ofBuiltin.toFixed(1)}× built-in`, met: (row?.builtin.length ?? 0) > 0 ? script >= c.goal.ofBuiltin * builtin : null };
}

function mpTable(rates: MpRates): string {
  const rows = MP_CASES.map((c) => {
    const row = rates.samples[c.name] ?? { script: [], builtin: [], cpython: [] };
    const goal = mpGoal(c, rates);
    const median = (xs: readonly MpSample[]): number => summarize(xs.map((s) => s.rate)).median;
    return [
      c.name,
      mpRate(c, row.script),
      mpRate(c, row.builtin),
      row.script.length > 0 && row.builtin.length > 0 ? formatRatio(median(row.script), median(row.builtin)) : "—",
      mpRate(c, row.cpython),
      mpCost(c, row.script),
      `${goal.text}${goal.met === null ? "" : goal.met ? " met" : " NOT met"}`,
    ];
  });
  return formatTable(["board script", "walnut run", "built-in service", "script/built-in", "CPython (veth)", "board: per op, CPU", "goal"], rows);
}

function mpFailures(rates: MpRates): string {
  if (rates.failures.length === 0) return "";
  return `\nFAILED runs (${rates.failures.length}):\n${rates.failures.map((f) => `  ${f.name} ${f.target}: ${f.reason}`).join("\n")}`;
}

function mpLegend(o: RunOptions): string[] {
  return [
    "  MicroPython     bench/micropython/*.py under `walnut run` (MicroPython in a worker, the stack in the main",
    "                  thread, a bridge between them), driven by tcpclient from the TAP's namespace; built-in: the",
    "                  same walnut process's own echo/discard/chargen (no bridge); CPython: the same script in",
    "                  python3 serving the Linux kernel over a veth (readinto → recv_into, write → sendall).",
    `                  Median of ${o.repeats} × ${o.seconds} s. per op: wall time per operation (bulk: CPU per MB of the`,
    "                  walnut process, all threads); CPU: its share of one vCPU.",
  ];
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

async function main(argv: readonly string[]): Promise<number> {
  let o: RunOptions | "help";
  try {
    o = parseOptions(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`bench: ${err.message}; ${USAGE}`);
    return 2;
  }
  if (o === "help") {
    console.log(USAGE);
    return 0;
  }
  if (o.lossTable) return runLossTable(o);
  if (process.getuid?.() !== 0) {
    console.error("bench: needs root (it creates network namespaces and TAP devices): run `sudo npm run bench`");
    return 1;
  }

  const started = performance.now();
  const release0 = o.holdPolling ? holdCpuDmaLatencyZero() : null;
  const idle = !o.holdPolling
    ? "idle vCPUs halt (default kernel idle)"
    : release0 !== null
      ? "idle vCPUs held polling (/dev/cpu_dma_latency = 0)"
      : "idle vCPUs halt (could not open /dev/cpu_dma_latency)";
  const log = o.verbose ? (line: string): void => void process.stderr.write(`bench: ${line}\n`) : null;
  const load = loadavg().map((x) => x.toFixed(2)).join(" ");
  console.log(`walnut bench, ${new Date().toISOString().replace(/\.\d+Z$/, "Z")}: node ${process.version}, Linux ${release()}, ${cpus().length} vCPUs, load ${load}`);
  console.log(`${idle}${o.isQuick ? "; --quick: a smoke run, not a measurement" : ""}\n`);

  try {
    if (o.withIcmp) {
      const rates = await measureIcmpRates({ repeats: o.repeats, seconds: o.seconds, window: o.window, log });
      console.log(`ICMP echo round trips per second (ping -f, ${ECHO_DATA_BYTES} data bytes), median of ${o.repeats} × ${o.seconds} s [min–max]`);
      console.log(echoTable(rates, o));
    }

    let tcp: TcpRates | null = null;
    if (o.withTcp) {
      tcp = await measureTcpRates({
        repeats: o.repeats,
        seconds: o.seconds,
        log,
        offload: o.offload,
        targets: o.tcpTargets,
        metrics: o.tcpMetrics,
      });
      console.log(`${o.withIcmp ? "\n" : ""}TCP, one C client for every target, median of ${o.repeats} × ${o.seconds} s [min–max]`);
      console.log(tcpTable(tcp, o));
      console.log("\nCPU per unit (median) and share of one vCPU");
      console.log(tcpCpuTable(tcp));
      console.log(`${tcpBoardCounters(tcp)}${tcpFailures(tcp)}`);
      console.log("\nFor context (not measured now):");
      console.log(tcpReferenceTable());
    }

    if (o.withMicroPython) {
      const mp = await measureMpRates({ repeats: o.repeats, seconds: o.seconds, log });
      console.log(`\nMicroPython on the board: board scripts vs the built-in services vs CPython, median of ${o.repeats} × ${o.seconds} s [min–max]`);
      console.log(mpTable(mp));
      const mpFailed = mpFailures(mp);
      if (mpFailed !== "") console.log(mpFailed);
    }

    if (o.withTap) {
      const unguard = guardTapNamespaces();
      const tap = await measureTapRates(o.isQuick ? { readSeconds: 1, writeCount: 100_000, verbose: o.verbose } : { verbose: o.verbose });
      unguard();
      console.log(`\nTAP frames per second, ${TAP_FRAME_BYTES}-byte frames, one run each`);
      console.log(tapTable(tap));
    }
    console.log(`\n${legend(o, tcp)}`);
    console.log(`\nbench took ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return tcp !== null ? tcpExitCode(tcp) : 0;
  } catch (err) {
    console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    cleanupAll();
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
    "  recovery. RTO: retransmission-timer expiries (back-offs included). Frames: both fault injectors.",
    "- Each direction's data segments carry the other direction's ACKs, and RFC 5681 counts only ACKs",
    "  without data as duplicates: with SACK off, losses are mostly recovered by RTO, not fast retransmit.",
    "  With SACK on, data segments shrink to carry SACK blocks, so ACKs riding on data still describe the",
    "  holes; the RTOs left are mostly lost retransmissions and tail losses (no tail-loss probe yet).",
    `- Deterministic: loss seeds as in the heading, data seed fixed, stack entropy (ISNs, ports,`,
    `  timestamp offsets, IP IDs) seeded with ${t.entropySeed}: the same code gives the same table.`,
  ].join("\n");
}

process.exitCode = await main(process.argv.slice(2));
