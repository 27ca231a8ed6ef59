// TCP side by side, in one run, with one client binary (bench/c/tcpclient.c) for every target: the walnut
// board on its TAP, the Linux kernel behind a veth (bench/c/tcpserve.c in another namespace; also a per-frame
// veth with offloads off, for the bulk rows), and lwIP 2.1.3 on a TAP (bench/lwip/lwipserve.c, Debian's
// liblwip). Metrics: bulk to discard 9 and from chargen 19 (Gbit/s, with throughput over time every 100 ms),
// 1-byte echo transactions on echo 7 (/s), connect + 1-byte echo + close (/s), and UDP echo round trips on
// UDP echo 7 (/s; board, Linux offloads on, lwIP). bench/run.ts prints the result.
// Network: namespaces C (client; holds both TAPs' kernel sides and one end of each veth) and K (the kernel
// server), created here and removed at the end, also on error or signal; no packet leaves them. Every client
// run is bounded in time (and count), every server in lifetime.

import { performance } from "node:perf_hooks";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { Board } from "../src/board/board.js";
import { parseIpv4, randomLocalMac } from "../src/core/addr.js";
import { configureLink, ipIn, netnsExecPrefix, netnsExists } from "../src/host/iproute.js";
import { TCP_BULK_METRICS, TCP_METRICS, TCP_TARGETS, isBulkMetric, type TcpMetric, type TcpTarget } from "./cells.js";
import type { OnStep } from "./progress.js";
import { measureBoardMemory, type BoardMemory } from "./boardMemory.js";
import {
  buildCProgram,
  buildIfStale,
  createOwnedNetns,
  onCleanup,
  packageRoot,
  processCpuSeconds,
  runChild,
  startServer,
  uniqueSuffix,
  type RunningServer,
} from "./util.js";

export interface TcpRateOptions {
  /** Repeats of each (target, metric) pair; medians are taken over these. */
  repeats: number;
  /** Length of each client run in seconds. */
  seconds: number;
  /** Progress lines (to stderr); null for none. */
  log: ((line: string) => void) | null;
  /** The board's TAP with offloads (default true); false: plain frames (--no-offload). */
  offload?: boolean;
  /** Only these targets and metrics (default: all). */
  targets?: readonly TcpTarget[];
  metrics?: readonly TcpMetric[];
  /** Called before each client run (the progress line). */
  onStep?: OnStep;
}

export { TCP_METRICS, TCP_TARGETS, TCP_BULK_METRICS, type TcpMetric, type TcpTarget };

/** One point of a bulk run's progress (tcpclient's "t=… bytes=…" lines): bytes moved `t` seconds in. */
export interface IntervalPoint {
  t: number;
  bytes: number;
}

/** tcpclient's interval, in ms, for the bulk runs: the points of `--plot`. */
export const INTERVAL_MS = 100;

/** One client run. `rate` is bits/s for the bulk metrics and operations/s for the others. */
export interface TcpSample {
  ops: number;
  bytes: number;
  seconds: number;
  rate: number;
  /** The client's own CPU (user + system) over the run, seconds. */
  clientCpuSeconds: number;
  /** The serving process's CPU over the run (walnut: this process; others: the server's threads), seconds. */
  serverCpuSeconds: number;
  /** Bulk runs: cumulative bytes every ~INTERVAL_MS, ending with the run's total at `seconds`; others: []. */
  intervals: IntervalPoint[];
}

export interface TcpRates {
  samples: Record<TcpTarget, Record<TcpMetric, TcpSample[]>>;
  /** Client runs that failed, with the client's or the bench's reason, in order. */
  failures: { target: TcpTarget; metric: TcpMetric; repeat: number; reason: string }[];
  /** Which targets/metrics were measured (kernelPerFrame: bulk only, and only with ethtool; UDP echo: not kernelPerFrame). */
  measured: Record<TcpTarget, readonly TcpMetric[]>;
  /** The board's TCP counters at the end (retransmissions, drops…). */
  boardTcpStats: Readonly<Record<string, number>>;
  /** The board's UDP counters at the end (datagrams in and out, queue drops). */
  boardUdpStats: Readonly<Record<string, number>>;
  /** The limit put on the client namespace's TIME-WAIT table (net.ipv4.tcp_max_tw_buckets). */
  timeWaitBuckets: number;
  /** The board's RSS per idle connection (bench/boardMemory.ts); null when the board was not measured or it failed. */
  boardMemory: BoardMemory | null;
  /** Why a requested target was not measured (e.g. no ethtool for the offloads-off veth), one line each. */
  notes: string[];
}

const PORT: Record<TcpMetric, number> = { toBoard: 9, fromBoard: 19, echo: 7, connect: 7, udpEcho: 7 };
const CLIENT_MODE: Record<TcpMetric, string> = { toBoard: "send", fromBoard: "recv", echo: "echo", connect: "connect", udpEcho: "udpecho" };
/** The rows the offloads-off veth measures: it is the per-frame peer for bulk only. */
const PER_FRAME_METRICS: readonly TcpMetric[] = TCP_BULK_METRICS;

const BOARD_IP = "10.79.1.2";
const BOARD_HOST_CIDR = "10.79.1.1/24";
const KERNEL_IP = "10.79.2.2";
const KERNEL_PER_FRAME_IP = "10.79.4.2";
const LWIP_IP = "10.79.3.2";
const LWIP_HOST_CIDR = "10.79.3.1/24";
/**
 * docs/measurements.md: after ~32 k client TIME-WAIT sockets a Linux client's connect() slows to ~10 ms (the
 * ephemeral ports toward one server run out; lwIP offers no timestamps, so they cannot be reused). The
 * client closes normally (a FIN, as applications do) and its namespace keeps at most this many TIME-WAIT
 * sockets; beyond that the kernel ends a connection without TIME-WAIT ("time wait bucket table overflow").
 */
const TIME_WAIT_BUCKETS = 1024;
/** Offloads turned off on the per-frame veth pair, so the kernel sends 1514-byte frames as a TAP does. */
const PER_FRAME_OFFLOADS = ["tso", "off", "gso", "off", "gro", "off", "tx", "off", "rx", "off", "sg", "off"];

interface Binaries {
  client: string;
  kernelServer: string;
  lwipServer: string;
}

/** Builds the client, the kernel server and the lwIP harness into bench/build/ when stale. */
function buildBinaries(): Binaries {
  const root = packageRoot();
  const lwipServer = join(root, "bench/build/lwipserve");
  const lwipSources = [join(root, "bench/lwip/lwipserve.c"), join(root, "bench/lwip/build.sh")];
  return {
    client: buildCProgram("bench", "tcpclient"),
    kernelServer: buildCProgram("bench", "tcpserve"),
    lwipServer: buildIfStale(lwipServer, lwipSources, ["sh", join(root, "bench/lwip/build.sh"), lwipServer]),
  };
}

function hasEthtool(): boolean {
  try {
    execFileSync("ethtool", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/**
 * Parses tcpclient's "ok mode=… ops=… bytes=… seconds=… cpu=…" line and the "t=… bytes=…" lines before it
 * (TCPCLIENT_INTERVAL_MS); the intervals end with the run's total at its end.
 */
export function parseClient(stdout: string): { ops: number; bytes: number; seconds: number; cpu: number; intervals: IntervalPoint[] } | null {
  const m = /^ok mode=\S+ ops=(\d+) bytes=(\d+) seconds=([\d.]+) cpu=([\d.]+)$/m.exec(stdout);
  if (m === null) return null;
  const intervals: IntervalPoint[] = [];
  for (const i of stdout.matchAll(/^t=([\d.]+) bytes=(\d+)$/gm)) intervals.push({ t: Number(i[1]), bytes: Number(i[2]) });
  const ok = { ops: Number(m[1]), bytes: Number(m[2]), seconds: Number(m[3]), cpu: Number(m[4]) };
  if (intervals.length > 0) intervals.push({ t: ok.seconds, bytes: ok.bytes });
  return { ...ok, intervals };
}

/** Sets up the targets, warms them up, and runs every (target, metric) pair `repeats` times interleaved. */
export async function measureTcpRates(o: TcpRateOptions): Promise<TcpRates> {
  const log = o.log ?? ((): void => {});
  const bin = buildBinaries();
  const suffix = uniqueSuffix();
  const nsClient = `wbtcp-client-${suffix}`;
  const nsKernel = `wbtcp-kernel-${suffix}`;
  const lwipTap = `wbl${suffix}`.slice(0, 15);
  const removers: (() => void)[] = [];
  const servers: RunningServer[] = [];
  // Upper bound on the servers' lifetime: every run plus warm-ups and slack.
  const lifetimeS = Math.ceil(o.repeats * TCP_METRICS.length * TCP_TARGETS.length * (o.seconds + 8) + 120);
  const onStep = o.onStep ?? ((): void => {});
  try {
    // Everything that runs `ip` synchronously happens before the board starts (it would stall its loop).
    log(`namespaces: client ${nsClient}, kernel ${nsKernel}`);
    removers.push(createOwnedNetns(nsClient));
    removers.push(createOwnedNetns(nsKernel));
    const veth = (client: string, kernel: string, cidrClient: string, cidrKernel: string): void => {
      ipIn(nsClient, ["link", "add", client, "type", "veth", "peer", "name", kernel, "netns", nsKernel]);
      configureLink(nsClient, client, cidrClient);
      configureLink(nsKernel, kernel, cidrKernel);
    };
    veth(`wbtc${suffix}`, `wbtk${suffix}`, "10.79.2.1/24", `${KERNEL_IP}/24`);
    const withPerFrame = hasEthtool();
    if (withPerFrame) {
      veth(`wbfc${suffix}`, `wbfk${suffix}`, "10.79.4.1/24", `${KERNEL_PER_FRAME_IP}/24`);
      for (const [ns, dev] of [[nsClient, `wbfc${suffix}`], [nsKernel, `wbfk${suffix}`]] as const) {
        execFileSync("ip", ["netns", "exec", ns, "ethtool", "-K", dev, ...PER_FRAME_OFFLOADS], { stdio: "ignore" });
      }
    } else {
      log("no ethtool: skipping the per-frame (offloads off) kernel target");
    }
    // The lwIP harness attaches to an existing, addressed, up TAP (docs/measurements.md: one it creates stays down).
    ipIn(nsClient, ["tuntap", "add", "dev", lwipTap, "mode", "tap"]);
    configureLink(nsClient, lwipTap, LWIP_HOST_CIDR, 1500);
    // A per-namespace sysctl: it changes only the client namespace created above.
    execFileSync("ip", ["netns", "exec", nsClient, "sysctl", "-qw", `net.ipv4.tcp_max_tw_buckets=${TIME_WAIT_BUCKETS}`], { stdio: "ignore" });

    log(`kernel server in ${nsKernel}; lwIP harness on ${lwipTap} (${LWIP_IP})`);
    removers.push(onCleanup(() => servers.forEach((s) => s.child.kill("SIGKILL"))));
    const kernelServer = await startServer([...netnsExecPrefix(nsKernel), bin.kernelServer, String(lifetimeS)], "ready", 5000);
    servers.push(kernelServer);
    const lwipServer = await startServer(
      [...netnsExecPrefix(nsClient), bin.lwipServer, lwipTap, LWIP_IP, "255.255.255.0", String(lifetimeS)],
      "ready",
      5000,
    );
    servers.push(lwipServer);

    // HostLink adopts the existing client namespace (and leaves its removal to us).
    if (!netnsExists(nsClient)) throw new Error(`namespace ${nsClient} vanished`);
    log(`board target: ${BOARD_IP} on a TAP, kernel side ${BOARD_HOST_CIDR} in ${nsClient}`);
    const board = Board.start({
      mac: randomLocalMac(),
      ip: parseIpv4(BOARD_IP),
      netmask: 0xffffff00,
      gateway: parseIpv4(BOARD_HOST_CIDR.split("/")[0] ?? ""),
      mtu: 1500,
      tapName: "wbtcp%d",
      netns: nsClient,
      hostCidr: BOARD_HOST_CIDR,
      pcapPath: null,
      trace: null,
      faults: null,
      offload: o.offload ?? true,
    });
    removers.push(onCleanup(() => board.stop()));

    const dst: Record<TcpTarget, string> = {
      board: BOARD_IP,
      kernel: KERNEL_IP,
      kernelPerFrame: KERNEL_PER_FRAME_IP,
      lwip: LWIP_IP,
    };
    const serverCpu: Record<TcpTarget, () => number> = {
      board: () => {
        const u = process.cpuUsage();
        return (u.user + u.system) / 1e6;
      },
      kernel: () => processCpuSeconds(kernelServer.pid),
      kernelPerFrame: () => processCpuSeconds(kernelServer.pid),
      lwip: () => processCpuSeconds(lwipServer.pid),
    };
    const wanted = (t: TcpTarget, metrics: readonly TcpMetric[]): readonly TcpMetric[] =>
      (o.targets ?? TCP_TARGETS).includes(t) ? metrics.filter((m) => (o.metrics ?? TCP_METRICS).includes(m)) : [];
    const measured: Record<TcpTarget, readonly TcpMetric[]> = {
      board: wanted("board", TCP_METRICS),
      kernel: wanted("kernel", TCP_METRICS),
      kernelPerFrame: wanted("kernelPerFrame", withPerFrame ? PER_FRAME_METRICS : []),
      lwip: wanted("lwip", TCP_METRICS),
    };

    const runClient = async (target: TcpTarget, metric: TcpMetric, seconds: number): Promise<TcpSample> => {
      const argv = [...netnsExecPrefix(nsClient), bin.client, CLIENT_MODE[metric], dst[target], String(PORT[metric]), String(seconds)];
      const isBulk = isBulkMetric(metric);
      const cpu0 = serverCpu[target]();
      const r = await runChild(argv, (seconds + 20) * 1000, isBulk ? { TCPCLIENT_INTERVAL_MS: String(INTERVAL_MS) } : undefined);
      const cpu = serverCpu[target]() - cpu0;
      const out = parseClient(r.stdout);
      if (r.timedOut || out === null) {
        const why = r.timedOut ? "client did not finish in time" : r.stderr.trim().split("\n")[0] || `client exited with ${String(r.code)}`;
        throw new Error(why);
      }
      return {
        ops: out.ops,
        bytes: out.bytes,
        seconds: out.seconds,
        rate: isBulk ? (out.bytes * 8) / out.seconds : out.ops / out.seconds,
        clientCpuSeconds: out.cpu,
        serverCpuSeconds: cpu,
        intervals: out.intervals,
      };
    };

    const failures: TcpRates["failures"] = [];
    const attempt = async (target: TcpTarget, metric: TcpMetric, seconds: number, repeat: number): Promise<TcpSample | null> => {
      try {
        return await runClient(target, metric, seconds);
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        failures.push({ target, metric, repeat, reason });
        log(`FAILED ${target} ${metric} (repeat ${repeat}): ${reason}`);
        for (const s of servers) if (!s.isAlive()) throw new Error(`a server died: ${s.stderr().trim()}`);
        return null;
      }
    };

    const runsPerRound = TCP_TARGETS.reduce((n, t) => n + measured[t].length, 0);
    const totalRuns = runsPerRound * (1 + o.repeats);
    let runIndex = 0;
    // Warm-up: ARP everywhere; the board's JIT on every path (its first second is slower).
    for (const t of TCP_TARGETS) {
      for (const m of measured[t]) {
        onStep({ index: ++runIndex, total: totalRuns, what: `warm-up ${t} ${m}` });
        const w = await attempt(t, m, t === "board" ? 0.5 : 0.2, 0);
        if (w !== null) log(`warm-up ${t} ${m}: ${w.ops} ops`);
      }
    }

    const samples = Object.fromEntries(
      TCP_TARGETS.map((t) => [t, Object.fromEntries(TCP_METRICS.map((m) => [m, [] as TcpSample[]]))]),
    ) as TcpRates["samples"];
    const started = performance.now();
    for (let r = 0; r < o.repeats; r++) {
      for (const metric of TCP_METRICS) {
        const targets = TCP_TARGETS.filter((t) => measured[t].includes(metric));
        // Rotate which target goes first so a drift in machine load does not favour one of them.
        const order = targets.map((_, i) => targets[(i + r) % targets.length] as TcpTarget);
        for (const t of order) {
          onStep({ index: ++runIndex, total: totalRuns, what: `${t} ${metric} repeat ${r + 1}/${o.repeats}` });
          const s = await attempt(t, metric, o.seconds, r + 1);
          if (s === null) continue;
          samples[t][metric].push(s);
          log(
            `repeat ${r + 1}/${o.repeats} ${t} ${metric}: ${s.ops} ops, ${s.bytes} B in ${s.seconds.toFixed(3)} s; ` +
              `cpu server ${s.serverCpuSeconds.toFixed(3)} s, client ${s.clientCpuSeconds.toFixed(3)} s`,
          );
        }
      }
    }
    log(`measured in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    let boardMemory: BoardMemory | null = null;
    if (measured.board.some((m) => m !== "udpEcho")) {
      try {
        boardMemory = await measureBoardMemory(board, bin.client, nsClient, BOARD_IP);
        log(`board memory: ${boardMemory.connections} idle connections, RSS +${(boardMemory.rssPerConnectionBytes / 1024).toFixed(1)} KiB each`);
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        failures.push({ target: "board", metric: "connect", repeat: 0, reason: `RSS per idle connection: ${reason}` });
        log(`FAILED board memory: ${reason}`);
      }
    }
    const boardTcpStats = { ...board.stack.tcp.stats };
    const boardUdpStats = { ...board.stack.udp.stats };
    removers.pop()?.(); // stops the board (its TAP goes with it)
    for (const s of servers.splice(0)) {
      await s.stop();
      log(s.stderr().trim());
    }
    const notes =
      !withPerFrame && (o.targets ?? TCP_TARGETS).includes("kernelPerFrame")
        ? ["Linux (veth, offloads off): not measured, ethtool is not installed (it turns the veth's offloads off)"]
        : [];
    return { samples, failures, measured, boardTcpStats, boardUdpStats, timeWaitBuckets: TIME_WAIT_BUCKETS, boardMemory, notes };
  } finally {
    for (const remove of removers.reverse()) remove();
  }
}
