// Stress section "fuzz": frames from stress/fuzzFrames.ts (random and mutated, the kernel side's own ARP
// identity kept) written into the TAP's kernel side by stressnet send (AF_PACKET), generated in a process
// of their own (stress/fuzzGen.ts) so the board's thread does nothing but take them. Meanwhile the kernel
// pings the board every second; afterwards a TCP echo must still work, and the RSS settle near its baseline.

import { runChild } from "../bench/util.js";
import { netnsExecPrefix } from "../src/host/iproute.js";
import { Pinger, RssSampler, lastJson, rssBytes, runConns, sleep, tapDrops, type PingHealth, type StressEnv } from "./env.js";

export interface FuzzOptions {
  frames: number;
  seed: number;
  /** The argv that runs stress/fuzzGen (node and the compiled file, or a TypeScript runner in tests); COUNT SEED are appended. */
  generator: readonly string[];
  /** Frames a second at most (stressnet send's pacing; 0: as fast as they come). */
  rate: number;
  /** Seconds to wait after the last frame before the RSS that is compared with the baseline. */
  settleSeconds: number;
}

export interface FuzzResult {
  frames: number;
  /** Frames the kernel took from stressnet send, and those it refused (empty or shorter than 14 bytes, over the MTU…). */
  sent: number;
  refused: number;
  /** Frames the board read from its TAP meanwhile (the pings' among them), and those the kernel dropped on a full TAP queue. */
  boardRead: number;
  tapDrops: number;
  seconds: number;
  framesPerSecond: number;
  ping: PingHealth;
  /** A 1 KiB TCP echo after the fuzzing came back intact. */
  echoAfter: boolean;
  rssBefore: number;
  rssPeak: number;
  rssAfter: number;
  /** Board counters that grew, for the record: drops by reason, ICMP errors sent, ARP. */
  counters: Record<string, number>;
}

interface SendReport {
  frames: number;
  sent: number;
  refusedShort: number;
  refusedLong: number;
  noBuffers: number;
  otherErrors: number;
  seconds: number;
}

/** Single-quotes `s` for bash. */
function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Every counter of the stack, flattened ("tcp.dropNoPcb"). */
export function flatCounters(env: StressEnv): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [layer, counters] of Object.entries(env.board.stack.stats())) {
    for (const [name, value] of Object.entries(counters)) out[`${layer}.${name}`] = value;
  }
  return out;
}

/** The counters that grew from `before` to `after`, by how much. */
export function grownCounters(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) if (v !== (before[k] ?? 0)) out[k] = v - (before[k] ?? 0);
  return out;
}

export async function runFuzz(env: StressEnv, o: FuzzOptions): Promise<FuzzResult> {
  const netif = env.board.stack.netif;
  const rssBefore = rssBytes();
  const countersBefore = flatCounters(env);
  const dropsBefore = await tapDrops(env);
  const readBefore = netif.stats.rxFrames;
  // At most ~20 k frames/s from one generator on a shared machine; a generous bound for the whole run.
  const boundS = 60 + o.frames / 5000;
  const pinger = new Pinger(env, boundS);
  const rss = new RssSampler(500);
  env.log(`fuzz: ${o.frames} frames (seed ${o.seed}) into ${env.tap} from ${env.ns}`);
  const generator = [...o.generator, String(o.frames), String(o.seed)].map(shellQuote).join(" ");
  const sender = [...netnsExecPrefix(env.ns), env.stressnet, "send", env.tap, String(o.rate)].map(shellQuote).join(" ");
  const t0 = performance.now();
  const r = await runChild(["bash", "-c", `set -o pipefail; ${generator} | ${sender}`], boundS * 1000);
  const seconds = (performance.now() - t0) / 1000;
  const report = lastJson<SendReport>(r.stdout, "fuzz sender", r);
  if (r.code !== 0) throw new Error(`fuzz generator or sender failed (exit ${String(r.code)}): ${r.stderr.trim().split("\n")[0] ?? ""}`);
  // Let the board take what is still queued and answer the last ping.
  await sleep(1000);
  const ping = await pinger.stop();
  const boardRead = netif.stats.rxFrames - readBefore;
  const drops = (await tapDrops(env)) - dropsBefore;
  const echo = await runConns(env, { count: 1, bytes: 1024, timeoutS: 10, intervalMs: 0, window: 1 });
  await sleep(o.settleSeconds * 1000);
  const rssFigures = rss.stop();
  const refused = report.refusedShort + report.refusedLong + report.noBuffers + report.otherErrors;
  env.log(
    `fuzz: ${report.sent} sent, ${refused} refused by the kernel, ${boardRead} read by the board, ${drops} dropped on the TAP queue, ` +
      `in ${seconds.toFixed(1)} s; ping ${ping.answered}/${ping.sent} (max ${ping.maxRttMs} ms)`,
  );
  return {
    frames: report.frames,
    sent: report.sent,
    refused,
    boardRead,
    tapDrops: drops,
    seconds,
    framesPerSecond: report.sent / seconds,
    ping,
    echoAfter: echo.intact === 1,
    rssBefore,
    rssPeak: rssFigures.peak,
    rssAfter: rssFigures.last,
    counters: grownCounters(countersBefore, flatCounters(env)),
  };
}
