// `walnut iperf3 [up options] -c HOST [iperf3 options]`: a board comes up and runs one iperf3 test as the
// client (apps/iperf3/client) toward an iperf3 server, e.g. Linux's `iperf3 -s` on the TAP's kernel side,
// printing iperf3's text or -J JSON. The iperf3 options are iperf3's own names; the rest go to the board.

import { parseIpv4 } from "../core/addr.js";
import { isCongestionControlName } from "../tcp/cc/index.js";
import type { Board } from "../board/board.js";
import { runIperf3Client, type ClientReport } from "../apps/iperf3/client.js";
import { checkParams, DEFAULT_PARAMS, isParamsError, type TestParams } from "../apps/iperf3/params.js";
import { IPERF3_PORT } from "../apps/iperf3/protocol.js";
import { reportJson, textHeader, textInterval, textSummary } from "../apps/iperf3/report.js";
import { parseAmount } from "../apps/iperf3/units.js";
import { wallClockMicros } from "../link/pcap.js";
import { UsageError, upOptionTakesValue } from "./args.js";

export const IPERF3_USAGE = `usage: walnut iperf3 [up options] -c HOST [options]
  brings a board up (the same options as walnut up: --ip, --netns, --host-ip, --dhcp, …), runs one iperf3 test
  with the board as the client toward the iperf3 server at HOST (e.g. iperf3 -s on the kernel side), prints
  iperf3's report and tears the board down. Exit code 0 when the test ran, 1 when it failed.
  -c, --client HOST      the server's IPv4 address
  -p, --port N           the server's port (default 5201)
  -t, --time S           seconds to run (default 10)
  -n, --bytes N[KMG]     end after N bytes instead (binary units: 1M = 1048576)
  -k, --blockcount N     end after N blocks (of --length) instead
  -l, --length N[KMG]    bytes per write (TCP, default 128K) or per datagram (UDP, default: the path MSS)
  -P, --parallel N       streams (1-128, default 1)
  -R, --reverse          the server sends, the board receives
      --bidir            both send (-P streams each way)
  -u, --udp              UDP instead of TCP
  -b, --bitrate N[KMG]   target bits/s per stream (decimal units; UDP default 1M, TCP default unlimited)
  -O, --omit S           leave the first S seconds out of the results
  -i, --interval S       seconds between interval reports (default 1, 0 for none)
  -N, --no-delay         TCP_NODELAY on the streams
  -C, --congestion NAME  the board's TCP congestion control: newreno or cubic
      --pacing-timer US  how often paced senders check their rate (default 1000 µs)
  -J, --json             print iperf3's JSON (-J) instead of text`;

export interface Iperf3Args {
  upArgs: string[];
  host: number;
  port: number;
  params: TestParams;
  intervalS: number;
  json: boolean;
  help: boolean;
}

/** Each client option: its long name, short letter, and whether a value follows. */
const CLIENT_OPTIONS: readonly [string, string | null, boolean][] = [
  ["client", "c", true],
  ["port", "p", true],
  ["time", "t", true],
  ["bytes", "n", true],
  ["blockcount", "k", true],
  ["length", "l", true],
  ["parallel", "P", true],
  ["reverse", "R", false],
  ["bidir", null, false],
  ["udp", "u", false],
  ["bitrate", "b", true],
  ["omit", "O", true],
  ["interval", "i", true],
  ["no-delay", "N", false],
  ["congestion", "C", true],
  ["pacing-timer", null, true],
  ["json", "J", false],
];

function whole(name: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) throw new UsageError(`--${name}: '${text}' must be a whole number from ${min} to ${max}`);
  return n;
}

function seconds(name: string, text: string, max: number): number {
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || n > max) throw new UsageError(`--${name}: '${text}' must be seconds from 0 to ${max}`);
  return n;
}

function amount(name: string, text: string, kind: "rate" | "size"): number {
  const n = parseAmount(text, kind);
  if (n === null) throw new UsageError(`--${name}: '${text}' must be a number with an optional K, M, G or T`);
  return n;
}

/** Splits the iperf3 options from the board's and checks them; UsageError names the option at fault. */
export function parseIperf3Args(argv: readonly string[]): Iperf3Args {
  const values = new Map<string, string | true>();
  const upArgs: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "-h" || arg === "--help") {
      help = true;
      continue;
    }
    const [flag, inline] = arg.startsWith("--") && arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const spec = CLIENT_OPTIONS.find(([long, short]) => flag === `--${long}` || (short !== null && flag === `-${short}`));
    if (spec === undefined) {
      if (!arg.startsWith("-")) throw new UsageError(`iperf3: unexpected argument '${arg}' (the server is -c HOST)`);
      upArgs.push(arg);
      if (arg.startsWith("--") && !arg.includes("=") && upOptionTakesValue(arg.slice(2)) && i + 1 < argv.length) upArgs.push(argv[++i] as string);
      continue;
    }
    const [long, , takesValue] = spec;
    if (!takesValue) {
      values.set(long, true);
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`--${long}: a value is needed`);
    values.set(long, value);
  }
  const get = (k: string): string | undefined => {
    const v = values.get(k);
    return typeof v === "string" ? v : undefined;
  };
  const has = (k: string): boolean => values.get(k) === true;
  const empty: Iperf3Args = { upArgs, host: 0, port: IPERF3_PORT, params: { ...DEFAULT_PARAMS }, intervalS: 1, json: false, help };
  if (help) return empty;
  const hostText = get("client");
  if (hostText === undefined) throw new UsageError("iperf3: which server? (-c HOST)");
  let host: number;
  try {
    host = parseIpv4(hostText);
  } catch {
    throw new UsageError(`--client: '${hostText}' is not an IPv4 address`);
  }
  const udp = has("udp");
  if (has("reverse") && has("bidir")) throw new UsageError("--reverse and --bidir exclude each other");
  const ends = ["time", "bytes", "blockcount"].filter((k) => get(k) !== undefined);
  if (ends.length > 1) throw new UsageError(`only one of --time, --bytes and --blockcount may end the test (got ${ends.map((k) => `--${k}`).join(", ")})`);
  const congestion = get("congestion") ?? null;
  if (congestion !== null && !isCongestionControlName(congestion)) throw new UsageError(`--congestion: '${congestion}' is not one of newreno, cubic`);
  const bytes = get("bytes") !== undefined ? amount("bytes", get("bytes") as string, "size") : 0;
  const blocks = get("blockcount") !== undefined ? whole("blockcount", get("blockcount") as string, 1, 2 ** 40) : 0;
  const params: TestParams = {
    ...DEFAULT_PARAMS,
    protocol: udp ? "udp" : "tcp",
    timeS: bytes > 0 || blocks > 0 ? 0 : get("time") !== undefined ? whole("time", get("time") as string, 1, 86_400) : DEFAULT_PARAMS.timeS,
    bytes,
    blocks,
    parallel: get("parallel") !== undefined ? whole("parallel", get("parallel") as string, 1, 128) : 1,
    reverse: has("reverse"),
    bidirectional: has("bidir"),
    // 0: the client picks iperf3's default once it knows the control connection's MSS.
    blockBytes: get("length") !== undefined ? amount("length", get("length") as string, "size") : 0,
    // iperf3: UDP defaults to 1 Mbit/s per stream, TCP to unlimited.
    rateBitsPerSec: get("bitrate") !== undefined ? amount("bitrate", get("bitrate") as string, "rate") : udp ? 1_000_000 : 0,
    pacingTimerUs: get("pacing-timer") !== undefined ? whole("pacing-timer", get("pacing-timer") as string, 1, 1_000_000) : 1000,
    omitS: get("omit") !== undefined ? whole("omit", get("omit") as string, 0, 600) : 0,
    noDelay: has("no-delay"),
    congestion,
  };
  if (params.blockBytes !== 0) {
    const checked = checkParams(params);
    if (isParamsError(checked)) throw new UsageError(`--length: ${checked.message}`);
  }
  return {
    upArgs,
    host,
    port: get("port") !== undefined ? whole("port", get("port") as string, 1, 65_535) : IPERF3_PORT,
    params,
    intervalS: get("interval") !== undefined ? seconds("interval", get("interval") as string, 60) : 1,
    json: has("json"),
    help,
  };
}

/** Runs the test on `board` and prints its report to `out`; the exit code (0 ran, 1 failed). */
export async function runIperf3OnBoard(board: Board, a: Iperf3Args, out: NodeJS.WritableStream): Promise<number> {
  const print = (lines: string[]): void => {
    for (const l of lines) out.write(`${l}\n`);
  };
  const report: ClientReport = await runIperf3Client(board.stack, {
    host: a.host,
    port: a.port,
    params: a.params,
    intervalS: a.intervalS,
    wallClockMicros,
    cpuUsage: () => process.cpuUsage(),
    ...(a.json ? {} : { onStart: (r: ClientReport) => print(textHeader(r)), onInterval: (i, r) => print(textInterval(r, i)) }),
  });
  if (a.json) out.write(`${JSON.stringify(reportJson(report, "walnut iperf3 client"), null, "\t")}\n`);
  else print(textSummary(report));
  return report.error === null ? 0 : 1;
}
