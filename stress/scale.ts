// Stress section "scale": many connections from the kernel side to the board's echo service. First `busy`
// connections at once, each echoing 10 KiB (every byte checked); then `idle` connections opened (at most
// 500 handshakes at a time) and held, the board's RSS and PCB count read while they are all up, then a
// 1-byte echo on each. RSS per idle connection is the growth over the RSS just before they opened. After they
// close, the RSS is read after the settle and then (returnWait) until it is back near the section's start.

import { rssBytes, runConns, runHeldConns, sleep, waitForRssReturn, type ConnsResult, type RssReturnWait, type StressEnv } from "./env.js";

export interface ScaleOptions {
  /** Concurrent connections that each echo `busyBytes`. */
  busy: number;
  busyBytes: number;
  /** Idle connections held, then echoing one byte each. */
  idle: number;
  /** Seconds to wait after each phase before the RSS that is compared with the baseline. */
  settleSeconds: number;
  /** Then, at most this long for RSS to come back near the section's start (none: read once). */
  returnWait?: RssReturnWait;
}

export interface ScaleResult {
  busy: ConnsResult;
  idle: ConnsResult;
  /** Idle connections up at once, by the client's count and by the board's PCB table. */
  idleHeld: number;
  boardPcbsHeld: number;
  /** How long opening all idle connections took. */
  idleOpenSeconds: number;
  rssBefore: number;
  rssAfterBusy: number;
  rssBeforeIdle: number;
  rssIdleHeld: number;
  rssAfter: number;
  /** RSS once back near rssBefore, or when returnWait ran out; and the seconds waited after rssAfter. */
  rssReturned: number;
  returnSeconds: number;
  /** (rssIdleHeld − rssBeforeIdle) / idleHeld. */
  rssPerIdleConnection: number;
  /** The board's TCP counters that grew during the section. */
  tcpCounters: Record<string, number>;
}

/** At most this many of the idle connections handshake at once (a client opening them as fast as they complete). */
const IDLE_WINDOW = 500;

export async function runScale(env: StressEnv, o: ScaleOptions): Promise<ScaleResult> {
  const tcp = env.board.stack.tcp;
  const tcpBefore = { ...tcp.stats };
  const rssBefore = rssBytes();
  env.log(`scale: ${o.busy} concurrent connections × ${o.busyBytes} B echo`);
  const busy = await runConns(env, { count: o.busy, bytes: o.busyBytes, timeoutS: 60, intervalMs: 0, window: o.busy });
  env.log(`scale: ${busy.intact}/${o.busy} intact in ${busy.seconds.toFixed(1)} s ${JSON.stringify(busy.failures)}`);
  await sleep(o.settleSeconds * 1000);
  const rssAfterBusy = rssBytes();

  env.log(`scale: ${o.idle} idle connections`);
  const rssBeforeIdle = rssBytes();
  const held = runHeldConns(env, { count: o.idle, bytes: 1, timeoutS: 120, intervalMs: 0, window: IDLE_WINDOW });
  const up = await held.held;
  const rssIdleHeld = rssBytes();
  const boardPcbsHeld = tcp.allPcbs().length;
  env.log(`scale: ${up.held} held after ${up.seconds.toFixed(1)} s (the board holds ${boardPcbsHeld} PCBs), RSS +${((rssIdleHeld - rssBeforeIdle) / 1024 / Math.max(1, up.held)).toFixed(1)} KiB each`);
  held.release();
  const idle = await held.done;
  env.log(`scale: ${idle.intact}/${o.idle} echoed ${JSON.stringify(idle.failures)}`);
  await sleep(o.settleSeconds * 1000);
  const rssAfter = rssBytes();
  const returned = await waitForRssReturn(rssBefore, o.returnWait);
  const tcpCounters: Record<string, number> = {};
  for (const [name, value] of Object.entries(tcp.stats)) {
    const grew = value - (tcpBefore[name as keyof typeof tcpBefore] ?? 0);
    if (grew !== 0) tcpCounters[name] = grew;
  }
  return {
    busy,
    idle,
    idleHeld: up.held,
    boardPcbsHeld,
    idleOpenSeconds: up.seconds,
    rssBefore,
    rssAfterBusy,
    rssBeforeIdle,
    rssIdleHeld,
    rssAfter,
    rssReturned: returned.bytes,
    returnSeconds: returned.seconds,
    rssPerIdleConnection: up.held > 0 ? (rssIdleHeld - rssBeforeIdle) / up.held : NaN,
    tcpCounters,
  };
}
