// The IP options an echo reply carries back (RFC 1122 §3.2.2.6: "If a Record Route and/or Time Stamp option
// is received in an Echo Request, this option (these options) SHOULD be updated to include the current host
// and included in the IP header of the Echo Reply message, without 'truncation'"). This is what `ping -R`
// and `ping -T` show. Other options are not returned: source routes the board does not reverse (a host that
// is the final destination may ignore them), and unknown ones mean nothing to the sender.

import { IPV4 } from "./ipv4.js";

/** RFC 791 §3.1 option types the echo reply returns. */
const OptionType = { END_OF_LIST: 0, NO_OPERATION: 1, RECORD_ROUTE: 7, TIMESTAMP: 68 } as const;

/** RFC 791 Internet Timestamp flags (the low nibble of its fourth octet). */
const TimestampFlag = { ONLY: 0, WITH_ADDRESS: 1, PRESPECIFIED: 3 } as const;

/** Most option bytes a header holds (IHL 15). */
export const MAX_OPTIONS_BYTES = 40;

/**
 * Writes into `out[at…)` the Record Route and Timestamp options of the request header at
 * `bytes[headerOffset, headerOffset + headerLength)` (already checked by `ipv4OptionsError`), each with
 * this host's entry added where it has room, padded with End of Option List to a multiple of 4 octets.
 * Returns the bytes written (0 when there is nothing to return). `stampMs` is the RFC 791 timestamp:
 * milliseconds since midnight UT, or a value with the high-order bit set when the time of day is unknown.
 */
export function writeEchoOptions(
  bytes: Uint8Array,
  headerOffset: number,
  headerLength: number,
  ourIp: number,
  stampMs: number,
  out: Uint8Array,
  at: number,
): number {
  let written = 0;
  let i = IPV4.minHeaderLength;
  while (i < headerLength) {
    const type = bytes[headerOffset + i] as number;
    if (type === OptionType.END_OF_LIST) break;
    if (type === OptionType.NO_OPERATION) {
      i++;
      continue;
    }
    const length = bytes[headerOffset + i + 1] as number;
    if (type === OptionType.RECORD_ROUTE || type === OptionType.TIMESTAMP) {
      const o = at + written;
      out.set(bytes.subarray(headerOffset + i, headerOffset + i + length), o);
      if (type === OptionType.RECORD_ROUTE) recordRoute(out, o, length, ourIp);
      else timestamp(out, o, length, ourIp, stampMs);
      written += length;
    }
    i += length;
  }
  while (written % 4 !== 0) out[at + written++] = OptionType.END_OF_LIST;
  return written;
}

/** RFC 791 Record Route: the pointer (1-based, ≥ 4) names the next free slot; a full option stays as it is. */
function recordRoute(out: Uint8Array, o: number, length: number, ourIp: number): void {
  const pointer = out[o + 2] as number;
  if (pointer < 4 || pointer + 3 > length) return;
  writeU32(out, o + pointer - 1, ourIp);
  out[o + 2] = pointer + 4;
}

/**
 * RFC 791 Internet Timestamp: pointer, then overflow (high nibble) and flag (low nibble). Flag 0 stores a
 * timestamp, 1 our address and a timestamp, 3 a timestamp only beside a prespecified address that is ours.
 * Without room the overflow count goes up (it stops at 15 rather than wrapping).
 */
function timestamp(out: Uint8Array, o: number, length: number, ourIp: number, stampMs: number): void {
  const pointer = out[o + 2] as number;
  const flags = out[o + 3] as number;
  const flag = flags & 0x0f;
  const entry = flag === TimestampFlag.ONLY ? 4 : 8;
  if (pointer < 5) return;
  if (pointer + entry - 1 > length) {
    if (flags >> 4 < 15) out[o + 3] = flags + 0x10;
    return;
  }
  const slot = o + pointer - 1;
  if (flag === TimestampFlag.ONLY) {
    writeU32(out, slot, stampMs);
  } else if (flag === TimestampFlag.WITH_ADDRESS) {
    writeU32(out, slot, ourIp);
    writeU32(out, slot + 4, stampMs);
  } else if (flag === TimestampFlag.PRESPECIFIED) {
    const named = (((out[slot] as number) << 24) | ((out[slot + 1] as number) << 16) | ((out[slot + 2] as number) << 8) | (out[slot + 3] as number)) >>> 0;
    if (named !== ourIp >>> 0) return;
    writeU32(out, slot + 4, stampMs);
  } else {
    return;
  }
  out[o + 2] = pointer + entry;
}

export function writeU32(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >>> 24;
  bytes[at + 1] = (value >>> 16) & 0xff;
  bytes[at + 2] = (value >>> 8) & 0xff;
  bytes[at + 3] = value & 0xff;
}
