// Transfer time vs loss: two walnut stacks joined by a MemLink on the simulated clock, each sending through a
// seeded FaultInjector that drops frames at random. Stack B sends SIZE bytes of seeded random data to the
// echo service on stack A while reading the echo back, half-closes, and waits for A's FIN; the bytes back
// must hash (SHA-256) to the bytes sent. For each loss rate × NewReno/CUBIC × loss recovery (RACK-TLP and
// RFC 6675 with SACK, NewReno without) it reports the simulated transfer time, goodput each way,
// retransmissions, RTOs and tail loss probes. Deterministic for given seeds (no host
// timers, no network). `npm run bench -- --loss-table` prints it and writes bench/results/loss-table.md.

import { createHash } from "node:crypto";
import { performance } from "node:perf_hooks";
import { SimClock } from "../src/core/clock.js";
import { Scheduler } from "../src/core/scheduler.js";
import { parseIpv4, parseMac } from "../src/core/addr.js";
import { Prng } from "../src/core/prng.js";
import { memLinkPair } from "../src/link/memlink.js";
import { FaultInjector } from "../src/link/fault.js";
import { Stack, type StackConfig } from "../src/stack/stack.js";
import { SERVICE_PORTS, TcpServices } from "../src/apps/services.js";
import { DEFAULT_TCP_CONFIG, type TcpPcbInfo } from "../src/tcp/tcp.js";
import type { TcpPcb } from "../src/tcp/pcb.js";
import { CONGESTION_CONTROLS, type CongestionControlName } from "../src/tcp/cc/index.js";
import { formatTable } from "./util.js";

export const LOSS_RATES = [0, 0.001, 0.01, 0.02, 0.05] as const;
/** Loss recovery per row: RACK-TLP (RFC 8985) and RFC 6675 need SACK; "newreno" is SACK off (RFC 6582). */
export const RECOVERIES = ["rack", "rfc6675", "newreno"] as const;
export type LossRecoveryChoice = (typeof RECOVERIES)[number];
const RECOVERY_LABELS: Readonly<Record<LossRecoveryChoice, string>> = { rack: "RACK-TLP", rfc6675: "RFC 6675", newreno: "NewReno" };
/** One-way latency of the simulated wire (RTT 2 ms); no rate limit, so windows bound the goodput. */
export const LATENCY_MS = 1;
/** FaultInjector seeds: A's transmit side uses SEED, B's SEED + 1 (as test/helpers/twoStacks.ts). */
const SEED = 7;
const DATA_SEED = 42;
/**
 * Seeds the stacks' own randomness (StackConfig.random: ISN, cookie and port secrets, timestamp offsets, IP
 * IDs) so that a row replays exactly: A uses ENTROPY_SEED, B ENTROPY_SEED + 1.
 */
export const ENTROPY_SEED = 1;
/** Simulated time allowed for one transfer before it counts as stalled. */
const LIMIT_MS = 30 * 60 * 1000;

export interface LossRow {
  lossRate: number;
  recovery: LossRecoveryChoice;
  congestionControl: CongestionControlName;
  /** Simulated milliseconds from connect() to the client's receipt of the server's FIN. */
  transferMs: number;
  /** Payload bytes per second each way (SIZE / transferMs). */
  goodputBitsPerSec: number;
  /** Segments retransmitted by both stacks (fast + timeout), fast retransmits, retransmission timeouts. */
  retransmits: number;
  fastRetransmits: number;
  rtoFired: number;
  /** Tail loss probes sent (RFC 8985 §7), both stacks. */
  tlpProbes: number;
  /** Frames the injectors dropped, both directions. */
  framesDropped: number;
  framesSent: number;
  wallMs: number;
  /** Why the transfer did not complete intact (then transferMs is when it ended); null when it did. */
  failure: string | null;
}

export interface LossTable {
  sizeBytes: number;
  entropySeed: number;
  rows: LossRow[];
  wallMs: number;
}

function randomBytes(n: number, seed: number): Uint8Array {
  const rng = new Prng(seed);
  const b = new Uint8Array(n);
  for (let i = 0; i + 4 <= n; i += 4) {
    const x = rng.nextU32();
    b[i] = x & 0xff;
    b[i + 1] = (x >>> 8) & 0xff;
    b[i + 2] = (x >>> 16) & 0xff;
    b[i + 3] = x >>> 24;
  }
  for (let i = n & ~3; i < n; i++) b[i] = rng.nextU32() & 0xff;
  return b;
}

function sha256(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}

/** One connection's state in a line, sequence numbers relative to the ISNs. */
function describePcb(i: TcpPcbInfo): string {
  const rel = (seq: number, base: number): number => (seq - base) >>> 0;
  return (
    `${i.state} snd una+${rel(i.sndUna, i.iss)} nxt+${rel(i.sndNxt, i.iss)} max+${rel(i.sndMax, i.iss)} wnd ${i.sndWnd} ` +
    `cwnd ${i.cwnd}; rcv nxt+${rel(i.rcvNxt, i.irs)} wnd ${i.rcvWnd}; queued send ${i.sendQueued} recv ${i.recvQueued}; ` +
    `rto ${i.rtoMs} ms, ${i.retransmits} rexmits`
  );
}

/** One transfer: SIZE bytes each way through echo, under `lossRate` in both directions. */
export function runLossRow(
  data: Uint8Array,
  dataSha: string,
  lossRate: number,
  recovery: LossRecoveryChoice,
  congestionControl: CongestionControlName,
  entropySeed: number,
): LossRow {
  const wall0 = performance.now();
  const scheduler = new Scheduler(new SimClock(1000));
  const [wireA, wireB] = memLinkPair(scheduler, { latencyMs: LATENCY_MS, mtu: 1500 });
  const faultA = new FaultInjector(wireA, scheduler, { seed: SEED, loss: lossRate, directions: "tx" });
  const faultB = new FaultInjector(wireB, scheduler, { seed: SEED + 1, loss: lossRate, directions: "tx" });
  const tcp: StackConfig["tcp"] = {
    sack: recovery !== "newreno",
    rack: recovery === "rack",
    defaults: { ...DEFAULT_TCP_CONFIG.defaults, congestionControl },
  };
  const base = { netmask: 0xffffff00, gateway: 0, mtu: 1500, tcp };
  const ipA = parseIpv4("10.0.0.1");
  const a = new Stack(faultA, { ...base, mac: parseMac("02:00:00:00:00:01"), ip: ipA, random: entropySeed }, scheduler);
  const b = new Stack(faultB, { ...base, mac: parseMac("02:00:00:00:00:02"), ip: parseIpv4("10.0.0.2"), random: entropySeed + 1 }, scheduler);
  a.start();
  b.start();
  const services = new TcpServices(a.tcp);
  if (services.start() !== 0) throw new Error("loss table: cannot start the echo service");
  try {
    // The client: write as the send ring takes it, half-close after the last byte, collect the echo.
    const received = new Uint8Array(data.length);
    let sent = 0;
    let receivedBytes = 0;
    let overflow = false;
    let doneAtMs = -1;
    let error = 0;
    const startMs = scheduler.now();
    const pump = (pcb: TcpPcb): void => {
      while (sent < data.length) {
        const n = b.tcp.write(pcb, data, sent, Math.min(65536, data.length - sent));
        if (typeof n !== "number" || n <= 0) break;
        sent += n;
      }
      if (sent === data.length && !pcb.finQueued) b.tcp.shutdownWrite(pcb);
    };
    const pcb = b.tcp.connect(ipA, SERVICE_PORTS.echo, {
      connected: pump,
      writable: pump,
      readable: (p) => {
        for (;;) {
          const room = received.length - receivedBytes;
          if (room === 0) {
            // More bytes than were sent: corruption or duplication got through. Drain and flag it.
            if (p.recvRing.length > 0) overflow = true;
            b.tcp.consume(p, p.recvRing.length);
            break;
          }
          const n = b.tcp.read(p, received, receivedBytes, room);
          if (n <= 0) break;
          receivedBytes += n;
        }
        if (p.finReceived && p.recvRing.length === 0 && doneAtMs < 0) {
          doneAtMs = scheduler.now();
          b.tcp.close(p);
        }
      },
      error: (_p, err) => {
        error = err;
        if (doneAtMs < 0) doneAtMs = scheduler.now();
      },
    });
    if (typeof pcb === "number") throw new Error(`loss table: connect failed (${pcb})`);
    // Both connections' last state before the end, every 50 simulated ms, for the report of a failure.
    let lastState = "";
    const endMs = scheduler.now() + LIMIT_MS;
    while (doneAtMs < 0 && scheduler.now() < endMs) {
      scheduler.advance(50);
      const server = a.tcp.allPcbs()[0];
      if (!pcb.freed && server !== undefined && doneAtMs < 0) {
        lastState = `client ${describePcb(b.tcp.info(pcb))} | server ${describePcb(a.tcp.info(server))}`;
      }
    }
    const sa = a.tcp.stats;
    const sb = b.tcp.stats;
    let failure: string | null = null;
    if (doneAtMs < 0) {
      doneAtMs = scheduler.now();
      failure = `stalled: no end after ${LIMIT_MS / 1000} simulated s`;
    } else if (error !== 0) {
      failure = `the client's connection failed with error ${error}`;
    } else if (overflow || receivedBytes !== data.length || sha256(received) !== dataSha) {
      failure =
        `echoed data differs: ${receivedBytes} of ${data.length} B${overflow ? ", more than sent" : ""}, ` +
        `SHA-256 ${sha256(received.subarray(0, receivedBytes)).slice(0, 16)}… ≠ ${dataSha.slice(0, 16)}…`;
    }
    if (failure !== null) {
      failure +=
        ` at ${((doneAtMs - startMs) / 1000).toFixed(3)} s; client wrote ${sent} B, read ${receivedBytes} B; ` +
        `server dropOutOfWindow ${sa.dropOutOfWindow}, timeouts ${sa.timeouts}, resets sent ${sa.txResets}; ` +
        `client dropOutOfWindow ${sb.dropOutOfWindow}, timeouts ${sb.timeouts}, resets received ${sb.resetsReceived}; ` +
        `last state: ${lastState}`;
    }
    const transferMs = doneAtMs - startMs;
    return {
      lossRate,
      recovery,
      congestionControl,
      transferMs,
      goodputBitsPerSec: (data.length * 8) / (transferMs / 1000),
      retransmits: sa.txRetransmits + sb.txRetransmits,
      fastRetransmits: sa.fastRetransmits + sb.fastRetransmits,
      rtoFired: sa.rtoFired + sb.rtoFired,
      tlpProbes: sa.tlpProbes + sb.tlpProbes,
      framesDropped: (faultA.tx?.stats.dropped ?? 0) + (faultB.tx?.stats.dropped ?? 0),
      framesSent: (faultA.tx?.stats.frames ?? 0) + (faultB.tx?.stats.frames ?? 0),
      wallMs: performance.now() - wall0,
      failure,
    };
  } finally {
    services.stop();
    a.stop();
    b.stop();
  }
}

/** Runs every configuration; a stalled, failed or corrupted transfer is a row with `failure` set. */
export function measureLossTable(sizeBytes: number, log: ((line: string) => void) | null, entropySeed = ENTROPY_SEED): LossTable {
  const wall0 = performance.now();
  const data = randomBytes(sizeBytes, DATA_SEED);
  const dataSha = sha256(data);
  const rows: LossRow[] = [];
  for (const lossRate of LOSS_RATES) {
    for (const congestionControl of CONGESTION_CONTROLS) {
      for (const recovery of RECOVERIES) {
        const row = runLossRow(data, dataSha, lossRate, recovery, congestionControl, entropySeed);
        rows.push(row);
        log?.(
          `loss ${lossRate} ${congestionControl} ${recovery}: ${(row.transferMs / 1000).toFixed(3)} s simulated, ` +
            `${row.retransmits} retransmits, ${row.framesDropped}/${row.framesSent} frames dropped, ${row.wallMs.toFixed(0)} ms wall` +
            `${row.failure !== null ? `; FAILED: ${row.failure}` : ""}`,
        );
      }
    }
  }
  return { sizeBytes, entropySeed, rows, wallMs: performance.now() - wall0 };
}

function formatMiB(bytes: number): string {
  return bytes % (1 << 20) === 0 ? `${bytes >> 20} MiB` : `${(bytes / (1 << 20)).toFixed(2)} MiB`;
}

/** The table as Markdown (aligned for a terminal too). */
export function formatLossTable(t: LossTable): string {
  const rows = t.rows.map((r) => [
    `${(r.lossRate * 100).toString()} %`,
    r.congestionControl === "cubic" ? "CUBIC" : "NewReno",
    r.recovery === "newreno" ? "off" : "on",
    RECOVERY_LABELS[r.recovery],
    r.failure === null ? `${(r.transferMs / 1000).toFixed(3)} s` : `FAILED at ${(r.transferMs / 1000).toFixed(1)} s`,
    r.failure === null ? `${(r.goodputBitsPerSec / 1e6).toFixed(1)} Mbit/s` : "—",
    String(r.retransmits),
    String(r.fastRetransmits),
    String(r.rtoFired),
    String(r.tlpProbes),
    `${r.framesDropped} / ${r.framesSent}`,
  ]);
  return formatTable(
    [
      "loss",
      "CC",
      "SACK",
      "recovery",
      "transfer time",
      "goodput each way",
      "retransmitted segments",
      "fast retransmits",
      "RTO",
      "TLP",
      "frames dropped / sent",
    ],
    rows,
  );
}

/** One paragraph per failed row (empty when none failed). */
export function formatLossFailures(t: LossTable): string {
  return t.rows
    .filter((r) => r.failure !== null)
    .map(
      (r) =>
        `- FAILED: loss ${r.lossRate * 100} %, ${r.congestionControl}, ${RECOVERY_LABELS[r.recovery]}: ${r.failure}. ` +
        `Replays exactly (seeds above).`,
    )
    .join("\n");
}

export function lossTableHeading(t: LossTable): string {
  return (
    `TCP transfer time vs loss: ${formatMiB(t.sizeBytes)} each way through echo between two walnut stacks ` +
    `(MemLink, ${LATENCY_MS} ms one-way, no rate limit, simulated clock; random loss on both directions, seeds ` +
    `${SEED}/${SEED + 1}); every row checks the echo's SHA-256 against the data's`
  );
}
