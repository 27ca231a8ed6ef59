// ICMP echo round trips per second: the walnut board on its TAP against the Linux kernel behind a veth, with
// the same client (iputils `ping -f`, run inside a namespace) in the same run. bench/run.ts prints the result.
// Targets: board — TAP kernel side in namespace NS1, board stack in this process; kernel — client in NS2,
// responder in NS3, joined by a veth pair. Every namespace is created here and removed at the end (also on
// error or signal); no packet leaves them. Each ping run is bounded by `-w` (seconds) and `-c` (count).

import { performance } from "node:perf_hooks";
import { Board } from "../src/board/board.js";
import { parseIpv4, randomLocalMac } from "../src/core/addr.js";
import { configureLink, ipIn, netnsExecPrefix, netnsExists } from "../src/host/iproute.js";
import { createOwnedNetns, onCleanup, runChild, uniqueSuffix } from "./util.js";
import type { OnStep } from "./progress.js";

export interface IcmpRateOptions {
  /** Repeats of each (target, mode) pair; medians are taken over these. */
  repeats: number;
  /** Length of each run in whole seconds (ping's `-w` takes integers). */
  seconds: number;
  /** Requests kept in flight in pipelined mode (ping's `-l` preload). */
  window: number;
  /** Progress lines (to stderr); null for none. */
  log: ((line: string) => void) | null;
  /** Called before each ping run (the progress line). */
  onStep?: OnStep;
}

export type EchoMode = "sequential" | "pipelined";
export type EchoTarget = "board" | "kernel";

/** One ping run. */
export interface EchoSample {
  transmitted: number;
  received: number;
  /** Elapsed time as ping reports it. */
  seconds: number;
  repliesPerSec: number;
  /** This process's CPU (user + system) during the run, in seconds; the kernel runs leave it idle. */
  cpuSeconds: number;
}

export type IcmpRates = Record<EchoTarget, Record<EchoMode, EchoSample[]>>;

/** ping's default: 56 data bytes, an 84-byte IP packet, a 98-byte frame. */
export const ECHO_DATA_BYTES = 56;
const BOARD_IP = "10.78.1.2";
const NS1_CIDR = "10.78.1.1/24";
const NS2_CIDR = "10.78.2.1/24";
const NS3_IP = "10.78.2.2";
const NS3_CIDR = `${NS3_IP}/24`;
/** Upper bound on requests per run, on top of the time bound. */
const MAX_COUNT = 10_000_000;
/** Warm-up (ARP, JIT): at most this many requests, at most 1 s. */
const WARMUP_COUNT = 3000;

interface PingFlood {
  transmitted: number;
  received: number;
  seconds: number;
}

/**
 * Runs `ping -f` inside `ns` for `seconds` (or `count` requests) with `window` requests in flight, and
 * parses its summary. ping exits 1 when fewer than `-c` replies came by the deadline — expected here — so
 * only a missing summary or zero replies is an error.
 */
async function pingFlood(ns: string, dst: string, window: number, seconds: number, count: number): Promise<PingFlood> {
  const argv = [
    ...netnsExecPrefix(ns),
    "ping",
    "-n",
    "-q",
    "-f",
    "-s",
    String(ECHO_DATA_BYTES),
    "-w",
    String(seconds),
    "-c",
    String(count),
    ...(window > 1 ? ["-l", String(window)] : []),
    dst,
  ];
  const r = await runChild(argv, (seconds + 10) * 1000);
  const m = /(\d+) packets transmitted, (\d+) received.*?time (\d+)ms/.exec(r.stdout);
  if (r.timedOut || m === null) {
    const why = r.timedOut ? "did not finish in time" : (r.stderr.trim().split("\n")[0] ?? `exited with ${String(r.code)}`);
    throw new Error(`ping ${dst} in ${ns}: ${why || "no summary"}`);
  }
  if (/wrong data byte|DUP!/.test(r.stdout)) throw new Error(`ping ${dst} in ${ns}: corrupt or duplicate replies`);
  const flood = { transmitted: Number(m[1]), received: Number(m[2]), seconds: Number(m[3]) / 1000 };
  if (flood.received === 0) throw new Error(`ping ${dst} in ${ns}: no replies (${flood.transmitted} sent)`);
  return flood;
}

async function sample(ns: string, dst: string, window: number, seconds: number): Promise<EchoSample> {
  const cpu0 = process.cpuUsage();
  const f = await pingFlood(ns, dst, window, seconds, MAX_COUNT);
  const cpu = process.cpuUsage(cpu0);
  return {
    ...f,
    repliesPerSec: f.seconds > 0 ? f.received / f.seconds : NaN,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

/** Sets up both targets, warms them up, runs every (target, mode) pair `repeats` times interleaved. */
export async function measureIcmpRates(o: IcmpRateOptions): Promise<IcmpRates> {
  const log = o.log ?? ((): void => {});
  const suffix = uniqueSuffix();
  const ns1 = `wbicmp-board-${suffix}`;
  const ns2 = `wbicmp-client-${suffix}`;
  const ns3 = `wbicmp-kernel-${suffix}`;
  const vethClient = `wbvc${suffix}`;
  const vethKernel = `wbvk${suffix}`;
  const removers: (() => void)[] = [];
  try {
    // Kernel target first: its set-up runs `ip` synchronously, which must not happen while the board runs.
    log(`kernel target: ${ns2} —veth→ ${ns3}`);
    removers.push(createOwnedNetns(ns2));
    removers.push(createOwnedNetns(ns3));
    ipIn(ns2, ["link", "add", vethClient, "type", "veth", "peer", "name", vethKernel, "netns", ns3]);
    configureLink(ns2, vethClient, NS2_CIDR);
    configureLink(ns3, vethKernel, NS3_CIDR);

    // HostLink creates ns1 and removes it when the board stops; it adopts (and keeps) an existing one.
    if (netnsExists(ns1)) throw new Error(`namespace ${ns1} already exists; not touching it`);
    log(`board target: ${BOARD_IP} on a TAP, kernel side ${NS1_CIDR} in ${ns1}`);
    const board = Board.start({
      mac: randomLocalMac(),
      ip: parseIpv4(BOARD_IP),
      netmask: 0xffffff00,
      gateway: parseIpv4(NS1_CIDR.split("/")[0] ?? ""),
      mtu: 1500,
      tapName: "wbicmp%d",
      netns: ns1,
      hostCidr: NS1_CIDR,
      pcapPath: null,
      trace: null,
      faults: null,
    });
    removers.push(onCleanup(() => board.stop()));

    const targets: Record<EchoTarget, { ns: string; dst: string }> = {
      board: { ns: ns1, dst: BOARD_IP },
      kernel: { ns: ns2, dst: NS3_IP },
    };
    const onStep = o.onStep ?? ((): void => {});
    const total = 2 + o.repeats * 4;
    let index = 0;
    for (const t of ["board", "kernel"] as const) {
      onStep({ index: ++index, total, what: `warm-up ${t}` });
      const w = await pingFlood(targets[t].ns, targets[t].dst, o.window, 1, WARMUP_COUNT);
      log(`warm-up ${t}: ${w.received}/${w.transmitted} replies`);
    }

    const rates: IcmpRates = {
      board: { sequential: [], pipelined: [] },
      kernel: { sequential: [], pipelined: [] },
    };
    const started = performance.now();
    for (let r = 0; r < o.repeats; r++) {
      // Alternate which target goes first so a drift in machine load does not favour one of them.
      const order: EchoTarget[] = r % 2 === 0 ? ["board", "kernel"] : ["kernel", "board"];
      for (const mode of ["sequential", "pipelined"] as const) {
        for (const t of order) {
          onStep({ index: ++index, total, what: `${t} ${mode === "sequential" ? "one outstanding" : `${o.window} in flight`} repeat ${r + 1}/${o.repeats}` });
          const s = await sample(targets[t].ns, targets[t].dst, mode === "sequential" ? 1 : o.window, o.seconds);
          rates[t][mode].push(s);
          log(
            `repeat ${r + 1}/${o.repeats} ${t} ${mode}: ${s.received}/${s.transmitted} in ${s.seconds.toFixed(3)} s` +
              ` = ${Math.round(s.repliesPerSec)}/s, cpu ${s.cpuSeconds.toFixed(3)} s`,
          );
        }
      }
    }
    const icmp = board.stack.stats()["icmp"];
    log(
      `board icmp: ${icmp?.["rxEchoRequests"] ?? 0} requests, ${icmp?.["txEchoReplies"] ?? 0} replies; ` +
        `measured in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    return rates;
  } finally {
    for (const remove of removers.reverse()) remove();
  }
}
