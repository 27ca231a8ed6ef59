// Stress section "soak": a mixed load for a set time, all from the kernel side at once — a 16 MiB echo
// transfer every quarter second or so, a new 4 KiB echo connection every 50 ms, a burst of 200 concurrent 10 KiB echoes
// every 5 s, 1-byte latency probes (four connections, one every 200 ms on each), and a ping a second — with the board's RSS sampled every
// second. Afterwards the RSS should be back near where it started.

import {
  Pinger,
  RssSampler,
  runConns,
  runProbe,
  sleep,
  waitForRssReturn,
  type ConnsResult,
  type PingHealth,
  type ProbeResult,
  type RssReturnWait,
  type StressEnv,
} from "./env.js";

export interface SoakOptions {
  seconds: number;
  settleSeconds: number;
  /** Then, at most this long for RSS to come back near the start (none: read once). */
  returnWait?: RssReturnWait;
}

/** How many of a kind of job ran and how many came back intact. */
export interface JobTally {
  runs: number;
  intact: number;
  failures: Record<string, number>;
}

export interface SoakResult {
  seconds: number;
  ping: PingHealth;
  probe: ProbeResult;
  churn: ConnsResult;
  transfers: JobTally & { bytes: number };
  bursts: JobTally;
  rssStart: number;
  rssPeak: number;
  rssEnd: number;
  /** RSS once back near rssStart, or when returnWait ran out; and the seconds waited after rssEnd. */
  rssReturned: number;
  returnSeconds: number;
  /** RSS a second, bytes, from the soak's start. */
  rssSamples: number[];
}

const TRANSFER_BYTES = 16 << 20;
/** A pause between transfers, so they load the board without starving everything else of CPU. */
const TRANSFER_PAUSE_MS = 250;
const CHURN_INTERVAL_MS = 50;
const CHURN_BYTES = 4096;
const BURST_COUNT = 200;
const BURST_BYTES = 10 * 1024;
const BURST_PAUSE_MS = 5000;
const PROBE_INTERVAL_MS = 200;
const PROBE_CONNS = 4;

function tallyOf(results: readonly ConnsResult[]): JobTally {
  const failures: Record<string, number> = {};
  for (const r of results) for (const [k, v] of Object.entries(r.failures)) failures[k] = (failures[k] ?? 0) + v;
  return { runs: results.reduce((n, r) => n + r.count, 0), intact: results.reduce((n, r) => n + r.intact, 0), failures };
}

/** Runs `job` again and again until `endMs` (performance.now()), pausing `pauseMs` between runs. */
async function repeatUntil(endMs: number, pauseMs: number, job: () => Promise<ConnsResult>): Promise<ConnsResult[]> {
  const results: ConnsResult[] = [];
  while (performance.now() < endMs) {
    results.push(await job());
    if (pauseMs > 0 && performance.now() + pauseMs < endMs) await sleep(pauseMs);
  }
  return results;
}

export async function runSoak(env: StressEnv, o: SoakOptions): Promise<SoakResult> {
  env.log(`soak: ${o.seconds} s of mixed load`);
  const rss = new RssSampler(1000);
  const pinger = new Pinger(env, o.seconds + 30);
  const t0 = performance.now();
  const endMs = t0 + o.seconds * 1000;
  const churnCount = Math.max(1, Math.floor((o.seconds * 1000) / CHURN_INTERVAL_MS));
  const [probe, churn, transfers, bursts] = await Promise.all([
    runProbe(env, o.seconds, PROBE_INTERVAL_MS, PROBE_CONNS),
    runConns(env, { count: churnCount, bytes: CHURN_BYTES, timeoutS: o.seconds + 30, intervalMs: CHURN_INTERVAL_MS, window: churnCount }),
    repeatUntil(endMs, TRANSFER_PAUSE_MS, () => runConns(env, { count: 1, bytes: TRANSFER_BYTES, timeoutS: 60, intervalMs: 0, window: 1 })),
    repeatUntil(endMs, BURST_PAUSE_MS, () => runConns(env, { count: BURST_COUNT, bytes: BURST_BYTES, timeoutS: 60, intervalMs: 0, window: BURST_COUNT })),
  ]);
  const seconds = (performance.now() - t0) / 1000;
  const ping = await pinger.stop();
  await sleep(o.settleSeconds * 1000);
  const figures = rss.stop();
  const returned = await waitForRssReturn(figures.first, o.returnWait);
  const transferTally = tallyOf(transfers);
  const result: SoakResult = {
    seconds,
    ping,
    probe,
    churn,
    transfers: { ...transferTally, bytes: transferTally.intact * TRANSFER_BYTES },
    bursts: tallyOf(bursts),
    rssStart: figures.first,
    rssPeak: figures.peak,
    rssEnd: figures.last,
    rssReturned: returned.bytes,
    returnSeconds: returned.seconds,
    rssSamples: rss.samples.map((s) => s.bytes),
  };
  env.log(
    `soak: ${seconds.toFixed(0)} s; ping ${ping.answered}/${ping.sent}; probe p99 ${probe.rttMs.p99} ms max ${probe.rttMs.max} ms; ` +
      `churn ${churn.intact}/${churn.count}; transfers ${result.transfers.intact}/${result.transfers.runs}; bursts ${result.bursts.intact}/${result.bursts.runs}; ` +
      `RSS ${(figures.first / 2 ** 20).toFixed(0)} → peak ${(figures.peak / 2 ** 20).toFixed(0)} → ${(figures.last / 2 ** 20).toFixed(0)} MiB`,
  );
  return result;
}
