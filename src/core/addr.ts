// Address helpers. Inside the stack an IPv4 address is a u32 number and a MAC address is 6 bytes; strings
// exist only at the edges (CLI, config, traces). Parsing user input goes through ip-num, which rejects
// malformed text with a clear message.

import { IPv4, Validator } from "ip-num";
import { CryptoRandom, type Random } from "./random.js";

export type Ipv4Addr = number;

export const IPV4_ANY: Ipv4Addr = 0;
export const IPV4_BROADCAST: Ipv4Addr = 0xffffffff;

/** Formats a u32 as dotted quad: the one formatter, for traces, netstat, usocket addresses and the CLI. */
export function formatIpv4(addr: Ipv4Addr): string {
  return `${addr >>> 24}.${(addr >>> 16) & 0xff}.${(addr >>> 8) & 0xff}.${addr & 0xff}`;
}

/**
 * The one dotted-quad parser: four decimal octets of at most 255, without leading zeros or anything around
 * them (ip-num rejects the rest), as a u32; -1 when `text` is not one. For text that may be a host name as
 * well (getaddrinfo, the resolver); where only an address will do, `parseIpv4` throws instead.
 */
export function tryParseIpv4(text: string): Ipv4Addr | -1 {
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(text) || !Validator.isValidIPv4String(text)[0]) return -1;
  return Number(IPv4.fromDecimalDottedString(text).getValue()) >>> 0;
}

/** Parses a dotted quad (as `tryParseIpv4`); throws an Error naming the input, and ip-num's reason, when it is not one. */
export function parseIpv4(text: string): Ipv4Addr {
  const addr = tryParseIpv4(text);
  if (addr >= 0) return addr;
  const [, why] = Validator.isValidIPv4String(text);
  throw new Error(`'${text}' is not an IPv4 address${why.length > 0 ? ` (${why.join("; ")})` : ""}`);
}

/** Parses `a.b.c.d/len` into address and prefix length. */
export function parseIpv4Cidr(text: string): { addr: Ipv4Addr; prefixLength: number } {
  const slash = text.indexOf("/");
  if (slash < 0) throw new Error(`'${text}' needs a prefix length, like 192.168.50.66/24`);
  const addr = parseIpv4(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  const prefixLength = Number(lenText);
  if (!/^\d+$/.test(lenText) || prefixLength < 0 || prefixLength > 32) {
    throw new Error(`'${text}' has a bad prefix length (0 to 32)`);
  }
  return { addr, prefixLength };
}

export function prefixToMask(prefixLength: number): Ipv4Addr {
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}

export function maskToPrefix(mask: Ipv4Addr): number {
  let n = 0;
  for (let m = mask >>> 0; m & 0x80000000; m = (m << 1) >>> 0) n++;
  return n;
}

export function isMulticastIpv4(addr: Ipv4Addr): boolean {
  return addr >>> 28 === 0xe;
}

/**
 * Whether `addr` can be another host's own address on the wire (RFC 1122 §3.2.1.3): not {0, any}, not
 * {127, any} (which "MUST NOT appear outside a host"), not multicast, not the limited broadcast. A subnet's
 * directed broadcast and 0.0.0.0 itself are the callers' to judge (they depend on the netif and the use).
 */
export function isUnicastHostIpv4(addr: Ipv4Addr): boolean {
  const first = addr >>> 24;
  return first !== 0 && first !== 127 && !isMulticastIpv4(addr) && addr !== IPV4_BROADCAST;
}

export type MacAddr = Uint8Array;

export const MAC_BROADCAST: MacAddr = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

export function formatMac(bytes: Uint8Array, offset = 0): string {
  let s = "";
  for (let i = 0; i < 6; i++) {
    if (i > 0) s += ":";
    s += (bytes[offset + i] ?? 0).toString(16).padStart(2, "0");
  }
  return s;
}

export function parseMac(text: string): MacAddr {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new Error(`'${text}' is not a MAC address (like 02:00:00:12:34:56)`);
  }
  return new Uint8Array(parts.map((p) => parseInt(p, 16)));
}

/** A random locally administered unicast MAC (RFC 7042 §2.1: bit 1 of the first octet set, bit 0 clear). */
export function randomLocalMac(random: Random = new CryptoRandom()): MacAddr {
  const mac = new Uint8Array(6);
  for (let i = 0; i < 6; i++) mac[i] = random.below(256);
  mac[0] = ((mac[0] ?? 0) & 0xfc) | 0x02;
  return mac;
}

export function macEquals(a: Uint8Array, aOffset: number, b: Uint8Array, bOffset = 0): boolean {
  for (let i = 0; i < 6; i++) if (a[aOffset + i] !== b[bOffset + i]) return false;
  return true;
}
