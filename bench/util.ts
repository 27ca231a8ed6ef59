// Helpers shared by the benchmarks: statistics over repeats, child processes run asynchronously (the board's
// stack shares this event loop, so nothing may block it while a board runs), namespaces owned by the bench
// and removed on exit, error or signal, the /dev/cpu_dma_latency hold that keeps idle vCPUs polling, servers
// run as children, per-process CPU from /proc, and helper programs built on demand into bench/build/.
// Used by bench/run.ts, bench/icmpRate.ts and bench/tcpRate.ts; never by the stack.

import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createNetns, deleteNetns, netnsExists } from "../src/host/iproute.js";

/** Median, minimum and maximum of a set of repeats. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  samples: readonly number[];
}

export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) return { median: NaN, min: NaN, max: NaN, samples };
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, samples };
}

// ---- clean-up on exit, error and signals --------------------------------------------------------------

type CleanupStep = () => void;
const cleanupSteps: CleanupStep[] = [];
const liveChildren = new Set<ChildProcess>();
let areSignalsHooked = false;

/**
 * Registers a synchronous clean-up step (run newest first). Returns a function that runs the step now and
 * unregisters it. Steps also run on SIGINT/SIGTERM/SIGHUP, after which the process exits (128 + signal).
 */
export function onCleanup(step: CleanupStep): () => void {
  hookSignals();
  cleanupSteps.push(step);
  let isDone = false;
  return () => {
    if (isDone) return;
    isDone = true;
    const i = cleanupSteps.indexOf(step);
    if (i >= 0) cleanupSteps.splice(i, 1);
    step();
  };
}

/** Kills every child still running and runs every registered step. Safe to call more than once. */
export function cleanupAll(): void {
  for (const child of liveChildren) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  liveChildren.clear();
  while (cleanupSteps.length > 0) {
    const step = cleanupSteps.pop()!;
    try {
      step();
    } catch (err) {
      process.stderr.write(`bench: clean-up step failed: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  }
}

function hookSignals(): void {
  if (areSignalsHooked) return;
  areSignalsHooked = true;
  const signals = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const;
  // A second signal (a Ctrl-C that reaches both `walnut bench` and this process, which the former also
  // forwards) must not kill the process half-way through the clean-up: after the first, the rest are ignored.
  let isExiting = false;
  for (const [name, num] of Object.entries(signals)) {
    process.on(name as NodeJS.Signals, () => {
      if (isExiting) return;
      isExiting = true;
      process.stderr.write(`\nbench: ${name}, removing what the bench created\n`);
      cleanupAll();
      process.exit(128 + num);
    });
  }
  process.once("exit", cleanupAll);
}

// ---- network namespaces -------------------------------------------------------------------------------

/** A name no one else uses: `prefix` + pid + a random suffix (interface names keep ≤ 15 characters). */
export function uniqueSuffix(): string {
  return `${process.pid % 100000}${Math.floor(Math.random() * 1000)}`;
}

/**
 * Creates namespace `name` (failing if it already exists, so we never adopt and later delete someone
 * else's) and registers its removal. Returns the function that removes it now.
 */
export function createOwnedNetns(name: string): () => void {
  if (netnsExists(name)) throw new Error(`namespace ${name} already exists; not touching it`);
  createNetns(name);
  return onCleanup(() => deleteNetns(name));
}

// ---- child processes ----------------------------------------------------------------------------------

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/**
 * Runs `argv` without blocking the event loop; SIGKILLs it after `timeoutMs`. `env` adds variables to this
 * process's environment for the child. Rejects only when it cannot be started (ENOENT…). Children still
 * running at clean-up are killed.
 */
export function runChild(argv: readonly string[], timeoutMs: number, env?: Readonly<Record<string, string>>): Promise<ChildResult> {
  const [cmd, ...args] = argv;
  if (cmd === undefined) return Promise.reject(new Error("runChild: empty command"));
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], ...(env !== undefined ? { env: { ...process.env, ...env } } : {}) });
    liveChildren.add(child);
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      liveChildren.delete(child);
      reject(new Error(`cannot run ${cmd}: ${err.message}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      liveChildren.delete(child);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

// ---- idle vCPUs ---------------------------------------------------------------------------------------

/**
 * Asks the kernel (PM QoS) for 0 µs wake-up latency, so idle vCPUs poll instead of halting, for as long as
 * the returned release function has not been called (or the process lives). Returns null when
 * /dev/cpu_dma_latency cannot be opened. docs/measurements.md: with halting idle, round trips drop 3–4× and swing.
 */
export function holdCpuDmaLatencyZero(): (() => void) | null {
  let fd: number;
  try {
    fd = openSync("/dev/cpu_dma_latency", "w");
    writeSync(fd, new Uint8Array(new Int32Array([0]).buffer));
  } catch {
    return null;
  }
  return onCleanup(() => closeSync(fd));
}

// ---- formatting ---------------------------------------------------------------------------------------

/** 12345 → "12.3 k", 1234567 → "1.23 M". */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return "—";
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)} k`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(2)} k`;
  return n.toFixed(0);
}

/** "12.3 k/s [11.9–13.0]": median and range of repeats. */
export function formatRateSummary(s: Summary, unit = "/s"): string {
  if (s.samples.length <= 1) return `${formatCount(s.median)}${unit}`;
  return `${formatCount(s.median)}${unit} [${formatCount(s.min).replace(/ /g, "")}–${formatCount(s.max).replace(/ /g, "")}]`;
}

export function formatRatio(a: number, b: number): string {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return "—";
  return a / b < 0.1 ? (a / b).toFixed(3) : (a / b).toFixed(2);
}

/** Prints a Markdown table with columns padded to line up in a terminal. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? "").length)));
  const line = (r: readonly string[]): string => `| ${widths.map((w, c) => (r[c] ?? "").padEnd(w)).join(" | ")} |`;
  const rule = `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`;
  return [line(header), rule, ...rows.map(line)].join("\n");
}

// ---- long-running children (servers) ------------------------------------------------------------------

/** A server process started by `startServer`; `stop()` SIGTERMs it and resolves when it has exited. */
export interface RunningServer {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Everything it wrote to stderr so far (its exit summary, or why it died). */
  stderr(): string;
  /** Whether it is still running. */
  isAlive(): boolean;
  stop(): Promise<void>;
}

/**
 * Starts `argv` and waits (at most `timeoutMs`) until its stdout has a line starting with `readyPrefix`.
 * The child is killed at clean-up if still running. Rejects if it exits or stays silent first.
 */
export function startServer(argv: readonly string[], readyPrefix: string, timeoutMs: number): Promise<RunningServer> {
  const [cmd, ...args] = argv;
  if (cmd === undefined) return Promise.reject(new Error("startServer: empty command"));
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    liveChildren.add(child);
    let stdout = "";
    let stderr = "";
    let isReady = false;
    const exited = new Promise<void>((done) => child.once("close", () => done()));
    child.once("close", () => liveChildren.delete(child));
    const fail = (why: string): void => {
      if (isReady) return;
      isReady = true;
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      reject(new Error(`${argv.join(" ")}: ${why}${stderr.trim() !== "" ? ` (${stderr.trim().split("\n")[0]})` : ""}`));
    };
    const timer = setTimeout(() => fail("not ready in time"), timeoutMs);
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    child.stdout.setEncoding("utf8").on("data", (s: string) => {
      stdout += s;
      if (isReady || !stdout.split("\n").some((line) => line.startsWith(readyPrefix))) return;
      isReady = true;
      clearTimeout(timer);
      resolve({
        child,
        pid: child.pid ?? -1,
        stderr: () => stderr,
        isAlive: () => child.exitCode === null && child.signalCode === null,
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
          await exited;
        },
      });
    });
    child.on("error", (err) => fail(`cannot start: ${err.message}`));
    child.once("close", (code, signal) => fail(`exited (${signal ?? String(code)}) before it was ready`));
  });
}

/**
 * CPU time (user + system, every thread) a process has used so far, in seconds, from the nanosecond
 * counters in /proc/PID/task/TID/schedstat; NaN when the process is gone.
 */
export function processCpuSeconds(pid: number): number {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const field = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0];
      ns += Number(field);
    }
    return ns / 1e9;
  } catch {
    return NaN;
  }
}

// ---- helper programs ----------------------------------------------------------------------------------

/** The directory holding package.json above this file (the repository, or the installed package). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("bench: no package.json above this file");
    dir = parent;
  }
  return dir;
}

/**
 * Runs `build` (synchronously: only before a board is started) unless `binary` exists and is newer than
 * every one of `sources`. Returns `binary`. Build output goes to this process's stderr.
 */
export function buildIfStale(binary: string, sources: readonly string[], build: readonly string[]): string {
  const builtMs = existsSync(binary) ? statSync(binary).mtimeMs : -1;
  if (builtMs >= 0 && sources.every((s) => statSync(s).mtimeMs <= builtMs)) return binary;
  mkdirSync(dirname(binary), { recursive: true });
  const [cmd, ...args] = build;
  if (cmd === undefined) throw new Error("buildIfStale: empty command");
  try {
    execFileSync(cmd, args, { stdio: ["ignore", "inherit", "inherit"] });
  } catch {
    throw new Error(`building ${binary} failed (${build.join(" ")})`);
  }
  return binary;
}

/**
 * A one-file C helper, FOLDER/c/NAME.c (FOLDER: bench or stress), built into FOLDER/build/NAME when stale
 * (synchronously: only before a board is started) → the binary.
 */
export function buildCProgram(folder: "bench" | "stress", name: string): string {
  const root = packageRoot();
  const binary = join(root, folder, "build", name);
  const source = join(root, folder, "c", `${name}.c`);
  return buildIfStale(binary, [source], ["cc", "-O2", "-Wall", "-o", binary, source]);
}
