// `npm run bench`: ICMP echo round trips per second, walnut board vs the Linux kernel, in one run
// (bench/icmpRate.ts), then TAP frames per second, walnut's addon vs a plain C program (bench/tapRate.ts), and
// a legend. Needs root: everything happens in network namespaces created here and removed at the end.
// Options: --quick (1 × 1 s smoke run), --repeats N, --seconds S, --window N, --no-tap, --halting-idle, --verbose.

import { cpus, loadavg, release } from "node:os";
import { readdirSync } from "node:fs";
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import { deleteNetns } from "../src/host/iproute.js";
import { ECHO_DATA_BYTES, measureIcmpRates, type EchoMode, type EchoSample, type IcmpRates } from "./icmpRate.js";
import { measureTapRates, type TapRates } from "./tapRate.js";
import {
  cleanupAll,
  formatCount,
  formatRateSummary,
  formatRatio,
  formatTable,
  holdCpuDmaLatencyZero,
  onCleanup,
  summarize,
} from "./util.js";

interface RunOptions {
  repeats: number;
  seconds: number;
  window: number;
  isQuick: boolean;
  withTap: boolean;
  holdPolling: boolean;
  verbose: boolean;
}

class UsageError extends Error {}

const USAGE =
  "usage: node dist/bench/run.js [--quick] [--repeats N] [--seconds S] [--window N] [--no-tap] [--halting-idle] [--verbose]";

const SPEC = {
  quick: { type: "boolean" },
  repeats: { type: "string" },
  seconds: { type: "string" },
  window: { type: "string" },
  "no-tap": { type: "boolean" },
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
  return {
    repeats: intOption("repeats", v.repeats, isQuick ? 1 : 5, 1, 20),
    seconds: intOption("seconds", v.seconds, isQuick ? 1 : 2, 1, 10),
    window: intOption("window", v.window, 32, 2, 1024),
    isQuick,
    withTap: v["no-tap"] !== true,
    holdPolling: v["halting-idle"] !== true,
    verbose: v.verbose === true,
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

function legend(o: RunOptions): string {
  return [
    "Legend:",
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
    ...(o.withTap
      ? [
          `  TAP frames/s    ${TAP_FRAME_BYTES}-byte frames through one TAP, walnut's N-API addon vs a plain C read()/write()`,
          "                  loop on the same path; read is fed by a C AF_PACKET flooder. addon/C: 1.00 = no overhead.",
        ]
      : []),
  ].join("\n");
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
    const rates = await measureIcmpRates({ repeats: o.repeats, seconds: o.seconds, window: o.window, log });
    console.log(`ICMP echo round trips per second (ping -f, ${ECHO_DATA_BYTES} data bytes), median of ${o.repeats} × ${o.seconds} s [min–max]`);
    console.log(echoTable(rates, o));

    if (o.withTap) {
      const unguard = guardTapNamespaces();
      const tap = await measureTapRates(o.isQuick ? { readSeconds: 1, writeCount: 100_000, verbose: o.verbose } : { verbose: o.verbose });
      unguard();
      console.log(`\nTAP frames per second, ${TAP_FRAME_BYTES}-byte frames, one run each`);
      console.log(tapTable(tap));
    }
    console.log(`\n${legend(o)}`);
    console.log(`\nbench took ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return 0;
  } catch (err) {
    console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    cleanupAll();
  }
}

process.exitCode = await main(process.argv.slice(2));
