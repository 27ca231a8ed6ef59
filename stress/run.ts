// `npm run stress`: issue 11's reliability goals measured against one walnut board in this process, on a
// TAP whose kernel side sits in a namespace created here and removed at the end (stress/env.ts): fuzzed
// frames (stress/fuzz.ts), a SYN flood under real traffic (stress/flood.ts), a mixed soak (stress/soak.ts),
// and 1 000 busy and 10 000 idle connections (stress/scale.ts), in that order. Prints one table: each goal, the figure
// measured, met or NOT met (stress/goals.ts). Needs root; no packet leaves the namespace.
// Options: --quick, --only SECTIONS, --soak-seconds S, --json FILE, --help.

import { cpus, loadavg, release } from "node:os";
import { existsSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { cleanupAll, formatTable } from "../bench/util.js";
import { DEFAULT_SERVICE_BACKLOG } from "../src/apps/services.js";
import { STRESS_MAX_CONNECTIONS, startStressEnv, type StressEnv } from "./env.js";
import { runFuzz, type FuzzResult } from "./fuzz.js";
import { runFlood, type FloodResult } from "./flood.js";
import { runScale, type ScaleResult } from "./scale.js";
import { runSoak, type SoakResult } from "./soak.js";
import { failedRow, floodRows, fuzzRows, grouped, isNearBaseline, metText, RSS_RETURN_SECONDS, scaleRows, soakRows, type GoalRow } from "./goals.js";

// Node opens its inspector on SIGUSR1 unless a listener handles it: the stress run is root, so one does.
process.on("SIGUSR1", () => undefined);

const SECTIONS = ["fuzz", "flood", "scale", "soak"] as const;
type Section = (typeof SECTIONS)[number];

interface StressOptions {
  sections: readonly Section[];
  isQuick: boolean;
  fuzzFrames: number;
  floodSeconds: number;
  floodTransferBytes: number;
  busy: number;
  busyBytes: number;
  idle: number;
  soakSeconds: number;
  settleSeconds: number;
  jsonPath: string | null;
}

class UsageError extends Error {}

const USAGE = "usage: node dist/stress/run.js [--quick] [--only fuzz,flood,scale,soak] [--soak-seconds S] [--json FILE] [--help]";

const HELP = `${USAGE}

Measures issue 11's goals against a walnut board started in this process, in a network namespace of its own
(created and removed here), and prints one table: each test, the figure measured, the goal, met or NOT met.
The sections run in this order:

  fuzz    1 000 000 fuzzed frames (stress/fuzzFrames.ts) written into the TAP's kernel side, a ping a second,
          RSS before and after
  flood   a 10 s SYN flood from 10 on-link addresses during a 64 MiB echo transfer, with a 1-byte echo
          latency probe and new connections; SYNs handled per second from the board's counters
  soak    mixed load (transfers, short connections, bursts, a latency probe, pings) for --soak-seconds
  scale   1 000 concurrent connections × 10 KiB echo; 10 000 idle connections, then a 1-byte echo on each;
          RSS per idle connection

  The soak's and scale's memory rows wait, after their settle, up to 60 s for RSS to come back near where the
  section started (freed memory returns when V8 collects its old generation, often tens of seconds later).

  --quick           100 000 frames, a 5 s flood under a 16 MiB transfer, a 10 s soak (scale keeps its sizes)
  --only LIST       run only these sections (comma-separated)
  --soak-seconds S  length of the soak, 1-3600 (default 60; 10 with --quick)
  --json FILE       also write every figure and the table as JSON to FILE
  --help            this text

Needs root. Exit status: 0 when every section ran (whatever the goals), 1 when one failed or on a
set-up error, 2 on a bad option.`;

const SPEC = {
  quick: { type: "boolean" },
  only: { type: "string" },
  "soak-seconds": { type: "string" },
  json: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

function parseOptions(argv: readonly string[]): StressOptions | "help" {
  let v;
  try {
    v = parseArgs({ args: [...argv], options: SPEC, strict: true, allowPositionals: false }).values;
  } catch (err) {
    const message = err instanceof Error ? (err.message.split("\n")[0] ?? "") : String(err);
    throw new UsageError(
      message
        .replace(/^Unknown option '(.*?)'.*$/, "unknown option $1")
        .replace(/^Unexpected argument '(.*?)'.*$/, "unexpected argument '$1'")
        .replace(/\. To specify.*$/, ""),
    );
  }
  if (v.help === true) return "help";
  const isQuick = v.quick === true;
  let sections: readonly Section[] = SECTIONS;
  if (v.only !== undefined) {
    const picked = v.only.split(",").map((s) => s.trim());
    for (const p of picked) if (!(SECTIONS as readonly string[]).includes(p)) throw new UsageError(`--only: unknown section '${p}' (choose from ${SECTIONS.join(", ")})`);
    sections = SECTIONS.filter((s) => picked.includes(s));
  }
  let soakSeconds = isQuick ? 10 : 60;
  const soakText = v["soak-seconds"];
  if (soakText !== undefined) {
    if (!/^\d+$/.test(soakText) || Number(soakText) < 1 || Number(soakText) > 3600) {
      throw new UsageError(`--soak-seconds: expected a whole number from 1 to 3600, got '${soakText}'`);
    }
    soakSeconds = Number(soakText);
  }
  let jsonPath: string | null = null;
  if (v.json !== undefined) {
    jsonPath = resolve(v.json);
    const dir = dirname(jsonPath);
    if (v.json === "") throw new UsageError("--json: expected a file name");
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`--json: folder ${dir} does not exist`);
    if (existsSync(jsonPath) && statSync(jsonPath).isDirectory()) throw new UsageError(`--json: ${jsonPath} is a folder`);
  }
  return {
    sections,
    isQuick,
    fuzzFrames: isQuick ? 100_000 : 1_000_000,
    floodSeconds: isQuick ? 5 : 10,
    floodTransferBytes: isQuick ? 16 << 20 : 64 << 20,
    busy: 1000,
    busyBytes: 10 * 1024,
    idle: 10_000,
    soakSeconds,
    settleSeconds: isQuick ? 3 : 5,
    jsonPath,
  };
}

/** The fuzz generator as a child: node and the compiled stress/fuzzGen.js beside this file. */
function generatorArgv(): string[] {
  return [process.execPath, join(dirname(fileURLToPath(import.meta.url)), "fuzzGen.js")];
}

interface Results {
  fuzz?: FuzzResult;
  flood?: FloodResult;
  scale?: ScaleResult;
  soak?: SoakResult;
}

async function runSections(env: StressEnv, o: StressOptions, results: Results, rows: GoalRow[]): Promise<boolean> {
  let isComplete = true;
  const attempt = async <T>(section: Section, run: () => Promise<T>, toRows: (r: T) => GoalRow[]): Promise<T | undefined> => {
    if (!o.sections.includes(section)) return undefined;
    try {
      const r = await run();
      rows.push(...toRows(r));
      return r;
    } catch (err) {
      isComplete = false;
      rows.push(failedRow(section, err));
      env.log(`${section} FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      return undefined;
    }
  };
  results.fuzz = await attempt("fuzz", () => runFuzz(env, { frames: o.fuzzFrames, seed: 1, rate: 50_000, generator: generatorArgv(), settleSeconds: o.settleSeconds }), fuzzRows);
  results.flood = await attempt("flood", () => runFlood(env, { seconds: o.floodSeconds, transferBytes: o.floodTransferBytes }), (r) => floodRows(r, o.floodTransferBytes));
  // The soak before scale: the 10 000 idle connections' rings stay in the process (issue 11), and the soak's
  // RSS is judged against where it started.
  const returnWait = { seconds: RSS_RETURN_SECONDS, isNear: isNearBaseline };
  results.soak = await attempt("soak", () => runSoak(env, { seconds: o.soakSeconds, settleSeconds: o.settleSeconds, returnWait }), soakRows);
  results.scale = await attempt(
    "scale",
    () => runScale(env, { busy: o.busy, busyBytes: o.busyBytes, idle: o.idle, settleSeconds: o.settleSeconds, returnWait }),
    (r) => scaleRows(r, o.busyBytes),
  );
  return isComplete;
}

async function main(argv: readonly string[]): Promise<number> {
  let o: StressOptions | "help";
  try {
    o = parseOptions(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`stress: ${err.message}\n`);
    return 2;
  }
  if (o === "help") {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write("stress: needs root (a TAP device and network namespaces need CAP_NET_ADMIN): run it with sudo\n");
    return 1;
  }
  const log = (line: string): void => void process.stderr.write(`stress: ${line}\n`);
  const startedMs = Date.now();
  let env: StressEnv;
  try {
    env = startStressEnv({ log });
  } catch (err) {
    process.stderr.write(`stress: set-up failed: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  const results: Results = {};
  const rows: GoalRow[] = [];
  let isComplete: boolean;
  try {
    isComplete = await runSections(env, o, results, rows);
  } finally {
    env.stop();
  }
  const seconds = (Date.now() - startedMs) / 1000;
  const header =
    `walnut stress${o.isQuick ? " --quick" : ""}: board ${env.boardIp} in process, offloads on, max ${grouped(STRESS_MAX_CONNECTIONS)} connections, ` +
    `echo backlog ${DEFAULT_SERVICE_BACKLOG}; ${cpus().length} CPUs (load ${loadavg()[0]?.toFixed(1) ?? "?"}), Linux ${release()}; ${seconds.toFixed(0)} s`;
  const table = formatTable(
    ["test", "measured", "goal", "result"],
    rows.map((r) => [r.test, r.measured, r.goal, metText(r.met)]),
  );
  process.stdout.write(`\n${header}\n\n${table}\n`);
  if (o.jsonPath !== null) {
    writeFileSync(o.jsonPath, JSON.stringify({ header, options: o, results, rows }, null, 2) + "\n");
    log(`figures written to ${o.jsonPath}`);
  }
  return isComplete ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    cleanupAll();
    process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`stress: ${err instanceof Error ? err.message : String(err)}\n`);
    cleanupAll();
    process.exit(1);
  },
);
