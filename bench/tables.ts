// The bench's printed tables and legend, from the sections' measurements: ICMP echo, TCP/UDP side by side
// with its CPU table, counters and failures, MicroPython on the board, TAP frames. Every measured cell shows
// the median of the repeats and their [min–max] spread. bench/run.ts prints them; bench/verdict.ts adds the
// verdict lines under the TCP/UDP table.

import { ECHO_DATA_BYTES, type EchoMode, type EchoSample, type IcmpRates } from "./icmpRate.js";
import type { TapRates } from "./tapRate.js";
import type { TcpRates, TcpSample } from "./tcpRate.js";
import { MP_CASES, isBulkMode, type MpCase, type MpRates, type MpSample } from "./mpRate.js";
import { TCP_METRICS, TCP_METRIC_LABEL, TCP_TARGETS, TCP_TARGET_LABEL, isBulkMetric, type TcpMetric, type TcpTarget } from "./cells.js";
import type { RunOptions } from "./options.js";
import { formatCount, formatRateSummary, formatRatio, formatTable, summarize, type Summary } from "./util.js";

/** "1.63 [1.50–1.80]" with `digits` decimals: a median and its spread (the spread only with 2+ repeats). */
function withSpread(values: readonly number[], digits: number): string {
  const s = summarize(values);
  const f = (x: number): string => x.toFixed(digits);
  return values.length <= 1 ? f(s.median) : `${f(s.median)} [${f(s.min)}–${f(s.max)}]`;
}

const percent = (share: number): string => `${Math.round(share * 100)}%`;

// ---- ICMP ---------------------------------------------------------------------------------------------

export function echoTable(rates: IcmpRates, o: RunOptions): string {
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
  if (samples.length === 0) return "—";
  const perThousandMs = withSpread(samples.map((s) => (s.cpuSeconds / s.received) * 1e6), 1);
  const busy = summarize(samples.map((s) => s.cpuSeconds / s.seconds)).median;
  return `${perThousandMs} ms (${percent(busy)} of a vCPU)`;
}

export function icmpLegend(o: RunOptions): string[] {
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

// ---- TAP ----------------------------------------------------------------------------------------------

export const TAP_FRAME_BYTES = 1514;

function frameRate(fps: readonly number[]): string {
  const s = summarize(fps);
  const gbit = (x: number): string => ((x * TAP_FRAME_BYTES * 8) / 1e9).toFixed(1);
  return `${formatRateSummary(s, " frames/s")} (${gbit(s.median)} Gbit/s)`;
}

export function tapTable(runs: readonly TapRates[]): string {
  const col = (pick: (t: TapRates) => number): number[] => runs.map(pick);
  const ratio = (a: (t: TapRates) => number, b: (t: TapRates) => number): string =>
    formatRatio(summarize(col(a)).median, summarize(col(b)).median);
  return formatTable(
    ["direction", "walnut addon", "plain C (tapbench)", "addon/C"],
    [
      ["read (kernel → process)", frameRate(col((t) => t.addonReadFps)), frameRate(col((t) => t.cReadFps)), ratio((t) => t.addonReadFps, (t) => t.cReadFps)],
      ["write (process → kernel)", frameRate(col((t) => t.addonWriteFps)), frameRate(col((t) => t.cWriteFps)), ratio((t) => t.addonWriteFps, (t) => t.cWriteFps)],
    ],
  );
}

export function tapLegend(): string[] {
  return [
    `  TAP frames/s    ${TAP_FRAME_BYTES}-byte frames through one TAP, walnut's N-API addon vs a plain C read()/write()`,
    "                  loop on the same path; read is fed by a C AF_PACKET flooder. addon/C: 1.00 = no overhead.",
  ];
}

// ---- TCP and UDP --------------------------------------------------------------------------------------

/** "1.23 Gbit/s [1.10–1.30]" for bulk, "12.3 k/s [11.9k–13.0k]" for the others. */
function formatTcpRate(metric: TcpMetric, s: Summary): string {
  if (s.samples.length === 0) return "—";
  if (!isBulkMetric(metric)) return formatRateSummary(s);
  const g = (x: number): string => (x / 1e9).toFixed(2);
  return s.samples.length <= 1 ? `${g(s.median)} Gbit/s` : `${g(s.median)} Gbit/s [${g(s.min)}–${g(s.max)}]`;
}

function tcpSummary(rates: TcpRates, target: TcpTarget, metric: TcpMetric): Summary {
  return summarize(rates.samples[target][metric].map((s) => s.rate));
}

/** The rows that were asked for (the others would be all "—"). */
const shownMetrics = (o: RunOptions): TcpMetric[] => TCP_METRICS.filter((m) => o.tcpMetrics.includes(m));

export function tcpTable(rates: TcpRates, o: RunOptions): string {
  const rows = shownMetrics(o).map((m) => {
    const s = Object.fromEntries(TCP_TARGETS.map((t) => [t, tcpSummary(rates, t, m)])) as Record<TcpTarget, Summary>;
    return [
      TCP_METRIC_LABEL[m],
      ...TCP_TARGETS.map((t) => formatTcpRate(m, s[t])),
      formatRatio(s.board.median, s.kernel.median),
      formatRatio(s.board.median, s.lwip.median),
    ];
  });
  const header = TCP_TARGETS.map((t) => (t === "board" ? `board (walnut, TAP${o.offload ? ", offloads on" : ", --no-offload"})` : TCP_TARGET_LABEL[t]));
  return formatTable(["metric", ...header, "board/kernel", "board/lwIP"], rows);
}

/** Median CPU per unit with its [min–max] over the repeats, and the median share of one vCPU. */
function cpuPerUnit(samples: readonly TcpSample[], metric: TcpMetric, cpu: (s: TcpSample) => number): string {
  if (samples.length === 0) return "—";
  const share = percent(summarize(samples.map((s) => cpu(s) / s.seconds)).median);
  if (isBulkMetric(metric)) return `${withSpread(samples.map((s) => (cpu(s) * 1e3) / (s.bytes / 1e6)), 2)} ms/MB (${share})`;
  return `${withSpread(samples.map((s) => (cpu(s) * 1e6) / s.ops), 1)} µs/op (${share})`;
}

export function tcpCpuTable(rates: TcpRates, o: RunOptions): string {
  const server = (s: TcpSample): number => s.serverCpuSeconds;
  const client = (s: TcpSample): number => s.clientCpuSeconds;
  const rows = shownMetrics(o).map((m) => [
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
export function tcpReferenceTable(): string {
  return formatTable(
    ["reference (docs/measurements.md)", "kernel→board", "board→kernel", "1-byte echo", "connect+echo+close"],
    [
      ["lwIP 2.1.3, Debian liblwip-dev, unix tapif", "1.86 Gbit/s (1.46–2.15)", "2.72 Gbit/s (1.72–2.94)", "37 k/s", "6.8 k/s"],
      ["Linux ↔ Linux over a veth, offloads off", "4.7 Gbit/s", "4.6 Gbit/s", "—", "—"],
      ["Linux ↔ Linux over a veth, offloads on", "21 Gbit/s", "17 Gbit/s", "58 k/s", "13 k/s"],
    ],
  );
}

export function tcpFailures(rates: TcpRates): string {
  if (rates.failures.length === 0) return "";
  const lines = rates.failures.map(
    (f) => `  ${f.target} ${f.metric}${f.repeat === 0 ? " (warm-up)" : ` (repeat ${f.repeat})`}: ${f.reason}`,
  );
  return `\nFAILED client runs (${rates.failures.length}; medians above leave them out):\n${lines.join("\n")}`;
}

/** The board's RSS per idle connection (bench/boardMemory.ts), one line; "" when not measured. */
export function tcpBoardMemory(rates: TcpRates): string {
  const m = rates.boardMemory;
  if (m === null) return "";
  const mib = (b: number): string => (b / 2 ** 20).toFixed(0);
  return (
    `board memory: RSS per idle connection ${(m.rssPerConnectionBytes / 1024).toFixed(1)} KiB (${m.connections} held, ` +
    `RSS ${mib(m.rssBeforeBytes)} → ${mib(m.rssHeldBytes)} MiB); their ring stores ${(m.ringStoreBytes / Math.max(1, m.connections)).toFixed(0)} B each\n`
  );
}

export function tcpNotes(rates: TcpRates): string {
  return rates.notes.map((n) => `note: ${n}\n`).join("");
}

/** The board's TCP counters (when a TCP row ran) and UDP counters (when the UDP row ran). */
export function tcpBoardCounters(rates: TcpRates, o: RunOptions): string {
  const line = (what: string, s: Readonly<Record<string, number>>, pick: readonly string[]): string =>
    `board ${what} counters over the section: ${pick.map((k) => `${k} ${s[k] ?? 0}`).join(", ")}`;
  const lines: string[] = [];
  if (o.sections.includes("tcp")) {
    lines.push(line("TCP", rates.boardTcpStats, ["txTsoSegments", "rxGroSegments", "txRetransmits", "fastRetransmits", "rtoFired", "dropOutOfWindow", "dropRecvFull", "dropOooFull", "txDropLink", "listenOverflows", "synCookiesSent", "timeouts", "resetsReceived"]));
  }
  if (o.sections.includes("udp")) {
    lines.push(line("UDP", rates.boardUdpStats, ["rxDatagrams", "txDatagrams", "dropQueueFull", "dropBadChecksum", "dropNoPort", "txErrors"]));
  }
  return lines.join("\n");
}

export function tcpLegend(o: RunOptions, rates: TcpRates): string[] {
  return [
    "  TCP/UDP         one C client (bench/c/tcpclient.c) in the client namespace for every target; median of",
    `                  ${o.repeats} run(s) of ${o.seconds} s, [min–max] over the runs. board: walnut in this process behind its TAP`,
    "                  (offloads: TSO/GRO super-frames and partial checksums, unless --no-offload). Linux: a C epoll",
    "                  server (bench/c/tcpserve.c) in another namespace behind a veth, offloads on (TSO/GRO: 64 KiB",
    "                  super-frames) and off (1514-byte frames, like a TAP; bulk only). lwIP: Debian's liblwip 2.1.3",
    "                  with the unix tapif netif on a TAP (bench/lwip/lwipserve.c, raw TCP/UDP API, tcpip thread).",
    "  bulk            kernel→board: write 64 KiB blocks to discard for the run, half-close, wait for the server's",
    "                  FIN (every byte taken); board→kernel: read chargen, every byte checked against RFC 864.",
    "  1-byte echo     send one byte, wait for it, repeat (TCP_NODELAY): 1 / round-trip time through TCP.",
    "  connect+echo    connect, 1-byte echo, close (an ordinary FIN), repeat. The client namespace keeps at most",
    `                  ${rates.timeWaitBuckets} TIME-WAIT sockets (net.ipv4.tcp_max_tw_buckets), so no run meets the ~32 k slowdown (docs/measurements.md).`,
    "  UDP echo        a 16-byte datagram to UDP echo 7, wait for it, check it, repeat: 1 / UDP round-trip time",
    "                  (a datagram lost for 1 s counts as lost; more than 10 lost fails the run).",
    "  CPU             serving process's CPU (user + system, all threads) per MB or per operation, and its share",
    "                  of one vCPU. Linux's tcpserve figure is only its own syscalls: most of the kernel's TCP work runs",
    "                  in the client's context or softirq and is not counted. Client CPU near 100% = client-bound.",
    "  verdict         board/Linux (offloads on) and board/lwIP: ratios of the medians, against issue 9's goals.",
  ];
}

// ---- MicroPython on the board -------------------------------------------------------------------------

function mpRate(c: MpCase, samples: readonly MpSample[]): string {
  if (samples.length === 0) return "—";
  const s = summarize(samples.map((x) => x.rate));
  if (!isBulkMode(c)) return formatRateSummary(s);
  const g = (x: number): string => (x / 1e9).toFixed(2);
  return samples.length <= 1 ? `${g(s.median)} Gbit/s` : `${g(s.median)} Gbit/s [${g(s.min)}–${g(s.max)}]`;
}

/** Per-call µs (one call per op, or CPU per MB for bulk) with its spread, and the server's CPU share. */
function mpCost(c: MpCase, samples: readonly MpSample[]): string {
  if (samples.length === 0) return "—";
  const busy = summarize(samples.map((s) => s.serverCpuSeconds / s.seconds)).median;
  const perUnit = isBulkMode(c)
    ? `${withSpread(samples.map((s) => (s.serverCpuSeconds * 1e3) / (s.bytes / 1e6)), 2)} ms/MB`
    : `${withSpread(samples.map((s) => (s.seconds * 1e6) / s.ops), 1)} µs/op`;
  return `${perUnit} (${percent(busy)} CPU)`;
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

export function mpTable(rates: MpRates): string {
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

export function mpFailures(rates: MpRates): string {
  if (rates.failures.length === 0) return "";
  return `\nFAILED runs (${rates.failures.length}):\n${rates.failures.map((f) => `  ${f.name} ${f.target}: ${f.reason}`).join("\n")}`;
}

export function mpLegend(o: RunOptions): string[] {
  return [
    "  MicroPython     bench/micropython/*.py under `walnut run` (MicroPython in a worker, the stack in the main",
    "                  thread, a bridge between them), driven by tcpclient from the TAP's namespace; built-in: the",
    "                  same walnut process's own echo/discard/chargen (no bridge); CPython: the same script in",
    "                  python3 serving the Linux kernel over a veth (readinto → recv_into, write → sendall).",
    `                  Median of ${o.repeats} × ${o.seconds} s. per op: wall time per operation (bulk: CPU per MB of the`,
    "                  walnut process, all threads); CPU: its share of one vCPU.",
  ];
}

export function legend(o: RunOptions, tcp: TcpRates | null): string {
  return [
    "Legend:",
    ...(o.withIcmp ? icmpLegend(o) : []),
    ...(tcp !== null ? tcpLegend(o, tcp) : []),
    ...(o.withMicroPython ? mpLegend(o) : []),
    ...(o.withTap ? tapLegend() : []),
  ].join("\n");
}
