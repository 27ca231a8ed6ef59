// The stress run's world: one walnut board in this process (Board.start, as bench/tcpRate.ts does) on a TAP
// whose kernel side sits in a namespace created here and removed at the end, with the identities the fuzz
// vectors were built for (board 02:00:00:00:00:02 / 10.0.0.2, kernel side 02:00:00:00:00:01 / 10.0.0.1) and
// ten more kernel-side addresses for the SYN flood's sources. Also what every section uses: the
// stressnet helper (stress/c/stressnet.c) run in the namespace, a once-a-second ping, RSS sampling, the
// TAP's drop counter. Used by stress/run.ts and the short versions in test/stress/.

import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { Board } from "../src/board/board.js";
import { formatIpv4, formatMac } from "../src/core/addr.js";
import { ipIn, netnsExecPrefix } from "../src/host/iproute.js";
import { buildCProgram, createOwnedNetns, onCleanup, runChild, uniqueSuffix } from "../bench/util.js";
import { FUZZ_PEER, FUZZ_TARGET } from "./fuzzFrames.js";

/** The kernel side's extra addresses the SYN flood comes from: on-link, so the board's SYN-ACKs reach a host (which resets them). */
export const FLOOD_SOURCE_COUNT = 10;
const FLOOD_SOURCE_FIRST_OCTET = 101;
/** The board holds this many connections (`walnut up --max-connections`), room for the 10 000 idle ones and the flood's. */
export const STRESS_MAX_CONNECTIONS = 16_384;

export interface StressEnvOptions {
  /** Progress lines; null for none. */
  log: ((line: string) => void) | null;
  /** TCP connections the board may hold (default STRESS_MAX_CONNECTIONS). */
  maxConnections?: number;
}

export interface StressEnv {
  readonly board: Board;
  readonly ns: string;
  /** The TAP's name: the board's end here, the kernel's end in `ns`. */
  readonly tap: string;
  readonly boardIp: string;
  readonly kernelIp: string;
  readonly boardMac: string;
  readonly kernelMac: string;
  /** The first of the FLOOD_SOURCE_COUNT consecutive flood source addresses. */
  readonly floodSourceIp: string;
  /** The stressnet binary. */
  readonly stressnet: string;
  readonly log: (line: string) => void;
  /** Removes the board, its TAP and the namespace (also run at exit and on signals). */
  stop(): void;
}

/** Builds stress/build/stressnet when stale (synchronously: before any board runs). */
export function buildStressnet(): string {
  return buildCProgram("stress", "stressnet");
}

/**
 * Creates the namespace, starts the board and sets up the kernel side. Everything that runs `ip`
 * synchronously happens here, before any traffic: later, a synchronous child would stall the board.
 */
export function startStressEnv(o: StressEnvOptions): StressEnv {
  const log = o.log ?? ((): void => {});
  const stressnet = buildStressnet();
  const ns = `wstress-${uniqueSuffix()}`;
  const removeNs = createOwnedNetns(ns);
  // Per-namespace sysctls: every client port usable, and TIME-WAIT sockets of earlier sections reused, so
  // 10 000 idle connections after thousands of short ones do not run out of ports.
  const sysctl = (setting: string): void => void runSyncInNs(ns, ["sysctl", "-qw", setting]);
  sysctl("net.ipv4.ip_local_port_range=1024 65535");
  sysctl("net.ipv4.tcp_tw_reuse=1");
  const boardIp = formatIpv4(FUZZ_TARGET.ip);
  const kernelIp = formatIpv4(FUZZ_PEER.ip);
  let board: Board;
  try {
    board = Board.start({
      mac: FUZZ_TARGET.mac,
      ip: FUZZ_TARGET.ip,
      netmask: 0xffffff00,
      gateway: FUZZ_PEER.ip,
      mtu: 1500,
      tapName: "wstress%d",
      netns: ns,
      hostCidr: `${kernelIp}/24`,
      pcapPath: null,
      trace: null,
      faults: null,
      offload: true,
      maxConnections: o.maxConnections ?? STRESS_MAX_CONNECTIONS,
    });
  } catch (err) {
    removeNs();
    throw err;
  }
  const tap = board.host.tapName;
  const stopBoard = onCleanup(() => board.stop());
  const kernelMac = formatMac(FUZZ_PEER.mac);
  const prefix = kernelIp.split(".").slice(0, 3).join(".");
  try {
    // The fuzz vectors' peer identity; nothing has talked to the board yet, so no cache holds the old MAC.
    ipIn(ns, ["link", "set", "dev", tap, "address", kernelMac]);
    for (let i = 0; i < FLOOD_SOURCE_COUNT; i++) ipIn(ns, ["addr", "add", `${prefix}.${FLOOD_SOURCE_FIRST_OCTET + i}/24`, "dev", tap]);
  } catch (err) {
    stopBoard();
    removeNs();
    throw err;
  }
  log(`board ${boardIp} (${formatMac(FUZZ_TARGET.mac)}) on ${tap}; kernel side ${kernelIp} (${kernelMac}) in namespace ${ns}`);
  let isStopped = false;
  return {
    board,
    ns,
    tap,
    boardIp,
    kernelIp,
    boardMac: formatMac(FUZZ_TARGET.mac),
    kernelMac,
    floodSourceIp: `${prefix}.${FLOOD_SOURCE_FIRST_OCTET}`,
    stressnet,
    log,
    stop(): void {
      if (isStopped) return;
      isStopped = true;
      stopBoard();
      removeNs();
    },
  };
}

function runSyncInNs(ns: string, argv: readonly string[]): void {
  ipIn(null, ["netns", "exec", ns, ...argv]);
}

/** Runs stressnet `args` in the namespace (without blocking the board) and returns its last JSON line. */
export async function stressnet<T>(env: StressEnv, args: readonly (string | number)[], timeoutMs: number): Promise<T> {
  const r = await runChild([...netnsExecPrefix(env.ns), env.stressnet, ...args.map(String)], timeoutMs);
  return lastJson<T>(r.stdout, `stressnet ${args.join(" ")}`, r);
}

/** The last line of `stdout` that holds a JSON object; throws with the child's words when there is none. */
export function lastJson<T>(stdout: string, what: string, r: { code: number | null; stderr: string; timedOut: boolean }): T {
  const line = stdout
    .trim()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .at(-1);
  if (line === undefined) {
    const why = r.timedOut ? "did not finish in time" : r.stderr.trim().split("\n")[0] || `exited with ${String(r.code)}`;
    throw new Error(`${what}: ${why}`);
  }
  return JSON.parse(line) as T;
}

/** Latency figures as stressnet prints them (milliseconds). */
export interface MsSummary {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

/** stressnet conns' result line. */
export interface ConnsResult {
  count: number;
  bytes: number;
  connected: number;
  intact: number;
  held?: number;
  heldSeconds?: number;
  failures: Record<string, number>;
  connectMs: MsSummary;
  seconds: number;
}

/** stressnet probe's result line. */
export interface ProbeResult {
  rttMs: MsSummary;
  /** Probes whose echo had not come back after 10 s (their connection was given up). */
  lost: number;
  error?: string;
}

/** Arguments of stressnet conns (see stress/c/stressnet.c). */
export interface ConnsSpec {
  count: number;
  bytes: number;
  timeoutS: number;
  intervalMs: number;
  window: number;
  port?: number;
}

export function connsArgs(env: StressEnv, c: ConnsSpec): (string | number)[] {
  return ["conns", env.boardIp, c.port ?? 7, c.count, c.bytes, c.timeoutS, c.intervalMs, c.window];
}

/** Runs `count` connections that each echo `bytes` through the board's echo service. */
export function runConns(env: StressEnv, c: ConnsSpec): Promise<ConnsResult> {
  return stressnet<ConnsResult>(env, connsArgs(env, c), (c.timeoutS + 10) * 1000);
}

/** A 1-byte echo every `intervalMs` on each of `conns` connections, for `seconds`. */
export function runProbe(env: StressEnv, seconds: number, intervalMs: number, conns: number): Promise<ProbeResult> {
  return stressnet<ProbeResult>(env, ["probe", env.boardIp, 7, seconds, intervalMs, conns], (seconds + 20) * 1000);
}

/** A stressnet run started with --hold: up and waiting for `release()`. */
export interface HeldRun<T> {
  /** Resolves with the milestone once every connection is up (or failed); the caller measures then. */
  held: Promise<HeldMilestone>;
  /** Lets it go on: the connections echo, the probe probes. */
  release(): void;
  /** The final line. */
  done: Promise<T>;
}

export interface HeldMilestone {
  held: number;
  failed: number;
  seconds: number;
}

/** Starts stressnet `args` --hold in the namespace (killed after `timeoutS` + 15 s whatever happens). */
export function runHeld<T>(env: StressEnv, args: readonly (string | number)[], timeoutS: number): HeldRun<T> {
  const argv = [...netnsExecPrefix(env.ns), env.stressnet, ...args.map(String), "--hold"];
  const what = `stressnet ${args[0] ?? ""} --hold`;
  const child = spawn(argv[0] as string, argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
  const removeKill = onCleanup(() => child.kill("SIGKILL"));
  const timer = setTimeout(() => child.kill("SIGKILL"), (timeoutS + 15) * 1000);
  const lines: string[] = [];
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
  let resolveHeld: (v: HeldMilestone) => void = () => undefined;
  let rejectHeld: (e: Error) => void = () => undefined;
  const held = new Promise<HeldMilestone>((resolve, reject) => {
    resolveHeld = resolve;
    rejectHeld = reject;
  });
  createInterface({ input: child.stdout }).on("line", (line) => {
    if (line.startsWith('{"event":"held"')) resolveHeld(JSON.parse(line) as HeldMilestone);
    else lines.push(line);
  });
  const done = new Promise<T>((resolve, reject) => {
    child.on("error", (err) => reject(err));
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      removeKill();
      rejectHeld(new Error(`${what} ended before holding: ${stderr.trim() || String(code ?? signal)}`));
      try {
        resolve(lastJson<T>(lines.join("\n"), what, { code, stderr, timedOut: signal === "SIGKILL" }));
      } catch (err) {
        reject(err as Error);
      }
    });
  });
  // A rejection nobody awaits (held after done, or done when held failed) must not end the process.
  held.catch(() => undefined);
  done.catch(() => undefined);
  return { held, release: () => void child.stdin.end("\n"), done };
}

/** Connections opened and held until release(), then each echoing `bytes` (stressnet conns --hold). */
export function runHeldConns(env: StressEnv, c: ConnsSpec): HeldRun<ConnsResult> {
  return runHeld<ConnsResult>(env, connsArgs(env, c), c.timeoutS);
}

/** Probe connections opened now, probing only after release() (stressnet probe --hold). */
export function runHeldProbe(env: StressEnv, seconds: number, intervalMs: number, conns: number): HeldRun<ProbeResult> {
  return runHeld<ProbeResult>(env, ["probe", env.boardIp, 7, seconds, intervalMs, conns], seconds + 20);
}

/** The board process's resident set, bytes. */
export function rssBytes(): number {
  return process.memoryUsage.rss();
}

/** RSS every `everyMs` until stopped: the samples, and their peak. */
export class RssSampler {
  readonly samples: { atMs: number; bytes: number }[] = [];
  private readonly timer: NodeJS.Timeout;
  private readonly t0 = Date.now();

  constructor(everyMs: number) {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  private sample(): void {
    this.samples.push({ atMs: Date.now() - this.t0, bytes: rssBytes() });
  }

  stop(): { first: number; peak: number; last: number } {
    clearInterval(this.timer);
    this.sample();
    const bytes = this.samples.map((s) => s.bytes);
    return { first: bytes[0] ?? 0, peak: Math.max(...bytes), last: bytes.at(-1) ?? 0 };
  }
}

/** How long a section waits, after its settle, for RSS to come back near its baseline, and what "near" is. */
export interface RssReturnWait {
  seconds: number;
  isNear: (baseline: number, rss: number) => boolean;
}

/**
 * Memory freed after a burst comes back to the system when the garbage collector gets to it: V8 collects the
 * old generation (the connections' PCBs) in its own time, tens of seconds later on an idle process. Reads RSS
 * once a second until it is near `baseline` or `wait.seconds` have passed: the RSS read last and the seconds
 * waited (0 when it was near already).
 */
export async function waitForRssReturn(baseline: number, wait: RssReturnWait | undefined): Promise<{ bytes: number; seconds: number }> {
  const t0 = Date.now();
  let bytes = rssBytes();
  while (wait !== undefined && !wait.isNear(baseline, bytes) && Date.now() - t0 < wait.seconds * 1000) {
    await sleep(1000);
    bytes = rssBytes();
  }
  return { bytes, seconds: (Date.now() - t0) / 1000 };
}

/** Waits `ms` (the board keeps running). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The kernel side's count of frames it could not hand to the TAP's reader (its queue full). */
export async function tapDrops(env: StressEnv): Promise<number> {
  const r = await runChild(["ip", "-n", env.ns, "-s", "-j", "link", "show", "dev", env.tap], 5000);
  const links = JSON.parse(r.stdout) as { stats64?: { tx?: { dropped?: number } } }[];
  return links[0]?.stats64?.tx?.dropped ?? 0;
}

/** Ping's view of the board: every ping answered, and the slowest answer. */
export interface PingHealth {
  sent: number;
  answered: number;
  maxRttMs: number;
}

/**
 * One ping a second from the kernel side to the board for as long as it runs (at most `maxSeconds`).
 * `stop()` waits for the next answer (or 1.5 s), so the last ping is not counted lost only for being
 * in flight, then ends ping and returns what it saw.
 */
export class Pinger {
  private readonly child;
  private answered = 0;
  private maxRttMs = 0;
  private transmitted = -1;
  private onAnswer: (() => void) | null = null;
  private readonly removeKill: () => void;

  constructor(env: StressEnv, maxSeconds: number) {
    const argv = [...netnsExecPrefix(env.ns), "ping", "-n", "-i", "1", "-w", String(Math.ceil(maxSeconds)), env.boardIp];
    this.child = spawn(argv[0] as string, argv.slice(1), { stdio: ["ignore", "pipe", "ignore"] });
    this.removeKill = onCleanup(() => this.child.kill("SIGKILL"));
    createInterface({ input: this.child.stdout }).on("line", (line) => {
      const summary = /^(\d+) packets transmitted/.exec(line);
      if (summary !== null) this.transmitted = Number(summary[1]);
      const m = /icmp_seq=\d+ ttl=\d+ time=([\d.]+) ms/.exec(line);
      if (m === null) return;
      this.answered++;
      this.maxRttMs = Math.max(this.maxRttMs, Number(m[1]));
      this.onAnswer?.();
    });
  }

  async stop(): Promise<PingHealth> {
    const exited = new Promise<void>((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) resolve();
      else this.child.once("close", () => resolve());
    });
    await Promise.race([new Promise<void>((resolve) => (this.onAnswer = resolve)), sleep(1500), exited]);
    this.onAnswer = null;
    this.child.kill("SIGINT");
    await Promise.race([exited, sleep(2000)]);
    this.removeKill();
    this.child.kill("SIGKILL");
    if (this.transmitted < 0) throw new Error("ping printed no summary");
    return { sent: this.transmitted, answered: this.answered, maxRttMs: this.maxRttMs };
  }
}

/** Bytes as "12.3 MiB". */
export function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}
