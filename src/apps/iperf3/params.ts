// The test parameters a client sends in PARAM_EXCHANGE (one JSON object), parsed and checked against
// iperf3's limits, and built from a client's options. Unknown keys are ignored, as iperf3 ignores them.
// Call order: server.ts (PARAM_EXCHANGE) → parseParams; client.ts → paramsToJson → protocol.encodeJson.

import { IperfError, IperfLimits } from "./protocol.js";

export interface TestParams {
  protocol: "tcp" | "udp";
  /** Seconds at the start whose results are left out (-O). */
  omitS: number;
  /** Test length in seconds (-t); 0 when the test ends by bytes or blocks. */
  timeS: number;
  /** End after this many bytes in total (-n); 0 = not by bytes. */
  bytes: number;
  /** End after this many blocks in total (-k); 0 = not by blocks. */
  blocks: number;
  /** Streams per direction (-P). */
  parallel: number;
  /** The server sends (-R). */
  reverse: boolean;
  /** Both send, `parallel` streams each way (--bidir). */
  bidirectional: boolean;
  /** Bytes per write (-l): a TCP block, or one UDP datagram's payload. */
  blockBytes: number;
  /** Target bits per second per stream (-b); 0 = unlimited. */
  rateBitsPerSec: number;
  /** How often a paced sender checks its rate, in microseconds (--pacing-timer; iperf3's default 1000). */
  pacingTimerUs: number;
  /** TCP_NODELAY on the streams (-N). */
  noDelay: boolean;
  /** UDP packet counters of 64 bits (--udp-counters-64bit). */
  udpCounters64: boolean;
  /** The client asked for the server's output in the results (--get-server-output). */
  getServerOutput: boolean;
  /** Socket buffer size asked for (-w), 0 = default. Reported, not applied: the board's rings are fixed. */
  windowBytes: number;
  /** TCP congestion control asked for (-C), or null. */
  congestion: string | null;
  title: string | null;
}

/** What a client sends by default: TCP, 10 s, one stream, 128 KiB blocks. */
export const DEFAULT_PARAMS: TestParams = {
  protocol: "tcp",
  omitS: 0,
  timeS: 10,
  bytes: 0,
  blocks: 0,
  parallel: 1,
  reverse: false,
  bidirectional: false,
  blockBytes: IperfLimits.defaultTcpBlockBytes,
  rateBitsPerSec: 0,
  pacingTimerUs: 1000,
  noDelay: false,
  udpCounters64: false,
  getServerOutput: false,
  windowBytes: 0,
  congestion: null,
  title: null,
};

/** A refusal: iperf3's error number for the SERVER_ERROR message, and a line for logs. */
export interface ParamsError {
  iperfErrno: number;
  message: string;
}

function num(obj: Record<string, unknown>, key: string, fallback: number): number | null {
  const v = obj[key];
  if (v === undefined) return fallback;
  return typeof v === "number" && Number.isFinite(v) && v >= 0 ? Math.floor(v) : null;
}

function str(obj: Record<string, unknown>, key: string): string | null {
  const v = obj[key];
  return typeof v === "string" ? v : null;
}

/** The client's parameters, or why they are refused (a non-object, a bad number, an unsupported protocol). */
export function parseParams(json: unknown): TestParams | ParamsError {
  if (typeof json !== "object" || json === null || Array.isArray(json)) return { iperfErrno: IperfError.IERECVPARAMS, message: "parameters are not a JSON object" };
  const o = json as Record<string, unknown>;
  // iperf3 takes the presence of "tcp", "udp" or "sctp" as the choice, whatever the value.
  if (o["sctp"] !== undefined) return { iperfErrno: IperfError.IEUNIMP, message: "SCTP is not supported" };
  const protocol = o["udp"] !== undefined ? "udp" : "tcp";
  const fields = {
    omitS: num(o, "omit", 0),
    timeS: num(o, "time", DEFAULT_PARAMS.timeS),
    bytes: num(o, "num", 0),
    blocks: num(o, "blockcount", 0),
    parallel: num(o, "parallel", 1),
    blockBytes: num(o, "len", protocol === "udp" ? IperfLimits.defaultUdpBlockBytes : IperfLimits.defaultTcpBlockBytes),
    rateBitsPerSec: num(o, "bandwidth", 0),
    pacingTimerUs: num(o, "pacing_timer", 1000),
    windowBytes: num(o, "window", 0),
  };
  for (const [k, v] of Object.entries(fields)) if (v === null) return { iperfErrno: IperfError.IERECVPARAMS, message: `parameter ${k} is not a non-negative number` };
  const p: TestParams = {
    ...DEFAULT_PARAMS,
    ...(fields as { [K in keyof typeof fields]: number }),
    protocol,
    reverse: o["reverse"] !== undefined,
    bidirectional: o["bidirectional"] !== undefined,
    noDelay: o["nodelay"] !== undefined,
    udpCounters64: o["udp_counters_64bit"] !== undefined,
    getServerOutput: o["get_server_output"] !== undefined,
    congestion: str(o, "congestion"),
    title: str(o, "title"),
  };
  return checkParams(p);
}

/** iperf3's own limits on a test, which the server enforces as iperf3 -s does. */
export function checkParams(p: TestParams): TestParams | ParamsError {
  if (p.timeS > IperfLimits.maxTimeS || p.omitS > IperfLimits.maxTimeS) return { iperfErrno: IperfError.IEDURATION, message: `test of ${p.timeS} s (at most ${IperfLimits.maxTimeS})` };
  if (p.parallel < 1 || p.parallel > IperfLimits.maxStreams) return { iperfErrno: IperfError.IENUMSTREAMS, message: `${p.parallel} streams (1 to ${IperfLimits.maxStreams})` };
  if (p.protocol === "udp") {
    if (p.blockBytes < IperfLimits.minUdpBlockBytes + (p.udpCounters64 ? 4 : 0) || p.blockBytes > IperfLimits.maxUdpBlockBytes) {
      return { iperfErrno: IperfError.IEUDPBLOCKSIZE, message: `UDP datagrams of ${p.blockBytes} bytes (${IperfLimits.minUdpBlockBytes} to ${IperfLimits.maxUdpBlockBytes})` };
    }
  } else if (p.blockBytes < 1 || p.blockBytes > IperfLimits.maxTcpBlockBytes) {
    return { iperfErrno: IperfError.IEBLOCKSIZE, message: `TCP blocks of ${p.blockBytes} bytes (1 to ${IperfLimits.maxTcpBlockBytes})` };
  }
  return p;
}

export function isParamsError(p: TestParams | ParamsError): p is ParamsError {
  return "iperfErrno" in p;
}

/** The parameters as the client's JSON object (iperf3's send_parameters: absent keys mean off or 0). */
export function paramsToJson(p: TestParams): Record<string, unknown> {
  const j: Record<string, unknown> = {};
  j[p.protocol] = true;
  j["omit"] = p.omitS;
  j["time"] = p.timeS;
  if (p.bytes > 0) j["num"] = p.bytes;
  if (p.blocks > 0) j["blockcount"] = p.blocks;
  if (p.noDelay) j["nodelay"] = true;
  j["parallel"] = p.parallel;
  if (p.reverse) j["reverse"] = true;
  if (p.bidirectional) j["bidirectional"] = true;
  if (p.windowBytes > 0) j["window"] = p.windowBytes;
  j["len"] = p.blockBytes;
  if (p.rateBitsPerSec > 0) j["bandwidth"] = p.rateBitsPerSec;
  j["pacing_timer"] = p.pacingTimerUs;
  if (p.congestion !== null) j["congestion"] = p.congestion;
  if (p.title !== null) j["title"] = p.title;
  if (p.getServerOutput) j["get_server_output"] = 1;
  if (p.udpCounters64) j["udp_counters_64bit"] = 1;
  return j;
}
