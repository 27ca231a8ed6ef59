// The argument shapes usocket calls accept, checked at the edge as MicroPython's C module checks them
// (docs/usocket.md "Socket methods"): bytes-likes and str for data, (ip, port) tuples, sizes, int options.

import { parseIpv4 } from "../core/addr.js";
import { ValueError } from "./oserror.js";

/** What data arguments accept: bytes-likes and str (UTF-8), as MicroPython's buffer protocol does. */
export type BufferLike = string | ArrayBufferLike | ArrayBufferView;
/** An address tuple `(ip, port)`; '' and '0.0.0.0' mean any local address. */
export type SockAddr = readonly [ip: string, port: number];
/** A setsockopt value: an int (bools count as ints) or a bytes-like (struct.pack output). */
export type OptionValue = number | boolean | BufferLike;

const ENCODER = new TextEncoder();

export function toBytes(data: BufferLike): Uint8Array {
  if (typeof data === "string") return ENCODER.encode(data);
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer || (typeof SharedArrayBuffer !== "undefined" && data instanceof SharedArrayBuffer)) return new Uint8Array(data);
  throw new TypeError("object with buffer protocol required");
}

/** Validates an address tuple (ip-num via parseIpv4) → [ip as u32, port]. */
export function parseSockAddr(addr: SockAddr): [number, number] {
  if (!Array.isArray(addr) || addr.length !== 2) throw new TypeError("address must be an (ip, port) tuple");
  const [text, port] = addr as unknown[];
  if (typeof text !== "string" || typeof port !== "number") throw new TypeError("address must be an (ip: str, port: int) tuple");
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ValueError(`port ${port} out of range 0-65535`);
  if (text === "") return [0, port];
  try {
    return [parseIpv4(text), port];
  } catch (e) {
    throw new ValueError(e instanceof Error ? e.message : String(e));
  }
}

export function checkSize(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 0) throw new ValueError(`${what} must be a non-negative integer`);
  return n;
}

/** A size argument where None or a negative number means "no limit" (read, readline). */
export function optionalSize(n: number | null | undefined, what: string): number {
  return n === undefined || n === null || n < 0 ? Infinity : checkSize(n, what);
}

export function intOption(value: OptionValue): number {
  if (typeof value === "number") return value;
  if (typeof value === "boolean") return value ? 1 : 0;
  throw new TypeError("can't convert to int");
}

/** A bytes-like option value (IP_ADD_MEMBERSHIP, SO_LINGER); ints are refused as the C module does. */
export function bytesOption(value: OptionValue): Uint8Array {
  if (typeof value === "number" || typeof value === "boolean") throw new TypeError("object with buffer protocol required");
  return toBytes(value);
}

/**
 * SO_LINGER's `struct linger` (two native ints, l_onoff then l_linger seconds, as struct.pack('ii', …)
 * makes them on a little-endian board) → the linger in seconds, or null when lingering is off.
 */
export function lingerOption(value: OptionValue): number | null {
  const b = bytesOption(value);
  if (b.length !== 8) throw new ValueError("SO_LINGER value must be 8 bytes: struct.pack('ii', onoff, seconds)");
  const view = new DataView(b.buffer, b.byteOffset, 8);
  if (view.getInt32(0, true) === 0) return null;
  const seconds = view.getInt32(4, true);
  if (seconds < 0) throw new ValueError("SO_LINGER seconds must be non-negative");
  return seconds;
}

/** An IP_ADD/DROP_MEMBERSHIP value: 8 bytes, the group then the interface address → the group as u32. */
export function membershipGroup(value: OptionValue): number {
  const b = bytesOption(value);
  if (b.length !== 8) throw new ValueError("membership value must be 8 bytes: group address, then interface address");
  return new DataView(b.buffer, b.byteOffset, 8).getUint32(0, false);
}
