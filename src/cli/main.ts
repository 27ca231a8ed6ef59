// The `walnut` command: `up` runs a board until SIGINT/SIGTERM, `demo` runs the scripted first look that
// `npm start` shows. Every failure ends as one line on stderr and a non-zero exit code.

import { defaultHostCidr, parseUpOptions, REPL_USAGE, RUN_USAGE, splitRunArgs, UP_USAGE, UsageError, type UpOptions } from "./args.js";
import { Board, type BoardOptions } from "../board/board.js";
import { parseIpv4Cidr, prefixToMask } from "../core/addr.js";
import { linkExists } from "../host/iproute.js";
import { formatCounters } from "../core/stats.js";
import { runDemo } from "./demo.js";
import { runScriptFile } from "../board/micropython/script.js";
import { runRepl } from "../board/micropython/repl.js";
import { netstatLines } from "./netstat.js";
import { IPERF3_USAGE, parseIperf3Args, runIperf3OnBoard } from "./iperf3.js";
import { spawn } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { errorCode, fsReason } from "../core/fsError.js";
import { dirname } from "node:path";
import { LeaseFileError, readLeaseFile, type RememberedLease } from "../board/leaseFile.js";
import { formatIpv4 } from "../core/addr.js";
import { fileURLToPath } from "node:url";

const USAGE = `usage: walnut <command> [options]
commands:
  up      bring a board up on a TAP and serve until Ctrl-C (walnut up --help)
  run     bring a board up, run a MicroPython script on it, tear it down (walnut run --help)
  repl    bring a board up with an interactive MicroPython REPL on it; Ctrl-D tears it down (walnut repl --help)
  iperf3  bring a board up and run one iperf3 test from it: walnut iperf3 [up options] -c HOST (walnut iperf3 --help)
  demo    a board in a private namespace, pinged by the kernel, with a decoded trace
  bench   the benchmarks: board vs the Linux kernel and lwIP (walnut bench --help; needs root)
  help    this text`;

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "up":
        return await up(rest);
      case "run":
        return await run(rest);
      case "repl":
        return await repl(rest);
      case "iperf3":
        return await iperf3(rest);
      case "demo":
        return await runDemo(rest);
      case "bench":
        return await runBench(rest);
      case undefined:
      case "help":
      case "--help":
      case "-h":
        console.log(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command '${command}' (try: walnut help)`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`walnut: ${err.message}`);
      return 2;
    }
    console.error(`walnut: ${describeFailure(err)}`);
    return 1;
  }
}

/**
 * A failure as one sentence: a system error that escaped (ENOENT, EISDIR, …) names its path and says why in
 * words; anything else keeps its own message.
 */
function describeFailure(err: unknown): string {
  // Only Node's own file-system errors (they carry the path): others, such as the TAP addon's, already
  // say what to do in their message.
  const path = err instanceof Error ? (err as NodeJS.ErrnoException).path : undefined;
  if (errorCode(err) !== null && path !== undefined) return `cannot open ${path}: ${fsReason(err)}`;
  return err instanceof Error ? err.message : String(err);
}

/**
 * The board these options describe, tracing to `traceTo` when asked. args.ts leaves the kernel side
 * unaddressed with --tap, since an existing TAP is attached as it is; a TAP that --tap creates still gets the
 * documented default (.1 of the subnet), which is also the gateway. (DHCP and --bridge: the kernel side is
 * addressed only if --host-ip says so.)
 */
/** What a command serves unless told otherwise: `walnut up` both, the others neither. */
interface ServeDefaults {
  services: boolean;
  iperf3: boolean;
}

const SERVES_NOTHING: ServeDefaults = { services: false, iperf3: false };

function boardOptions(
  o: UpOptions,
  traceTo: NodeJS.WritableStream,
  serves: ServeDefaults = SERVES_NOTHING,
  iperf3Log: (line: string) => void = (l) => void traceTo.write(`walnut: ${l}\n`),
): BoardOptions {
  let hostCidr = o.hostCidr;
  let gateway = o.gateway;
  if (hostCidr === null && !o.dhcp && o.bridge === null && !linkExists(null, o.tapName)) {
    hostCidr = defaultHostCidr(o.ip, o.prefixLength);
    if (gateway === 0) gateway = parseIpv4Cidr(hostCidr).addr;
  }
  const remembered = rememberedLease(o);
  return {
    // A remembered lease belongs to the MAC it was leased to: the board takes that MAC unless --mac says otherwise.
    mac: remembered !== null && !o.isMacGiven ? remembered.mac : o.mac,
    ip: o.ip,
    netmask: prefixToMask(o.prefixLength),
    gateway,
    mtu: o.mtu,
    tapName: o.tapName,
    netns: o.netns,
    hostCidr,
    pcapPath: o.pcapPath,
    trace: o.trace ? (line) => void traceTo.write(`${line}\n`) : null,
    faults: o.faults,
    dhcp: o.dhcp,
    dhcpLeaseFile: o.dhcpLeaseFile,
    rememberedLease: remembered,
    bridge: o.bridge,
    lan: o.lan,
    dnsServers: o.dnsServers,
    offload: o.offload,
    services: o.services ?? serves.services,
    iperf3: (o.iperf3 ?? serves.iperf3) ? { log: iperf3Log } : null,
    maxConnections: o.maxConnections,
    backlog: o.backlog,
  };
}

/** The lease `--dhcp-lease FILE` holds (null: no option, or no file yet); a bad FILE is a usage error. */
function rememberedLease(o: UpOptions): RememberedLease | null {
  const path = o.dhcpLeaseFile;
  if (path === null) return null;
  if (!isFolder(dirname(path))) throw new UsageError(`--dhcp-lease: folder '${dirname(path)}' does not exist`);
  try {
    return readLeaseFile(path);
  } catch (err) {
    if (err instanceof LeaseFileError) throw new UsageError(err.message);
    throw err;
  }
}

async function up(argv: readonly string[]): Promise<number> {
  const o = parseUpOptions(argv, { netns: "walnut", tapName: "walnut%d" });
  if (o === "help") {
    console.log(UP_USAGE);
    return 0;
  }
  // With --pcap - standard output carries the capture, so every line of the board's own goes to stderr.
  const out: NodeJS.WritableStream = o.pcapPath === "-" ? process.stderr : process.stdout;
  const say = (line: string): void => void out.write(`${line}\n`);
  // `walnut up` serves iperf3 unless told not to: `iperf3 -c BOARD_IP` is what users bring to a running board.
  const board = Board.start(boardOptions(o, out, { services: true, iperf3: true }));
  if (board.pcap !== null) {
    const where = o.pcapPath === "-" ? "standard output" : o.pcapPath ?? "";
    board.pcap.onWriteError = (err) => process.stderr.write(`walnut: capture to ${where} stopped: ${fsReason(err)}; the board goes on\n`);
  }
  const stopped = new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    // `kill -USR1 <pid>` prints what the stack holds now (connections, listeners, ARP, counters).
    process.on("SIGUSR1", () => {
      for (const line of netstatLines(board.stack)) say(line);
    });
  });
  // With DHCP, wait (bounded) for the first lease before announcing the board.
  if (board.dhcp !== null) {
    const dhcp = board.dhcp;
    const tap = board.host.tapName;
    const asking = dhcp.state === "REBOOTING" ? `; asking for ${formatIpv4(board.options.rememberedLease?.ip ?? 0)} again (INIT-REBOOT)` : "";
    say(`walnut: tap ${tap} up, asking for a DHCP lease (up to ${o.dhcpWaitSeconds} s${asking})`);
    const lease = await Promise.race([board.waitForLease(o.dhcpWaitSeconds * 1000), stopped.then(() => "stopped" as const)]);
    if (lease === "stopped") {
      board.stop();
      say("walnut: stopped before a DHCP lease arrived");
      return 0;
    }
    if (lease === null) {
      const s = dhcp.stats;
      board.stop();
      if (s.rxOffers === 0) {
        throw new Error(`no DHCP server answered on TAP ${tap} within ${o.dhcpWaitSeconds} s: start one (e.g. dnsmasq) on the kernel side, or use --ip`);
      }
      throw new Error(
        `no DHCP lease on TAP ${tap} within ${o.dhcpWaitSeconds} s (offers ${s.rxOffers}, NAKs ${s.rxNaks}, address conflicts ${s.probeConflicts}): check the DHCP server, or use --ip`,
      );
    }
    if (board.leaseFileError !== null) console.error(`walnut: ${board.leaseFileError}`);
    // Renewals of the same address stay quiet; a new address is worth a line.
    let shownIp = lease.ip;
    dhcp.addListener({
      bound: (l) => {
        if (l.ip !== shownIp) say(`walnut: dhcp: new address: ${board.describe()}`);
        shownIp = l.ip;
      },
      lost: () => {
        shownIp = 0;
        say(`walnut: dhcp: lease lost, board has no address (${dhcp.state})`);
      },
    });
  }
  say(`walnut: ${board.describe()} — Ctrl-C to stop; kill -USR1 ${process.pid} prints connections and counters`);
  await stopped;
  // The TAP's offload counters (super-frames and partial checksums each way) beside the stack's.
  const stats = { ...board.stack.stats(), tap: { ...board.host.device.offloadStats } };
  await board.stopGracefully();
  // Every layer's non-zero counters, drops included, one line each: the board's whole story at a glance.
  say("walnut: stopped; counters:");
  for (const [layer, counters] of Object.entries(stats)) {
    const line = formatCounters(counters);
    if (line.length > 0) say(`  ${layer}: ${line}`);
  }
  const iperf3 = board.iperf3 !== null ? formatCounters(board.iperf3.stats) : "";
  if (iperf3.length > 0) say(`  iperf3: ${iperf3}`);
  return 0;
}

/** `walnut run [options] script.py [args…]` / `walnut run --fs DIR`: the script's exit status. */
async function run(argv: readonly string[]): Promise<number> {
  const r = splitRunArgs(argv);
  if (r.upArgs.includes("--help") || r.upArgs.includes("-h")) {
    console.log(RUN_USAGE);
    return 0;
  }
  if (r.script === null && r.fsDir === null) throw new UsageError("run: which script? (walnut run [up options] script.py, or --fs DIR)");
  if (r.script !== null && !isFile(r.script)) {
    throw new UsageError(isFolder(r.script) ? `run: ${r.script} is a folder; give the script inside it, or --fs ${r.script} to run its boot.py and main.py` : `run: ${r.script}: no such file`);
  }
  if (r.fsDir !== null && !isFolder(r.fsDir)) throw new UsageError(isFile(r.fsDir) ? `--fs ${r.fsDir}: is a file; --fs takes the folder that is the board's flash` : `--fs ${r.fsDir}: no such folder`);
  const o = parseUpOptions(r.upArgs, { netns: "walnut", tapName: "walnut%d" });
  if (o === "help") {
    console.log(RUN_USAGE);
    return 0;
  }
  if (o.pcapPath === "-") throw new UsageError("--pcap -: walnut run writes the script's output to standard output; give the capture a file name");
  const board = Board.start(boardOptions(o, process.stderr));
  const snapshot = (): void => {
    for (const line of netstatLines(board.stack)) process.stderr.write(`${line}\n`);
  };
  process.on("SIGUSR1", snapshot);
  try {
    // The script's output is its own: the board's summary only where a person is watching, or when asked.
    if (r.verbose || process.stderr.isTTY === true) process.stderr.write(`walnut: ${board.describe()}\n`);
    // With DHCP the script's network.WLAN().connect() waits for the lease (bounded), as a board's does.
    return await runScriptFile(board, r.script, { argv: r.scriptArgs, tracePins: r.tracePins, wifi: r.wifi, ...(r.fsDir !== null ? { fsDir: r.fsDir } : {}) });
  } finally {
    process.off("SIGUSR1", snapshot);
    await board.stopGracefully();
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Signals `walnut bench` passes on to the runner (which removes what it created, then exits 128 + n). */
const BENCH_SIGNALS = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const;

/**
 * `walnut bench [options]`: the benchmark runner (bench/run.ts, compiled next to the CLI in dist/) in its own
 * process, so its namespaces, signals and clean-up stay its own — the same program and options as
 * `npm run bench -- [options]`. Its stdio is this process's (its progress line sees the same terminal), its
 * exit code passes through, and this process waits for it: a signal is forwarded (the runner ignores a
 * second copy, as when Ctrl-C reaches both) instead of ending `walnut` before the clean-up has finished.
 */
function runBench(argv: readonly string[]): Promise<number> {
  const script = fileURLToPath(new URL("../../bench/run.js", import.meta.url));
  if (!existsSync(script)) throw new Error(`the benchmarks are not built (${script}): run npm run build`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...argv], { stdio: "inherit" });
    const forward = (signal: NodeJS.Signals): void => void child.kill(signal);
    for (const name of Object.keys(BENCH_SIGNALS) as (keyof typeof BENCH_SIGNALS)[]) process.on(name, forward);
    child.on("close", (code, signal) => {
      for (const name of Object.keys(BENCH_SIGNALS) as (keyof typeof BENCH_SIGNALS)[]) process.off(name, forward);
      resolve(code ?? (signal !== null && signal in BENCH_SIGNALS ? 128 + BENCH_SIGNALS[signal as keyof typeof BENCH_SIGNALS] : 1));
    });
  });
}

/** `walnut iperf3 [up options] -c HOST [iperf3 options]`: 0 when the test ran, 1 when it failed. */
async function iperf3(argv: readonly string[]): Promise<number> {
  const a = parseIperf3Args(argv);
  if (a.help) {
    console.log(IPERF3_USAGE);
    return 0;
  }
  const o = parseUpOptions(a.upArgs, { netns: "walnut", tapName: "walnut%d" });
  if (o === "help") {
    console.log(IPERF3_USAGE);
    return 0;
  }
  // The board is the client here; it serves iperf3 too only when --iperf3 asks.
  const board = Board.start(boardOptions(o, process.stderr));
  try {
    if (process.stderr.isTTY === true) process.stderr.write(`walnut: ${board.describe()}\n`);
    if (board.dhcp !== null && (await board.waitForLease(o.dhcpWaitSeconds * 1000)) === null) {
      throw new Error(`no DHCP lease on TAP ${board.host.tapName} within ${o.dhcpWaitSeconds} s: check the DHCP server, or use --ip`);
    }
    return await runIperf3OnBoard(board, a, process.stdout);
  } finally {
    await board.stopGracefully();
  }
}

/** `walnut repl [up options]`: exit code 0 when the REPL was left (Ctrl-D, end of input, exit()). */
async function repl(argv: readonly string[]): Promise<number> {
  const r = splitRunArgs(argv);
  if (r.script !== null) throw new UsageError(`repl: unexpected argument '${r.script}' (walnut repl takes options only)`);
  if (r.fsDir !== null && !isFolder(r.fsDir)) throw new UsageError(isFile(r.fsDir) ? `--fs ${r.fsDir}: is a file; --fs takes the folder that is the board's flash` : `--fs ${r.fsDir}: no such folder`);
  const o = parseUpOptions(r.upArgs, { netns: "walnut", tapName: "walnut%d" });
  if (o === "help") {
    console.log(REPL_USAGE);
    return 0;
  }
  if (o.pcapPath === "-") throw new UsageError("--pcap -: walnut repl uses standard output for the REPL; give the capture a file name");
  const board = Board.start(boardOptions(o, process.stderr, SERVES_NOTHING, (l) => void process.stderr.write(`walnut: ${l}\r\n`)));
  const snapshot = (): void => {
    for (const line of netstatLines(board.stack)) process.stderr.write(`${line}\r\n`);
  };
  process.on("SIGUSR1", snapshot);
  try {
    process.stderr.write(`walnut: ${board.describe()} — MicroPython REPL, Ctrl-D to leave\n`);
    return await runRepl(board, { tracePins: r.tracePins, wifi: r.wifi, ...(r.fsDir !== null ? { fsDir: r.fsDir } : {}) });
  } finally {
    process.off("SIGUSR1", snapshot);
    await board.stopGracefully();
  }
}
