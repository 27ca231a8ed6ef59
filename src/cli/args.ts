// Command-line parsing for `walnut`: node's parseArgs for the syntax, then per-option validation that turns
// every mistake into one line naming the option (a UsageError; main prints it and exits 2).

import type { WifiNetwork } from "../board/micropython/runtime.js";
import { parseArgs } from "node:util";
import { accessSync, constants as fsConstants, statSync, type Stats } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { isatty } from "node:tty";
import type { FaultOptions } from "../link/fault.js";
import { parseIpv4, parseIpv4Cidr, parseMac, prefixToMask, randomLocalMac, formatIpv4, type MacAddr } from "../core/addr.js";
import { DEFAULT_TCP_CONFIG } from "../tcp/tcp.js";
import { DEFAULT_SERVICE_BACKLOG } from "../apps/services.js";

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
  /** Take the address by DHCP (--dhcp, or no --ip); `ip`, `prefixLength` and `gateway` are then 0. */
  dhcp: boolean;
  /** How long `walnut up` waits for the first lease. */
  dhcpWaitSeconds: number;
  /** --dhcp-lease: the file the lease is remembered in between runs (board/leaseFile), or null. */
  dhcpLeaseFile: string | null;
  /** Whether --mac was given (else `mac` is random, and a remembered lease's MAC may take its place). */
  isMacGiven: boolean;
  /** --bridge: the Linux bridge the TAP joins (the TAP stays in the current namespace); null otherwise. */
  bridge: string | null;
  /** --lan: a Linux bridge inside the namespace that this board's TAP joins, shared with other boards. */
  lan: string | null;
  /** --dns: the board's DNS servers (empty: none, or the DHCP lease's). */
  dnsServers: number[];
  /** --loss, --delay, … : faults injected on the board's link (both directions), or null for none. */
  faults: Partial<FaultOptions> | null;
  /** False with --no-offload: the TAP exchanges plain frames (no virtio-net header, no TSO/GRO). */
  offload: boolean;
  /** --iperf3 (true), --no-iperf3 (false), or neither (null: the command's default). */
  iperf3: boolean | null;
  /** --services (true), --no-services (false), or neither (null: the command's default). */
  services: boolean | null;
  /** --max-connections: most TCP connections the board holds in any state but LISTEN. */
  maxConnections: number;
  /** --backlog: the accept-queue length of the built-in TCP services. */
  backlog: number;
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
  dhcp: { type: "boolean" },
  "dhcp-wait": { type: "string" },
  "dhcp-lease": { type: "string" },
  bridge: { type: "string" },
  lan: { type: "string" },
  dns: { type: "string" },
  loss: { type: "string" },
  duplicate: { type: "string" },
  reorder: { type: "string" },
  corrupt: { type: "string" },
  delay: { type: "string" },
  jitter: { type: "string" },
  rate: { type: "string" },
  seed: { type: "string" },
  "no-offload": { type: "boolean" },
  iperf3: { type: "boolean" },
  "no-iperf3": { type: "boolean" },
  services: { type: "boolean" },
  "no-services": { type: "boolean" },
  "max-connections": { type: "string" },
  backlog: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** Whether `--name` is an up option followed by a value (`--ip 10.0.0.2/24`), for commands that mix in their own. */
export function upOptionTakesValue(name: string): boolean {
  return (UP_SPEC as Readonly<Record<string, { type: string }>>)[name]?.type === "string";
}

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

/** Whether `addr` lies in the subnet of `ip`/`prefixLength`. */
function isInSubnet(addr: number, ip: number, prefixLength: number): boolean {
  return ((addr ^ ip) & prefixToMask(prefixLength)) === 0;
}

function subnetText(ip: number, prefixLength: number): string {
  return `${formatIpv4((ip & prefixToMask(prefixLength)) >>> 0)}/${prefixLength}`;
}

/**
 * A subnet's first and last addresses are its network and directed-broadcast addresses (RFC 919, RFC 922),
 * never a host's — except on a /31, where RFC 3021 makes both of them hosts.
 */
function checkNotSubnetEdge(name: string, addr: number, ip: number, prefixLength: number): void {
  if (prefixLength >= 31) return;
  const mask = prefixToMask(prefixLength);
  const net = (ip & mask) >>> 0;
  const broadcast = (net | ~mask) >>> 0;
  const range = `pick one from ${formatIpv4(net + 1)} to ${formatIpv4(broadcast - 1)}`;
  if (addr >>> 0 === net) throw new UsageError(`--${name}: ${formatIpv4(addr)} is the network address of ${subnetText(ip, prefixLength)}, not a host; ${range}`);
  if (addr >>> 0 === broadcast) throw new UsageError(`--${name}: ${formatIpv4(addr)} is the broadcast address of ${subnetText(ip, prefixLength)}, not a host; ${range}`);
}

/**
 * An address for a host on the board's link (--ip, --host-ip): unicast (RFC 1122 §3.2.1.3 rules out
 * 0.0.0.0/8, 127.0.0.0/8, multicast and the reserved 240.0.0.0/4), in a subnet with room for two hosts:
 * /1 to /30, or /31 as a point-to-point link (RFC 3021). /0 would make every address on-link, and /32 leaves
 * no other host on the link.
 */
function checkHostAddress(name: string, addr: number, prefixLength: number): void {
  const text = formatIpv4(addr);
  const first = addr >>> 24;
  if (first === 0) throw new UsageError(`--${name}: ${text} is in 0.0.0.0/8 ("this network", RFC 1122 §3.2.1.3), never a host's address`);
  if (first === 127) throw new UsageError(`--${name}: ${text} is a loopback address (127.0.0.0/8); the board needs an address on its link`);
  if (first >= 224 && first < 240) throw new UsageError(`--${name}: ${text} is a multicast address; a host needs a unicast one`);
  if (first >= 240) throw new UsageError(`--${name}: ${text} is in the reserved 240.0.0.0/4 (or the broadcast address); a host needs a unicast one`);
  if (prefixLength === 0) throw new UsageError(`--${name}: /0 would put every IPv4 address on the board's link; give its subnet, e.g. ${text}/24`);
  if (prefixLength === 32) {
    throw new UsageError(`--${name}: /32 leaves no other host on the link; use /31 for a point-to-point link (RFC 3021) or a shorter prefix such as /24`);
  }
  checkNotSubnetEdge(name, addr, addr, prefixLength);
}

/**
 * The kernel side's default address: .1 of the board's subnet (or .2 when the board is .1); on a /31 (RFC
 * 3021) the subnet's other address.
 */
export function defaultHostCidr(ip: number, prefixLength: number): string {
  if (prefixLength === 31) return `${formatIpv4((ip ^ 1) >>> 0)}/31`;
  const mask = prefixToMask(prefixLength);
  const net = (ip & mask) >>> 0;
  const first = (net + 1) >>> 0;
  const host = first === ip ? (net + 2) >>> 0 : first;
  return `${formatIpv4(host)}/${prefixLength}`;
}

export function parseUpOptions(argv: readonly string[], defaults: { netns: string; tapName: string }): UpOptions | "help" {
  const v = parseSyntax(argv);
  if (v.help === true) return "help";
  if (v.dhcp === true || v.ip === undefined || v.bridge !== undefined) {
    const dhcpOrBridge = parseDhcpAndBridge(v, defaults);
    if (dhcpOrBridge !== null) return dhcpOrBridge;
  }
  if (v.ip === undefined) throw new UsageError("--ip is required, e.g. --ip 192.168.50.66/24");
  if (v["dhcp-lease"] !== undefined) throw new UsageError("--dhcp-lease: a static --ip has no lease to remember; use it with --dhcp");
  const lan = parseLan(v);
  const { addr: ip, prefixLength } = option("ip", v.ip, parseIpv4Cidr);
  checkHostAddress("ip", ip, prefixLength);
  const mtu = parseMtu(v.mtu);
  if (v.host === true && v.netns !== undefined) throw new UsageError("--host and --netns exclude each other");
  // A bridged TAP (--bridge) stays in the current namespace, unaddressed.
  const netns = v.host === true || v.bridge !== undefined ? null : validNetnsName(v.netns ?? defaults.netns);
  let hostCidr: string | null = null;
  if (v["host-ip"] !== undefined) {
    const hostIp = option("host-ip", v["host-ip"], parseIpv4Cidr);
    checkHostAddress("host-ip", hostIp.addr, hostIp.prefixLength);
    if (hostIp.addr === ip) throw new UsageError("--host-ip: must differ from the board's --ip");
    if (!isInSubnet(hostIp.addr, ip, prefixLength)) {
      throw new UsageError(
        `--host-ip: ${formatIpv4(hostIp.addr)} is outside the board's subnet ${subnetText(ip, prefixLength)}: the kernel side must be on the board's link (e.g. ${defaultHostCidr(ip, prefixLength)})`,
      );
    }
    checkNotSubnetEdge("host-ip", hostIp.addr, ip, prefixLength);
    hostCidr = v["host-ip"];
  } else if (v.tap === undefined && v.bridge === undefined) {
    hostCidr = defaultHostCidr(ip, prefixLength);
  }
  const gateway = v.gw !== undefined ? option("gw", v.gw, parseIpv4) : hostCidr !== null ? parseIpv4Cidr(hostCidr).addr : 0;
  if (v.gw !== undefined) {
    if (gateway === ip) throw new UsageError("--gw: the gateway must be another host, not the board's own --ip");
    if (!isInSubnet(gateway, ip, prefixLength)) {
      throw new UsageError(`--gw: ${formatIpv4(gateway)} is outside the board's subnet ${subnetText(ip, prefixLength)}: a gateway must be reachable on the board's link`);
    }
    checkNotSubnetEdge("gw", gateway, ip, prefixLength);
  }
  const mac = parseBoardMac(v.mac);
  return {
    ip,
    prefixLength,
    hostCidr,
    gateway,
    mac,
    mtu,
    netns,
    ...captureOptions(v, defaults),
    dhcp: false,
    dhcpWaitSeconds: 0,
    dhcpLeaseFile: null,
    isMacGiven: v.mac !== undefined,
    bridge: v.bridge !== undefined ? validIfName(v.bridge, "bridge") : null,
    lan,
    dnsServers: parseDnsServers(v.dns),
    faults: parseFaults(v),
    iperf3: parseOnOff(v.iperf3, v["no-iperf3"], "iperf3"),
    services: parseOnOff(v.services, v["no-services"], "services"),
    ...parseLimits(v),
  };
}

function probability(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const p = Number(text);
  if (!/^(0|1|0?\.\d+|1\.0*)$/.test(text) || p < 0 || p > 1) throw new UsageError(`--${name}: '${text}' must be a probability from 0 to 1, like 0.02`);
  return p;
}

function nonNegative(name: string, text: string | undefined, unit: string, max: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || n > max) throw new UsageError(`--${name}: '${text}' must be ${unit} from 0 to ${max}`);
  return n;
}

/**
 * `--loss P --duplicate P --reorder P --corrupt P --delay MS --jitter MS --rate BITS/S --seed N`: the board's
 * FaultInjector on both directions of its link, so scripts can be tried under a bad network. Null when none.
 */
function parseFaults(v: ParsedUp): Partial<FaultOptions> | null {
  const f: Partial<FaultOptions> = {};
  const set = <K extends keyof FaultOptions>(key: K, value: FaultOptions[K] | undefined): void => {
    if (value !== undefined) f[key] = value;
  };
  set("loss", probability("loss", v.loss));
  set("duplicate", probability("duplicate", v.duplicate));
  set("reorder", probability("reorder", v.reorder));
  set("corrupt", probability("corrupt", v.corrupt));
  set("delayMs", nonNegative("delay", v.delay, "milliseconds", 10_000));
  set("jitterMs", nonNegative("jitter", v.jitter, "milliseconds", 10_000));
  set("rateBitsPerSec", nonNegative("rate", v.rate, "bits per second", 100e9));
  const seed = nonNegative("seed", v.seed, "a whole number", 0xffffffff);
  if (seed !== undefined && !Number.isInteger(seed)) throw new UsageError(`--seed: '${v.seed ?? ""}' must be a whole number`);
  set("seed", seed);
  return Object.keys(f).length === 0 || (Object.keys(f).length === 1 && f.seed !== undefined) ? null : f;
}

/** `--NAME` / `--no-NAME`: on or off; null when neither is given (the command's default). */
function parseOnOff(on: boolean | undefined, off: boolean | undefined, name: string): boolean | null {
  if (on === true && off === true) throw new UsageError(`--${name} and --no-${name} exclude each other`);
  return on === true ? true : off === true ? false : null;
}

/** A whole number from `min` to `max`, or `fallback` when the option is absent. */
function wholeNumber(name: string, text: string | undefined, min: number, max: number, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) throw new UsageError(`--${name}: '${text}' must be a whole number from ${min} to ${max}`);
  return n;
}

/**
 * `--max-connections N` (TCP PCBs in any state but LISTEN; at the limit a SYN gets no SYN-ACK, counted as
 * tcp.pcbLimit) and `--backlog N` (the built-in services' accept queues).
 */
function parseLimits(v: ParsedUp): Pick<UpOptions, "maxConnections" | "backlog"> {
  return {
    maxConnections: wholeNumber("max-connections", v["max-connections"], 1, 1_000_000, DEFAULT_TCP_CONFIG.maxPcbs),
    backlog: wholeNumber("backlog", v.backlog, 1, 65_535, DEFAULT_SERVICE_BACKLOG),
  };
}

/** `--dns A.B.C.D[,A.B.C.D…]`: up to 3 servers, as a board's resolver keeps (lwIP DNS_MAX_SERVERS is 2–3). */
function parseDnsServers(text: string | undefined): number[] {
  if (text === undefined) return [];
  const servers = text.split(",").map((t) => option("dns", t.trim(), parseIpv4));
  if (servers.length > 3) throw new UsageError(`--dns: at most 3 servers (got ${servers.length})`);
  return servers;
}

function parseMtu(text: string | undefined): number {
  const mtuText = text ?? "1500";
  const mtu = Number(mtuText);
  if (!/^\d+$/.test(mtuText) || mtu < 576 || mtu > 9000) throw new UsageError(`--mtu: '${mtuText}' must be a number from 576 to 9000`);
  return mtu;
}

function parseBoardMac(text: string | undefined): MacAddr {
  const mac = text !== undefined ? option("mac", text, parseMac) : randomLocalMac();
  if (((mac[0] ?? 0) & 1) === 1) throw new UsageError(`--mac: '${text ?? ""}' is a multicast address; the board needs a unicast MAC`);
  return mac;
}

/** The options static and DHCP boards share: TAP name, capture, trace and offloads. */
function captureOptions(v: ParsedUp, defaults: { tapName: string }): Pick<UpOptions, "tapName" | "pcapPath" | "trace" | "offload"> {
  return {
    tapName: validIfName(v.tap ?? defaults.tapName, "tap"),
    pcapPath: parsePcapPath(v.pcap),
    trace: v.trace === true,
    offload: v["no-offload"] !== true,
  };
}

/**
 * `--pcap FILE`, or `--pcap -` for standard output (`walnut up --pcap - | tshark -r -`). Checked here so a
 * path that cannot be written is a usage error naming the option, before any TAP or namespace exists.
 */
function parsePcapPath(text: string | undefined): string | null {
  if (text === undefined) return null;
  if (text === "-") {
    // isatty on the descriptor, not process.stdout: touching that stream would make a pipe non-blocking.
    if (isatty(1)) throw new UsageError("--pcap -: standard output is a terminal and pcapng is binary; pipe it (walnut up --pcap - | tshark -r -) or give a file name");
    return "-";
  }
  if (text.length === 0) throw new UsageError("--pcap: which file? (--pcap board.pcapng, or --pcap - for standard output)");
  const full = resolve(text);
  const folder = dirname(full);
  const stat = statOrNull(full);
  if (stat?.isDirectory() === true) throw new UsageError(`--pcap ${text}: is a folder; give a file name inside it, e.g. ${join(text, "board.pcapng")}`);
  const folderStat = statOrNull(folder);
  if (folderStat === null) throw new UsageError(`--pcap ${text}: the folder ${folder} does not exist; create it or pick another path`);
  if (!folderStat.isDirectory()) throw new UsageError(`--pcap ${text}: ${folder} is a file, not a folder`);
  try {
    accessSync(stat !== null ? full : folder, fsConstants.W_OK);
  } catch {
    throw new UsageError(`--pcap ${text}: no permission to write ${stat !== null ? "that file" : `in ${folder}`}`);
  }
  return text;
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

/** --dhcp-lease FILE: a path, not '' or '-' (the file is read and written, never a stream). */
function parseLeaseFile(text: string | undefined): string | null {
  if (text === undefined) return null;
  if (text === "" || text === "-") throw new UsageError(`--dhcp-lease: '${text}' is not a file name`);
  return text;
}

/** --lan NAME: a bridge in the board's namespace; not with --bridge (outside any namespace) or --host. */
function parseLan(v: ParsedUp): string | null {
  if (v.lan === undefined) return null;
  const name = validIfName(v.lan, "lan");
  if (v.bridge !== undefined) throw new UsageError("--lan and --bridge exclude each other: --lan makes a bridge in the namespace, --bridge joins one outside");
  if (v.host === true) throw new UsageError("--lan and --host exclude each other: the LAN lives in a namespace (--netns)");
  if (v.tap !== undefined) throw new UsageError("--lan and --tap exclude each other: each board on a LAN gets a TAP of its own");
  return name;
}

/**
 * `--dhcp` (or no `--ip`) and `--bridge`. Returns the options for DHCP, or null for a static `--ip` (with or
 * without --bridge), which the caller parses as before. With DHCP the kernel side of a TAP walnut creates
 * needs an address (the subnet the DHCP server serves), unless the TAP joins a bridge or is an existing one.
 */
function parseDhcpAndBridge(v: ParsedUp, defaults: { netns: string; tapName: string }): UpOptions | null {
  if (v.bridge !== undefined) {
    validIfName(v.bridge, "bridge");
    if (v.netns !== undefined) throw new UsageError("--bridge and --netns exclude each other: the TAP stays in the current namespace, attached to the bridge");
    if (v["host-ip"] !== undefined) throw new UsageError("--bridge: the TAP joins the bridge without an address; drop --host-ip");
  }
  if (v.dhcp === true && v.ip !== undefined) throw new UsageError("--dhcp and --ip exclude each other");
  if (v.ip !== undefined) return null;
  if (v.gw !== undefined) throw new UsageError("--gw: with DHCP the gateway comes from the server (option 3); drop --gw or use --ip");
  if (v.host === true && v.netns !== undefined) throw new UsageError("--host and --netns exclude each other");
  if (v.dhcp !== true && v["host-ip"] === undefined && v.bridge === undefined && v.tap === undefined) {
    // `walnut up` alone: neither a static address nor the subnet a DHCP server would serve.
    throw new UsageError("--ip is required, e.g. --ip 192.168.50.66/24 (or take one by DHCP: --dhcp with --host-ip, --bridge or --tap)");
  }
  if (v.dhcp === true && v["host-ip"] === undefined && v.bridge === undefined && v.tap === undefined) {
    throw new UsageError("--dhcp needs --host-ip A.B.C.D/LEN for the TAP's kernel side (where the DHCP server listens), or --bridge BR, or --tap NAME");
  }
  if (v["host-ip"] !== undefined) {
    const hostIp = option("host-ip", v["host-ip"], parseIpv4Cidr);
    checkHostAddress("host-ip", hostIp.addr, hostIp.prefixLength);
  }
  const hostCidr = v["host-ip"] ?? null;
  const waitText = v["dhcp-wait"] ?? "30";
  const dhcpWaitSeconds = Number(waitText);
  if (!/^\d+$/.test(waitText) || dhcpWaitSeconds < 1 || dhcpWaitSeconds > 3600) throw new UsageError(`--dhcp-wait: '${waitText}' must be a number of seconds from 1 to 3600`);
  const mtu = parseMtu(v.mtu);
  const mac = parseBoardMac(v.mac);
  const bridge = v.bridge ?? null;
  const lan = parseLan(v);
  // A bridged TAP stays in the current namespace.
  const netns = v.host === true || bridge !== null ? null : validNetnsName(v.netns ?? defaults.netns);
  return {
    ip: 0,
    prefixLength: 0,
    hostCidr,
    gateway: 0,
    mac,
    mtu,
    netns,
    ...captureOptions(v, defaults),
    dhcp: true,
    dhcpWaitSeconds,
    dhcpLeaseFile: parseLeaseFile(v["dhcp-lease"]),
    isMacGiven: v.mac !== undefined,
    bridge,
    lan,
    dnsServers: parseDnsServers(v.dns),
    faults: parseFaults(v),
    iperf3: parseOnOff(v.iperf3, v["no-iperf3"], "iperf3"),
    services: parseOnOff(v.services, v["no-services"], "services"),
    ...parseLimits(v),
  };
}

export const UP_USAGE = `usage: walnut up --ip A.B.C.D/LEN [options]
       walnut up --dhcp (--host-ip A.B.C.D/LEN | --bridge BR | --tap NAME) [options]
  --ip A.B.C.D/LEN     the board's static address
  --dhcp               take the address by DHCP instead (also when --ip is absent); needs a DHCP server on the link
  --dhcp-wait S        seconds to wait for the first lease before giving up (default 30)
  --dhcp-lease FILE    remember the lease in FILE: the next run (same MAC; FILE's MAC unless --mac) asks for the
                       same address back (INIT-REBOOT); the lease is kept at exit, not released
  --bridge BR          attach the TAP (kept in the current namespace, no address) to the existing Linux bridge BR,
                       e.g. one holding your LAN interface, so the board joins that LAN (with --dhcp: a LAN lease)
  --lan NAME           put the board's TAP on a Linux bridge NAME inside the namespace, shared with other boards
                       started with the same --lan (and --netns): they reach each other and the kernel side,
                       which holds --host-ip on the bridge. The first board creates the bridge, the last removes it
  --host-ip A.B.C.D/LEN  address of the TAP's kernel side (default with --ip: .1 of the board's subnet;
                       with --dhcp: required, unless --bridge or --tap)
  --gw A.B.C.D         the board's default gateway (default: the kernel side's address)
  --dns A.B.C.D[,...]  DNS servers for the board's resolver (default: the DHCP lease's, else none)
  --loss P --duplicate P --reorder P --corrupt P   faults on the board's link, both directions (0 to 1)
  --delay MS --jitter MS --rate BITS/S --seed N    extra one-way delay, jitter, a rate limit, the faults' seed
  --mac XX:XX:XX:XX:XX:XX  the board's MAC (default: random, locally administered)
  --mtu N              IP MTU, 576-9000 (default 1500)
  --max-connections N  most TCP connections the board holds, 1-1000000 (default 1024); at the limit new SYNs
                       get no SYN-ACK (counted: tcp.pcbLimit)
  --backlog N          accept-queue length of the built-in TCP services, 1-65535 (default 128)
  --netns NAME         namespace for the kernel side (default: walnut; created and removed if missing)
  --host               keep the kernel side in the current namespace instead
  --tap NAME           TAP name: attach to an existing TAP as it is, or create one with this name
  --pcap FILE          write every frame the board sees and sends to FILE (pcapng); --pcap - writes it to
                       standard output (walnut up --pcap - | tshark -r -), the board's own lines then go to stderr
  --trace              print one decoded line per frame
  --no-offload         plain 1514-byte frames on the TAP: no virtio-net header, no TCP segmentation or
                       checksum offload (default: TCP moves 64 KiB super-frames both ways, checksums left
                       to the kernel)
  --no-services        do not serve echo 7, discard 9 and chargen 19 (TCP) and echo 7, discard 9 (UDP)
  --services           serve them from walnut run and walnut repl too (off there by default: a real board
                       serves none, and a script may bind those ports)
  --no-iperf3          do not serve iperf3 on port 5201 (walnut up serves it by default: iperf3 -c BOARD_IP)
  --iperf3             serve iperf3 on port 5201 (walnut run and walnut repl do not by default: a script may want the port)`;

/** `walnut run`'s own options (beside the up options). */
export interface RunArgs {
  upArgs: string[];
  /** The script, or null with --fs (boot.py then main.py from the folder). */
  script: string | null;
  /** sys.argv[1:]: every argument after the script. */
  scriptArgs: string[];
  /** --fs DIR: the board's flash. */
  fsDir: string | null;
  /** --verbose: the board summary on stderr even when it is not a terminal. */
  verbose: boolean;
  /** --trace-pins: log machine.Pin value changes on stderr. */
  tracePins: boolean;
  /** --wifi SSID:KEY: the one access point network.WLAN().connect() accepts; null accepts any. */
  wifi: WifiNetwork | null;
}

/** `--wifi SSID:KEY` (the key may hold ':'; an open network is `SSID:`). */
function parseWifi(text: string | undefined): WifiNetwork {
  const at = text === undefined ? -1 : text.indexOf(":");
  if (text === undefined || at <= 0) throw new UsageError("--wifi: expected SSID:KEY (e.g. --wifi home:secret, or --wifi cafe: for an open network)");
  return { ssid: text.slice(0, at), key: text.slice(at + 1) };
}

/**
 * `walnut run [options] [script.py [args…]]`: the up options, walnut run's own (--fs DIR, --verbose), the
 * script (the first argument that is not an option or its value) and, after it, the script's arguments.
 */
export function splitRunArgs(argv: readonly string[]): RunArgs {
  const out: RunArgs = { upArgs: [], script: null, scriptArgs: [], fsDir: null, verbose: false, tracePins: false, wifi: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (out.script !== null) {
      out.scriptArgs.push(arg);
      continue;
    }
    if (!arg.startsWith("-")) {
      out.script = arg;
      continue;
    }
    if (arg === "--verbose") {
      out.verbose = true;
      continue;
    }
    if (arg === "--trace-pins") {
      out.tracePins = true;
      continue;
    }
    if (arg === "--wifi" || arg.startsWith("--wifi=")) {
      out.wifi = parseWifi(arg === "--wifi" ? argv[++i] : arg.slice("--wifi=".length));
      continue;
    }
    if (arg === "--fs" || arg.startsWith("--fs=")) {
      const value = arg === "--fs" ? argv[++i] : arg.slice("--fs=".length);
      if (value === undefined || value.length === 0) throw new UsageError("--fs: which folder? (--fs DIR)");
      out.fsDir = value;
      continue;
    }
    out.upArgs.push(arg);
    const name = arg.startsWith("--") ? arg.slice(2) : "";
    const spec = (UP_SPEC as Readonly<Record<string, { type: string }>>)[name];
    if (spec?.type === "string" && i + 1 < argv.length) out.upArgs.push(argv[++i] as string);
  }
  return out;
}

export const RUN_USAGE = `usage: walnut run [up options] [--fs DIR] [--verbose] [--trace-pins] [--wifi SSID:KEY] script.py [args...]
       walnut run [up options] --fs DIR
  brings a board up (the same options as walnut up: --ip, --netns, --host-ip, --dhcp, …), runs the MicroPython
  script on it (its usocket/socket, select and network modules are the board's), prints its output and tears
  the board down. The script's folder is on sys.path (a package beside it imports); sys.argv is the script and
  its arguments; sys.stdin and input() read walnut's standard input. Exit code: the script's (0, sys.exit(n),
  or 1 after an uncaught exception, its traceback on stderr).
  --fs DIR             the board's flash: DIR is "/" for the script (read-write: open, os.listdir, os.stat,
                       os.remove, …; paths outside DIR are refused) and DIR/lib is on sys.path; without a
                       script, runs boot.py then main.py from DIR as a board does at power-on
  --verbose            print the board's one-line summary on stderr (it is printed anyway when stderr is a
                       terminal; piped output carries only the script's own)
  --trace-pins         log every change of a machine.Pin's value on stderr ("walnut: pin 2 = 1 at 0.503 s")
  --wifi SSID:KEY      the access point network.WLAN().connect() joins: another SSID gives STAT_NO_AP_FOUND,
                       another key STAT_WRONG_PASSWORD, and scan() lists it (default: every SSID and key joins)
  kill -USR1 PID prints the board's connections and counters on stderr`;

export const REPL_USAGE = `usage: walnut repl [up options] [--fs DIR] [--trace-pins] [--wifi SSID:KEY]
  brings a board up (the same options as walnut up: --ip, --netns, --host-ip, --dhcp, …) and runs MicroPython's
  interactive REPL on it (its usocket/socket, select and network modules are the board's): >>> prompt, multi-line
  input, tab completion, Ctrl-C raises KeyboardInterrupt in a blocked call; Ctrl-D on an empty line, exit() or
  the end of piped input leaves the REPL and tears the board down (exit code 0)`;
