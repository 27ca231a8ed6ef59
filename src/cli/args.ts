// Command-line parsing for `walnut`: node's parseArgs for the syntax, then per-option validation that turns
// every mistake into one line naming the option (a UsageError; main prints it and exits 2).

import { parseArgs } from "node:util";
import { parseIpv4, parseIpv4Cidr, parseMac, prefixToMask, randomLocalMac, formatIpv4, type MacAddr } from "../core/addr.js";

export class UsageError extends Error {}

export interface UpOptions {
  ip: number;
  prefixLength: number;
  hostCidr: string | null;
  gateway: number;
  mac: MacAddr;
  mtu: number;
  netns: string | null;
  tapName: string;
  pcapPath: string | null;
  trace: boolean;
}

const UP_SPEC = {
  ip: { type: "string" },
  "host-ip": { type: "string" },
  gw: { type: "string" },
  mac: { type: "string" },
  mtu: { type: "string" },
  netns: { type: "string" },
  host: { type: "boolean" },
  tap: { type: "string" },
  pcap: { type: "string" },
  trace: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

type ParsedUp = ReturnType<typeof parseArgs<{ options: typeof UP_SPEC; strict: true; allowPositionals: false }>>["values"];

/** Runs parseArgs and rewrites its errors as one-line usage errors. */
function parseSyntax(argv: readonly string[]): ParsedUp {
  try {
    return parseArgs({ args: [...argv], options: UP_SPEC, strict: true, allowPositionals: false }).values;
  } catch (err) {
    const message = err instanceof Error ? err.message.split("\n")[0] ?? "bad arguments" : "bad arguments";
    throw new UsageError(message.replace(/^Unknown option '(.*)'.*$/, "unknown option $1").replace(/\. To specify.*$/, ""));
  }
}

function option<T>(name: string, text: string, parse: (t: string) => T): T {
  try {
    return parse(text);
  } catch (err) {
    throw new UsageError(`--${name}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** A Linux interface name: 1–15 characters, no slash or space (IFNAMSIZ). */
function validIfName(name: string, what: string): string {
  if (!/^[A-Za-z0-9_.%-]{1,15}$/.test(name)) throw new UsageError(`--${what}: '${name}' is not a valid interface name (1-15 letters, digits, . _ -)`);
  return name;
}

function validNetnsName(name: string): string {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) throw new UsageError(`--netns: '${name}' is not a valid namespace name`);
  return name;
}

/** The kernel side's default address: .1 of the board's subnet (or .2 when the board is .1). */
export function defaultHostCidr(ip: number, prefixLength: number): string {
  const mask = prefixToMask(prefixLength);
  const net = (ip & mask) >>> 0;
  const first = (net + 1) >>> 0;
  const host = first === ip ? (net + 2) >>> 0 : first;
  return `${formatIpv4(host)}/${prefixLength}`;
}

export function parseUpOptions(argv: readonly string[], defaults: { netns: string; tapName: string }): UpOptions | "help" {
  const v = parseSyntax(argv);
  if (v.help === true) return "help";
  if (v.ip === undefined) throw new UsageError("--ip is required, e.g. --ip 192.168.50.66/24");
  const { addr: ip, prefixLength } = option("ip", v.ip, parseIpv4Cidr);
  if (prefixLength > 30) throw new UsageError(`--ip: /${prefixLength} leaves no room for the kernel side; use /30 or shorter`);
  const mtuText = v.mtu ?? "1500";
  const mtu = Number(mtuText);
  if (!/^\d+$/.test(mtuText) || mtu < 576 || mtu > 9000) throw new UsageError(`--mtu: '${mtuText}' must be a number from 576 to 9000`);
  if (v.host === true && v.netns !== undefined) throw new UsageError("--host and --netns exclude each other");
  const netns = v.host === true ? null : validNetnsName(v.netns ?? defaults.netns);
  let hostCidr: string | null = null;
  if (v["host-ip"] !== undefined) {
    const hostIp = option("host-ip", v["host-ip"], parseIpv4Cidr);
    if (hostIp.addr === ip) throw new UsageError("--host-ip: must differ from the board's --ip");
    hostCidr = v["host-ip"];
  } else if (v.tap === undefined) {
    hostCidr = defaultHostCidr(ip, prefixLength);
  }
  const gateway = v.gw !== undefined ? option("gw", v.gw, parseIpv4) : hostCidr !== null ? parseIpv4Cidr(hostCidr).addr : 0;
  const mac = v.mac !== undefined ? option("mac", v.mac, parseMac) : randomLocalMac();
  if (((mac[0] ?? 0) & 1) === 1) throw new UsageError(`--mac: '${v.mac ?? ""}' is a multicast address; the board needs a unicast MAC`);
  return {
    ip,
    prefixLength,
    hostCidr,
    gateway,
    mac,
    mtu,
    netns,
    tapName: validIfName(v.tap ?? defaults.tapName, "tap"),
    pcapPath: v.pcap ?? null,
    trace: v.trace === true,
  };
}

export const UP_USAGE = `usage: walnut up --ip A.B.C.D/LEN [options]
  --ip A.B.C.D/LEN     the board's address (required)
  --host-ip A.B.C.D/LEN  address of the TAP's kernel side (default: .1 of the board's subnet)
  --gw A.B.C.D         the board's default gateway (default: the kernel side's address)
  --mac XX:XX:XX:XX:XX:XX  the board's MAC (default: random, locally administered)
  --mtu N              IP MTU, 576-9000 (default 1500)
  --netns NAME         namespace for the kernel side (default: walnut; created and removed if missing)
  --host               keep the kernel side in the current namespace instead
  --tap NAME           TAP name: attach to an existing TAP as it is, or create one with this name
  --pcap FILE          write every frame the board sees and sends to FILE (pcapng)
  --trace              print one decoded line per frame`;
