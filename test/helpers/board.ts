// Interop and CLI test helpers: a Board on a real TAP whose kernel side sits in a namespace the test creates
// (and always removes), and kernel-side programs run asynchronously — the stack shares this process's event
// loop, so a synchronous child (execFileSync) would stall it and every reply with it.

import { afterAll, beforeAll, expect } from "vitest";
import { spawn } from "node:child_process";
import { Board, type BoardOptions } from "../../src/board/board.js";
import { formatMac, parseIpv4, prefixToMask } from "../../src/core/addr.js";
import { deleteNetns, netnsExists } from "../../src/host/iproute.js";
import { uniqueName } from "./env.js";

export interface RunResult {
  /** Exit code, or null when killed by a signal (timeout included). */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/**
 * Runs `argv` to completion without blocking the event loop. Killed with SIGKILL after `timeoutMs`, so no
 * test can hang on a child. Never rejects: a spawn failure comes back as code 127 with the error on stderr.
 */
export function runAsync(
  argv: readonly string[],
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  return new Promise((resolve) => {
    const [cmd, ...args] = argv;
    const child = spawn(cmd ?? "false", args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: options.env ?? process.env,
      cwd: options.cwd,
    });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      resolve({ code: 127, signal: null, stdout, stderr: stderr + err.message, timedOut });
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

/** Runs `argv` inside namespace `ns` (`ip netns exec ns …`). */
export function runInNetns(ns: string, argv: readonly string[], timeoutMs = 10_000): Promise<RunResult> {
  return runAsync(["ip", "netns", "exec", ns, ...argv], { timeoutMs });
}

export interface PingSummary {
  transmitted: number;
  received: number;
  lossPercent: number;
}

/** iputils ping's summary line: "N packets transmitted, M received, [+E errors, ]P% packet loss". */
export function parsePingSummary(stdout: string): PingSummary {
  const m = /(\d+) packets transmitted, (\d+) received(?:, \+\d+ \w+)*, ([\d.]+)% packet loss/.exec(stdout);
  if (m === null) throw new Error(`no ping summary in:\n${stdout}`);
  return { transmitted: Number(m[1]), received: Number(m[2]), lossPercent: Number(m[3]) };
}

/** Resolves when `cond()` holds (checked every 10 ms), rejects after `timeoutMs`. */
export async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The MAC of `dev` inside `ns`, from `ip -n ns link show dev` ("link/ether xx:xx:…"). */
export async function kernelMac(ns: string, dev: string): Promise<string> {
  const r = await runAsync(["ip", "-n", ns, "link", "show", "dev", dev], { timeoutMs: 5000 });
  const m = /link\/ether ([0-9a-f:]{17})/.exec(r.stdout);
  if (m === null) throw new Error(`no MAC for ${dev} in ${ns}: ${r.stdout}${r.stderr}`);
  return m[1]!;
}

/** A running board, its namespace and addresses; `stop()` removes everything, even after a failed start. */
export interface TestBoard {
  board: Board;
  ns: string;
  tap: string;
  boardIp: string;
  kernelIp: string;
  boardMac: string;
  stop(): void;
}

/**
 * Starts a board at `subnet`.2/24 with the kernel side at `subnet`.1/24 in a fresh namespace with a unique
 * name (`prefix` + pid + random). `subnet` is the first three octets, e.g. "10.66.1".
 */
export function startTestBoard(
  prefix: string,
  subnet: string,
  extra: Partial<Pick<BoardOptions, "pcapPath" | "trace" | "mtu" | "faults" | "offload" | "iperf3">> = {},
): TestBoard {
  const ns = uniqueName(`${prefix}n`);
  const tap = uniqueName(`${prefix}t`);
  const boardIp = `${subnet}.2`;
  const kernelIp = `${subnet}.1`;
  const mac = new Uint8Array([0x02, 0x57, 0x41, 0x4c, Math.floor(Math.random() * 256), 0x02]);
  let board: Board;
  try {
    board = Board.start({
      mac,
      ip: parseIpv4(boardIp),
      netmask: prefixToMask(24),
      gateway: parseIpv4(kernelIp),
      mtu: extra.mtu ?? 1500,
      tapName: tap,
      netns: ns,
      hostCidr: `${kernelIp}/24`,
      pcapPath: extra.pcapPath ?? null,
      trace: extra.trace ?? null,
      faults: extra.faults ?? null,
      offload: extra.offload ?? true,
      iperf3: extra.iperf3 ?? null,
    });
  } catch (err) {
    removeNetns(ns);
    throw err;
  }
  return {
    board,
    ns,
    tap,
    boardIp,
    kernelIp,
    boardMac: formatMac(mac),
    stop(): void {
      try {
        board.stop();
      } finally {
        removeNetns(ns);
      }
    },
  };
}

/** Deletes namespace `ns` if it still exists; never throws (cleanup must not mask a test failure). */
export function removeNetns(ns: string): void {
  try {
    if (netnsExists(ns)) deleteNetns(ns);
  } catch (err) {
    console.warn(`could not remove namespace ${ns}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The sum of every counter whose name starts with "drop" in `stats` (one layer's or the whole stack's). */
export function dropTotal(stats: Record<string, Readonly<Record<string, number>>>): number {
  let total = 0;
  for (const layer of Object.values(stats)) {
    for (const [name, value] of Object.entries(layer)) if (name.startsWith("drop")) total += value;
  }
  return total;
}

/**
 * The usual fixture of an interop file: a board started before its tests (inside a describe), stopped after
 * them with its namespace removed, and checked quiescent (docs/architecture.md "Tests": a stopped board has nothing armed).
 * Returns the accessor the tests call.
 */
export function useTestBoard(
  prefix: string,
  subnet: string,
  extra: Parameters<typeof startTestBoard>[2] = {},
): () => TestBoard {
  let tb: TestBoard | null = null;
  beforeAll(() => {
    tb = startTestBoard(prefix, subnet, extra);
  });
  afterAll(() => {
    const b = tb;
    tb = null;
    b?.stop();
    if (b !== null) expect(b.board.scheduler.armedLabels()).toEqual([]);
  });
  return () => {
    if (tb === null) throw new Error("board did not start");
    return tb;
  };
}
