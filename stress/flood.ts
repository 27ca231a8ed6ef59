// Stress section "flood": a SYN flood (stressnet synflood: AF_PACKET, valid SYNs to the echo port from ten
// on-link kernel-side addresses, as fast as the kernel takes them) while, from the kernel side's own
// address, a 64 MiB echo transfer runs and 1-byte echoes probe latency (ten connections, one every 100 ms on
// each) — all on connections established before the flood, their data starting half a second into it — and
// a new connection (1-byte echo) is attempted every 100 ms. The board's counters give the SYNs it handled
// per second (tcp.synsReceived), answered (from the SYN queue or by cookie) and dropped; the TAP's drop counter
// shows the flood outran what the board reads.

import { FLOOD_SOURCE_COUNT, runConns, runHeldConns, runHeldProbe, sleep, stressnet, tapDrops, type ConnsResult, type ProbeResult, type StressEnv } from "./env.js";

export interface FloodOptions {
  /** How long the SYN flood lasts. */
  seconds: number;
  /** The echo transfer that runs under the flood. */
  transferBytes: number;
}

export interface FloodResult {
  seconds: number;
  /**
   * SYNs the flooder offered per second (those the TAP queued and those it dropped, its queue full: AF_PACKET
   * reports a drop as ENOBUFS, and sendmmsg stops there), those queued, and the frames per second the board read.
   */
  offeredPerSecond: number;
  queuedPerSecond: number;
  boardReadPerSecond: number;
  /** Frames the kernel dropped on the TAP's full queue during the flood (the flood's and real ones alike). */
  tapDrops: number;
  /** SYNs that reached a listener per second (`tcp.synsReceived`): answered, by either path, or dropped. */
  synsHandledPerSecond: number;
  /** SYNs the board answered per second (SYN-ACKs, from a SYN-RECEIVED PCB or a cookie) and dropped per second (full queues, PCB limit). */
  synsAnsweredPerSecond: number;
  /** Of those answered, the ones answered statelessly with a SYN cookie (no PCB). */
  synsByCookiePerSecond: number;
  synsDroppedPerSecond: number;
  transfer: ConnsResult;
  probe: ProbeResult;
  connects: ConnsResult;
  /** The board's TCP counters that grew during the flood. */
  tcpCounters: Record<string, number>;
}

interface FloodReport {
  sent: number;
  seconds: number;
  fps: number;
}

/** The transfer, the probe and the connection attempts start this long after the flood, and the probe and attempts end this long before it. */
const MARGIN_S = 0.5;
/** Ten probe connections with an echo every 100 ms each: a stalled echo holds up only its own connection. */
const PROBE_CONNS = 10;
const PROBE_INTERVAL_MS = 100;
const CONNECT_INTERVAL_MS = 100;
/** A legitimate connection gets this long (past the flood) to complete: Linux retries a lost SYN after 1 s and 3 s. */
const CONNECT_GRACE_S = 10;

export async function runFlood(env: StressEnv, o: FloodOptions): Promise<FloodResult> {
  const tcp = env.board.stack.tcp;
  const netif = env.board.stack.netif;
  // Warm the path (ARP both ways, the echo service's first connection) before anything is timed.
  await runConns(env, { count: 1, bytes: 1024, timeoutS: 10, intervalMs: 0, window: 1 });
  const clientSeconds = Math.max(1, o.seconds - 2 * MARGIN_S);
  // Established before the flood: issue 11's goal is about connections that exist when it starts.
  const transfer = runHeldConns(env, { count: 1, bytes: o.transferBytes, timeoutS: o.seconds + 120, intervalMs: 0, window: 1 });
  const probe = runHeldProbe(env, clientSeconds, PROBE_INTERVAL_MS, PROBE_CONNS);
  const [transferUp] = await Promise.all([transfer.held, probe.held]);
  if (transferUp.held !== 1) throw new Error("the transfer's connection did not come up before the flood");
  const tcpBefore = { ...tcp.stats };
  const readBefore = netif.stats.rxFrames;
  const dropsBefore = await tapDrops(env);
  env.log(`flood: ${o.seconds} s of SYNs from ${FLOOD_SOURCE_COUNT} sources at ${env.floodSourceIp}…, a ${o.transferBytes >> 20} MiB echo under it`);
  const t0 = performance.now();
  const flood = stressnet<FloodReport>(
    env,
    ["synflood", env.tap, env.boardMac, env.kernelMac, env.boardIp, 7, env.floodSourceIp, FLOOD_SOURCE_COUNT, o.seconds],
    (o.seconds + 10) * 1000,
  );
  await sleep(MARGIN_S * 1000);
  transfer.release();
  probe.release();
  const connectCount = Math.max(1, Math.floor((clientSeconds * 1000) / CONNECT_INTERVAL_MS));
  const connects = runConns(env, {
    count: connectCount,
    bytes: 1,
    timeoutS: clientSeconds + CONNECT_GRACE_S,
    intervalMs: CONNECT_INTERVAL_MS,
    window: connectCount,
  });
  const floodReport = await flood;
  const floodS = (performance.now() - t0) / 1000;
  const tcpAfter = { ...tcp.stats };
  const read = netif.stats.rxFrames - readBefore;
  const drops = (await tapDrops(env)) - dropsBefore;
  const [transferResult, probeResult, connectsResult] = await Promise.all([transfer.done, probe.done, connects]);
  const grew = (name: keyof typeof tcpBefore): number => tcpAfter[name] - tcpBefore[name];
  const tcpCounters: Record<string, number> = {};
  for (const name of Object.keys(tcpBefore) as (keyof typeof tcpBefore)[]) if (grew(name) !== 0) tcpCounters[name] = grew(name);
  const result: FloodResult = {
    seconds: floodS,
    offeredPerSecond: (floodReport.sent + drops) / floodReport.seconds,
    queuedPerSecond: floodReport.fps,
    boardReadPerSecond: read / floodS,
    tapDrops: drops,
    synsHandledPerSecond: grew("synsReceived") / floodS,
    synsAnsweredPerSecond: (grew("passiveOpens") + grew("synCookiesSent")) / floodS,
    synsByCookiePerSecond: grew("synCookiesSent") / floodS,
    synsDroppedPerSecond: (grew("listenOverflows") + grew("pcbLimit")) / floodS,
    transfer: transferResult,
    probe: probeResult,
    connects: connectsResult,
    tcpCounters,
  };
  env.log(
    `flood: offered ${Math.round(result.offeredPerSecond)} SYNs/s, board read ${Math.round(result.boardReadPerSecond)} frames/s, ` +
      `${drops} dropped on the TAP queue; SYNs handled ${Math.round(result.synsHandledPerSecond)}/s, answered ${Math.round(result.synsAnsweredPerSecond)}/s ` +
      `(by cookie ${Math.round(result.synsByCookiePerSecond)}/s), dropped ${Math.round(result.synsDroppedPerSecond)}/s; ` +
      `` +
      `transfer ${transferResult.intact}/1 in ${transferResult.seconds.toFixed(1)} s; probe p50 ${probeResult.rttMs.p50} p99 ${probeResult.rttMs.p99} max ${probeResult.rttMs.max} ms` +
      `${probeResult.lost > 0 ? `, ${probeResult.lost} lost` : ""}${probeResult.error !== undefined ? ` (${probeResult.error})` : ""}; connects ${connectsResult.intact}/${connectsResult.count}`,
  );
  // Let the flood's half-open connections time out of the way of the next section.
  await sleep(1000);
  return result;
}
