// The options of `walnut bench` / `npm run bench -- …` / `node dist/bench/run.js …`: one table (OPTIONS) that
// both the parser and `--help` read, so every option is documented, one line each, with its default and range.
// Pure (no I/O beyond checking that an output file's folder exists): bench/run.ts calls it first, and
// test/bench/options.test.ts drives it directly. A bad option or value throws a UsageError with a one-line
// message; run.ts prints it and exits 2.

import { existsSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { TCP_METRICS, TCP_TARGETS, UDP_METRICS, isBulkMetric, type TcpMetric, type TcpTarget } from "./cells.js";

export const SECTIONS = ["icmp", "tcp", "udp", "tap", "micropython"] as const;
export type Section = (typeof SECTIONS)[number];

export interface RunOptions {
  repeats: number;
  seconds: number;
  window: number;
  isQuick: boolean;
  withIcmp: boolean;
  /** The TCP/UDP table runs (some of its rows were asked for: `tcp` and/or `udp`). */
  withTcp: boolean;
  withTap: boolean;
  withMicroPython: boolean;
  /** The sections that run, in SECTIONS order (`tcp`, `udp`: which rows of the TCP/UDP table). */
  sections: readonly Section[];
  lossTable: boolean;
  holdPolling: boolean;
  verbose: boolean;
  /** The board's TAP with offloads (TSO/GRO, partial checksums); false with --no-offload. */
  offload: boolean;
  /** TCP/UDP targets and metrics to measure (--targets, --metrics, --only); all by default. */
  tcpTargets: readonly TcpTarget[];
  tcpMetrics: readonly TcpMetric[];
  /** --json FILE, --plot FILE.svg (absolute paths), or null. */
  jsonPath: string | null;
  plotPath: string | null;
}

export class UsageError extends Error {}

interface OptionDoc {
  /** Without the leading "--". */
  readonly name: string;
  readonly type: "boolean" | "string";
  /** The value's placeholder in --help ("N", "LIST"…), for string options. */
  readonly arg?: string;
  readonly short?: string;
  readonly help: string;
}

/** Every option, in --help order. */
export const OPTIONS: readonly OptionDoc[] = [
  { name: "quick", type: "boolean", help: "smoke run: 1 repeat of 1 s, short TAP runs (~30 s); not a measurement" },
  { name: "repeats", type: "string", arg: "N", help: "runs of each cell; tables show median [min–max] (1–20, default 5; --quick 1)" },
  { name: "seconds", type: "string", arg: "S", help: "length of each run, whole seconds (1–10, default 2; --quick 1)" },
  { name: "window", type: "string", arg: "N", help: "ICMP requests in flight in the pipelined mode (2–1024, default 32)" },
  { name: "only", type: "string", arg: "LIST", help: `run only these sections: ${SECTIONS.join(",")} (default: all)` },
  { name: "no-icmp", type: "boolean", help: "skip the ICMP echo section" },
  { name: "no-tcp", type: "boolean", help: "skip the TCP rows (bulk both ways, 1-byte echo, connect+echo+close)" },
  { name: "no-udp", type: "boolean", help: "skip the UDP echo row of the TCP/UDP table" },
  { name: "no-tap", type: "boolean", help: "skip the TAP frames-per-second section" },
  { name: "no-micropython", type: "boolean", help: "skip the MicroPython-on-the-board section" },
  { name: "targets", type: "string", arg: "LIST", help: `TCP/UDP columns to measure: ${TCP_TARGETS.join(",")} (default: all; the rest print —)` },
  { name: "metrics", type: "string", arg: "LIST", help: `TCP/UDP rows to measure: ${TCP_METRICS.join(",")} (default: all)` },
  { name: "no-offload", type: "boolean", help: "board TAP without the virtio-net header: 1514-byte frames, no TSO/GRO (default: offloads on)" },
  { name: "halting-idle", type: "boolean", help: "let idle vCPUs halt (default: hold /dev/cpu_dma_latency at 0 so they poll)" },
  { name: "json", type: "string", arg: "FILE", help: "also write samples, medians/min/max, ratios, machine facts, failures as JSON (default: none)" },
  { name: "plot", type: "string", arg: "FILE.svg", help: "also draw throughput over time of each bulk run, one line per target, as SVG (default: none)" },
  { name: "verbose", type: "boolean", help: "each run's raw counts on stderr (default: only a progress line, on a terminal)" },
  { name: "loss-table", type: "boolean", help: "only the simulated transfer-time-vs-loss table (no root; with --quick 1 MiB, not saved)" },
  { name: "help", type: "boolean", short: "h", help: "this text" },
];

export function helpText(): string {
  const flag = (o: OptionDoc): string => `${o.short !== undefined ? `-${o.short}, ` : ""}--${o.name}${o.arg !== undefined ? ` ${o.arg}` : ""}`;
  const width = Math.max(...OPTIONS.map((o) => flag(o).length));
  return [
    "usage: walnut bench [options]   (the same: npm run bench -- [options], node dist/bench/run.js [options]; needs root)",
    "Measures the walnut board beside the Linux kernel and lwIP in one run; tables and a verdict on stdout.",
    "options:",
    ...OPTIONS.map((o) => `  ${flag(o).padEnd(width)}  ${o.help}`),
    "exit status: 0 measured; 1 not root, a set-up error or a failed board run; 2 a bad option.",
  ].join("\n");
}

const SPEC = Object.fromEntries(
  OPTIONS.map((o) => [o.name, o.short !== undefined ? { type: o.type, short: o.short } : { type: o.type }]),
) as Record<string, { type: "boolean" | "string"; short?: string }>;

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

/** An output file: its folder must exist now, so a long run does not fail at the end. */
function outputOption(name: string, text: string | undefined, suffix: string | null): string | null {
  if (text === undefined) return null;
  if (text === "") throw new UsageError(`--${name}: expected a file name`);
  if (suffix !== null && !text.endsWith(suffix)) throw new UsageError(`--${name}: expected a file name ending in ${suffix}, got '${text}'`);
  const path = resolve(text);
  const folder = dirname(path);
  if (!existsSync(folder) || !statSync(folder).isDirectory()) throw new UsageError(`--${name}: no such folder: ${folder}`);
  if (existsSync(path) && statSync(path).isDirectory()) throw new UsageError(`--${name}: ${path} is a folder`);
  return path;
}

/** Node's parseArgs message, cut to one line ("unknown option --x", "option --repeats needs a value"). */
function parseArgsMessage(err: unknown): string {
  const first = err instanceof Error ? (err.message.split("\n")[0] ?? "") : String(err);
  return first
    .replace(/^Unknown option '(.*?)'.*$/, "unknown option $1")
    .replace(/^Option '(\S+)(?: <value>)?' argument missing$/, "option $1 needs a value")
    .replace(/\. To specify.*$/, "");
}

/** Parses the command line; "help" for --help. Throws UsageError (one line) on a bad option or value. */
export function parseOptions(argv: readonly string[]): RunOptions | "help" {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: [...argv], options: SPEC, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError(parseArgsMessage(err));
  }
  const str = (name: string): string | undefined => {
    const v = values[name];
    return typeof v === "string" ? v : undefined;
  };
  const flag = (name: string): boolean => values[name] === true;
  if (flag("help")) return "help";

  const isQuick = flag("quick");
  const onlyText = str("only");
  const only = onlyText === undefined ? SECTIONS : onlyText.split(",").map((x) => x.trim());
  for (const name of only) {
    if (!(SECTIONS as readonly string[]).includes(name)) throw new UsageError(`--only: unknown section '${name}' (choose from ${SECTIONS.join(", ")})`);
  }
  const wants = (name: Section): boolean => only.includes(name) && !flag(`no-${name}`);
  const tcpTargets = listOption("targets", str("targets"), TCP_TARGETS);
  // `tcp` and `udp` pick rows of the one TCP/UDP table; --metrics narrows them further.
  const tcpMetrics = listOption("metrics", str("metrics"), TCP_METRICS).filter((m) =>
    UDP_METRICS.includes(m) ? wants("udp") : wants("tcp"),
  );
  const withTcp = tcpMetrics.length > 0 && tcpTargets.length > 0;
  const sections = SECTIONS.filter((s) =>
    s === "tcp" ? withTcp && tcpMetrics.some((m) => !UDP_METRICS.includes(m)) : s === "udp" ? withTcp && tcpMetrics.some((m) => UDP_METRICS.includes(m)) : wants(s),
  );
  const lossTable = flag("loss-table");
  const jsonPath = outputOption("json", str("json"), null);
  const plotPath = outputOption("plot", str("plot"), ".svg");
  if (lossTable && (jsonPath !== null || plotPath !== null)) throw new UsageError("--json and --plot do not apply to --loss-table");
  if (plotPath !== null && !(withTcp && tcpMetrics.some(isBulkMetric))) {
    throw new UsageError("--plot draws the TCP bulk runs, and none are selected (check --only, --metrics, --no-tcp)");
  }
  if (!lossTable && sections.length === 0) throw new UsageError("nothing to measure: every section is excluded (check --only, --no-…, --metrics)");
  return {
    repeats: intOption("repeats", str("repeats"), isQuick ? 1 : 5, 1, 20),
    seconds: intOption("seconds", str("seconds"), isQuick ? 1 : 2, 1, 10),
    window: intOption("window", str("window"), 32, 2, 1024),
    isQuick,
    withIcmp: sections.includes("icmp"),
    withTcp,
    withTap: sections.includes("tap"),
    withMicroPython: sections.includes("micropython"),
    sections,
    lossTable,
    holdPolling: !flag("halting-idle"),
    verbose: flag("verbose"),
    offload: !flag("no-offload"),
    tcpTargets,
    tcpMetrics,
    jsonPath,
    plotPath,
  };
}
