// "MicroPython on the board": the board scripts in bench/micropython/ run under `walnut run` (the compiled
// CLI, a process of its own), driven by the TCP section's C client (bench/c/tcpclient.c), beside the same
// board's built-in services in the same process, and — for reference — the same scripts in CPython serving
// the Linux kernel over a veth. Per row: the rate, the serving process's CPU, and the goal.
// Network: namespace C (the client and the board's TAP kernel side) and P (CPython, behind a veth), created
// here and removed at the end, also on error or signal; every client run is bounded in time.

import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { configureLink, ipIn, netnsExecPrefix } from "../src/host/iproute.js";
import {
  buildCProgram,
  createOwnedNetns,
  onCleanup,
  packageRoot,
  processCpuSeconds,
  runChild,
  startServer,
  uniqueSuffix,
  type RunningServer,
} from "./util.js";
import type { OnStep } from "./progress.js";

export interface MpRateOptions {
  repeats: number;
  seconds: number;
  log?: ((line: string) => void) | null;
  /** Called before each client run (the progress line). */
  onStep?: OnStep;
}

/** One row: a board script, the client mode that drives it, and the built-in service it is measured beside. */
export interface MpCase {
  readonly name: string;
  readonly script: string;
  readonly mode: "send" | "recv" | "echo" | "connect" | "udpecho";
  readonly port: number;
  /** The built-in service on the same path (the stack's own code, no bridge). */
  readonly builtinPort: number;
  /** The goal, as a rate (bit/s for bulk, ops/s otherwise), or as a share of the built-in's rate. */
  readonly goal: { rate: number } | { ofBuiltin: number };
}

export const MP_CASES: readonly MpCase[] = [
  { name: "TCP sink, readinto(bytearray(65536))", script: "sink_readinto.py", mode: "send", port: 7009, builtinPort: 9, goal: { rate: 2e9 } },
  { name: "TCP sink, recv(4096)", script: "sink_recv.py", mode: "send", port: 7009, builtinPort: 9, goal: { rate: 1.5e9 } },
  { name: "TCP source, write(64 KiB)", script: "source_write.py", mode: "recv", port: 7019, builtinPort: 19, goal: { ofBuiltin: 0.7 } },
  { name: "1-byte echo, recv/send", script: "echo.py", mode: "echo", port: 7007, builtinPort: 7, goal: { rate: 25e3 } },
  { name: "UDP echo, recvfrom/sendto", script: "udp_echo.py", mode: "udpecho", port: 7007, builtinPort: 7, goal: { ofBuiltin: 0.6 } },
  { name: "accept + 1-byte echo + close", script: "accept_echo.py", mode: "connect", port: 7007, builtinPort: 7, goal: { rate: 5e3 } },
];

export const isBulkMode = (c: MpCase): boolean => c.mode === "send" || c.mode === "recv";

export interface MpSample {
  ops: number;
  bytes: number;
  seconds: number;
  /** bit/s for bulk, ops/s otherwise. */
  rate: number;
  serverCpuSeconds: number;
}

export type MpTarget = "script" | "builtin" | "cpython";

export interface MpRates {
  samples: Record<string, Record<MpTarget, MpSample[]>>;
  failures: { name: string; target: MpTarget; reason: string }[];
}

const BOARD_IP = "10.79.5.2";
const CPYTHON_IP = "10.79.6.2";

function parseClient(stdout: string): { ops: number; bytes: number; seconds: number } | null {
  const m = /^ok mode=\S+ ops=(\d+) bytes=(\d+) seconds=([\d.]+) cpu=[\d.]+$/m.exec(stdout);
  return m === null ? null : { ops: Number(m[1]), bytes: Number(m[2]), seconds: Number(m[3]) };
}

export async function measureMpRates(o: MpRateOptions): Promise<MpRates> {
  const log = o.log ?? ((): void => {});
  const root = packageRoot();
  const client = buildCProgram("bench", "tcpclient");
  const suffix = uniqueSuffix();
  const nsClient = `wbmp-client-${suffix}`;
  const nsPython = `wbmp-py-${suffix}`;
  const removers: (() => void)[] = [];
  const rates: MpRates = { samples: {}, failures: [] };
  try {
    removers.push(createOwnedNetns(nsClient));
    removers.push(createOwnedNetns(nsPython));
    ipIn(nsClient, ["link", "add", `wbmc${suffix}`, "type", "veth", "peer", "name", `wbmp${suffix}`, "netns", nsPython]);
    configureLink(nsClient, `wbmc${suffix}`, "10.79.6.1/24");
    configureLink(nsPython, `wbmp${suffix}`, `${CPYTHON_IP}/24`);
    // As in the TCP section: a bounded TIME-WAIT table in the client namespace, so accept + echo + close
    // runs never meet a client's port exhaustion (docs/measurements.md, "TIME-WAIT on the client").
    execFileSync("ip", ["netns", "exec", nsClient, "sysctl", "-qw", "net.ipv4.tcp_max_tw_buckets=1024"], { stdio: "ignore" });

    const runClient = async (c: MpCase, ip: string, port: number, server: RunningServer, seconds: number): Promise<MpSample> => {
      const cpu0 = processCpuSeconds(server.pid);
      const r = await runChild([...netnsExecPrefix(nsClient), client, c.mode, ip, String(port), String(seconds)], (seconds + 20) * 1000);
      const cpu = processCpuSeconds(server.pid) - cpu0;
      const out = parseClient(r.stdout);
      if (r.timedOut || out === null) throw new Error(r.timedOut ? "client did not finish in time" : r.stderr.trim().split("\n")[0] || `client exited ${String(r.code)}`);
      return { ...out, rate: isBulkMode(c) ? (out.bytes * 8) / out.seconds : out.ops / out.seconds, serverCpuSeconds: cpu };
    };
    const attempt = async (c: MpCase, target: MpTarget, run: () => Promise<MpSample>): Promise<void> => {
      try {
        const s = await run();
        (rates.samples[c.name] as Record<MpTarget, MpSample[]>)[target].push(s);
        log(`${c.name} ${target}: ${s.ops} ops, ${s.bytes} B in ${s.seconds.toFixed(3)} s, server cpu ${s.serverCpuSeconds.toFixed(3)} s`);
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        rates.failures.push({ name: c.name, target, reason });
        log(`FAILED ${c.name} ${target}: ${reason}`);
      }
    };

    const onStep = o.onStep ?? ((): void => {});
    const total = MP_CASES.length * (1 + 3 * o.repeats);
    let index = 0;
    const step = (what: string): void => onStep({ index: ++index, total, what });
    for (const c of MP_CASES) {
      rates.samples[c.name] = { script: [], builtin: [], cpython: [] };
      const script = join(root, "bench/micropython", c.script);
      // The board script and the built-in services in one walnut process: the same stack, TAP and client.
      const board = await startServer(
        [process.execPath, join(root, "bin/walnut.js"), "run", "--services", "--ip", `${BOARD_IP}/24`, "--netns", nsClient, script],
        "SYNC serving",
        30_000,
      );
      const stopBoard = onCleanup(() => board.child.kill("SIGKILL"));
      step(`${c.script} warm-up`);
      await attempt(c, "script", () => runClient(c, BOARD_IP, c.port, board, 0.5)); // warm-up: ARP, JIT
      rates.samples[c.name]!.script.length = 0;
      for (let r = 0; r < o.repeats; r++) {
        step(`${c.script} walnut run repeat ${r + 1}/${o.repeats}`);
        await attempt(c, "script", () => runClient(c, BOARD_IP, c.port, board, o.seconds));
        step(`${c.script} built-in repeat ${r + 1}/${o.repeats}`);
        await attempt(c, "builtin", () => runClient(c, BOARD_IP, c.builtinPort, board, o.seconds));
      }
      board.child.kill("SIGINT");
      await board.stop();
      stopBoard();
      const py = await startServer([...netnsExecPrefix(nsPython), "python3", "-u", script], "SYNC serving", 10_000);
      const stopPy = onCleanup(() => py.child.kill("SIGKILL"));
      for (let r = 0; r < o.repeats; r++) {
        step(`${c.script} CPython repeat ${r + 1}/${o.repeats}`);
        await attempt(c, "cpython", () => runClient(c, CPYTHON_IP, c.port, py, o.seconds));
      }
      await py.stop();
      stopPy();
    }
    return rates;
  } finally {
    for (const remove of removers.reverse()) remove();
  }
}
