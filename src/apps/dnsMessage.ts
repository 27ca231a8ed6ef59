// DNS message wire format (RFC 1035 §4.1) for the stub resolver: name validation and A-query building, and a
// response view whose `check()` walks every section once (compression pointers per §4.1.4, bounded so that
// no input can loop) and returns a numeric reason, never throwing. Call order: apps/dns (resolve → writeQuery;
// readable → DnsView.point → check → parse → answer extraction).

import { PacketView } from "../core/view.js";
import { assert } from "../core/assert.js";

/** RFC 1035 §4.1.1 header offsets. */
export const DNS = { id: 0, flags: 2, qdCount: 4, anCount: 6, nsCount: 8, arCount: 10, headerLength: 12 } as const;

/** RFC 1035 §4.1.1 flag bits of the second header word. */
export const DnsFlag = { QR: 0x8000, AA: 0x0400, TC: 0x0200, RD: 0x0100, RA: 0x0080 } as const;

export const DnsType = { A: 1, NS: 2, CNAME: 5, SOA: 6, AAAA: 28, OPT: 41 } as const;
export const DnsClass = { IN: 1 } as const;
/** RFC 1035 §4.1.1 RCODE values. */
export const Rcode = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
/** RFC 1035 §4.1.1: OPCODE 0 is a standard query. */
export const OPCODE_QUERY = 0;

/** RFC 1035 §2.3.4: labels 63 octets, names 255 octets on the wire. */
export const MAX_LABEL_BYTES = 63;
export const MAX_NAME_WIRE_BYTES = 255;
/** 255 on the wire is 253 characters of dotted text (no trailing dot): two bytes go to the first length and the root. */
export const MAX_NAME_TEXT_BYTES = 253;
/** RFC 1035 §4.2.1: UDP messages are limited to 512 bytes unless EDNS (which we do not send) raises it. */
export const DNS_UDP_MAX_BYTES = 512;

/** Why a name given to the resolver cannot be queried (0 = ok). */
export const NameCheck = { OK: 0, EMPTY: 1, EMPTY_LABEL: 2, LABEL_TOO_LONG: 3, NAME_TOO_LONG: 4, BAD_CHARACTER: 5 } as const;
export const NAME_CHECK_NAMES = ["ok", "empty", "emptyLabel", "labelTooLong", "nameTooLong", "badCharacter"] as const;

/** Why a received message was rejected (0 = ok). Each has a `drop…` counter in the resolver's stats. */
export const DnsCheck = {
  OK: 0,
  /** Shorter than its header or its section counts say. */
  TRUNCATED: 1,
  /** A compression pointer into the header or past the end of the message. */
  POINTER_OUT_OF_BOUNDS: 2,
  /** A pointer to a later position. */
  POINTER_FORWARD: 3,
  /** A pointer to itself or back into the run of labels it ends: following it would come round to it again. */
  POINTER_LOOP: 4,
  /** A length byte with top bits 01 or 10 (RFC 6891 §5 retired extended label types): a label over 63. */
  LABEL_TOO_LONG: 5,
  /** More than 255 bytes once pointers are followed. */
  NAME_TOO_LONG: 6,
  /** RDATA that does not fit its RDLENGTH (A not 4 bytes, a CNAME or SOA name running past it). */
  BAD_RDATA: 7,
} as const;
/** The resolver's drop counter for each DnsCheck reason after OK, in order. */
export const DNS_DROP_NAMES = [
  "dropTruncated",
  "dropPointerOutOfBounds",
  "dropPointerForward",
  "dropPointerLoop",
  "dropLabelTooLong",
  "dropNameTooLong",
  "dropBadRdata",
] as const;
/** DnsCheck reason → counter name. */
export const DNS_CHECK_NAMES = ["ok", ...DNS_DROP_NAMES] as const;

const Char = {
  HYPHEN: 0x2d,
  DOT: 0x2e,
  ZERO: 0x30,
  NINE: 0x39,
  UPPER_A: 0x41,
  UPPER_Z: 0x5a,
  UNDERSCORE: 0x5f,
  LOWER_A: 0x61,
  LOWER_Z: 0x7a,
} as const;

function isNameChar(c: number): boolean {
  // RFC 1123 §2.1 host names (letters, digits, hyphen) plus underscore for service labels (RFC 8552 §2).
  return (
    (c >= Char.LOWER_A && c <= Char.LOWER_Z) ||
    (c >= Char.UPPER_A && c <= Char.UPPER_Z) ||
    (c >= Char.ZERO && c <= Char.NINE) ||
    c === Char.HYPHEN ||
    c === Char.UNDERSCORE
  );
}

/** RFC 4343 §3: DNS compares ASCII letters case-insensitively and every other byte exactly. */
function foldCase(c: number): number {
  return c >= Char.UPPER_A && c <= Char.UPPER_Z ? c + 0x20 : c;
}

/** Dotted text without one trailing dot (an absolute name "a.b." is the same query as "a.b"). */
function stripRootDot(name: string): string {
  return name.length > 1 && name.charCodeAt(name.length - 1) === Char.DOT ? name.slice(0, -1) : name;
}

/** Validates a name for a query (NameCheck.*): RFC 1035 §2.3.1/§2.3.4 labels of 1–63 bytes, at most 253 characters. */
export function checkName(name: string): number {
  const text = stripRootDot(name);
  if (text.length === 0 || text === ".") return NameCheck.EMPTY;
  if (text.length > MAX_NAME_TEXT_BYTES) return NameCheck.NAME_TOO_LONG;
  let labelLength = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === Char.DOT) {
      if (labelLength === 0) return NameCheck.EMPTY_LABEL;
      labelLength = 0;
      continue;
    }
    if (!isNameChar(c)) return NameCheck.BAD_CHARACTER;
    if (++labelLength > MAX_LABEL_BYTES) return NameCheck.LABEL_TOO_LONG;
  }
  return labelLength === 0 ? NameCheck.EMPTY_LABEL : NameCheck.OK;
}

/** Wire length of a checked name: one length byte per label, the characters, the root byte. */
export function nameWireLength(name: string): number {
  return stripRootDot(name).length + 2;
}

/** Writes a checked name uncompressed at `offset` (RFC 1035 §3.1); returns the offset after it. */
export function writeName(dst: Uint8Array, offset: number, name: string): number {
  const text = stripRootDot(name);
  let lengthAt = offset;
  let p = offset + 1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === Char.DOT) {
      dst[lengthAt] = p - lengthAt - 1;
      lengthAt = p++;
    } else {
      dst[p++] = c;
    }
  }
  dst[lengthAt] = p - lengthAt - 1;
  dst[p++] = 0;
  return p;
}

/**
 * The comparison key of a checked name: its uncompressed wire form, letters folded to lower case, one char per
 * byte. DnsView produces the same form, so keys compare exactly and a label holding a "." cannot pass for two.
 */
export function nameKey(name: string): string {
  const text = stripRootDot(name);
  let key = "";
  let start = 0;
  for (let i = 0; i <= text.length; i++) {
    if (i === text.length || text.charCodeAt(i) === Char.DOT) {
      key += String.fromCharCode(i - start);
      for (let j = start; j < i; j++) key += String.fromCharCode(foldCase(text.charCodeAt(j)));
      start = i + 1;
    }
  }
  return key + "\0";
}

/** Dotted text of a name key, for traces and test messages (bytes outside letters/digits/-/_ escaped as \DDD). */
export function nameKeyToText(key: string): string {
  let out = "";
  let i = 0;
  while (i < key.length) {
    const len = key.charCodeAt(i++);
    if (len === 0) break;
    if (out.length > 0) out += ".";
    for (const end = i + len; i < end; i++) {
      const c = key.charCodeAt(i);
      out += isNameChar(c) ? String.fromCharCode(c) : `\\${String(c).padStart(3, "0")}`;
    }
  }
  return out.length === 0 ? "." : out;
}

/** Bytes of an A/IN query for a checked name. */
export function queryLength(name: string): number {
  return DNS.headerLength + nameWireLength(name) + 4;
}

/**
 * Writes a standard query (RFC 1035 §4.1.1: QR 0, OPCODE 0, RD 1 — we are a stub and want recursion) with one
 * question `name` A IN (§4.1.2) at `offset`; returns its length. The name must have passed `checkName`.
 */
export function writeQuery(dst: Uint8Array, offset: number, id: number, name: string): number {
  assert(checkName(name) === NameCheck.OK, `dns: writeQuery with unchecked name '${name}'`);
  const length = queryLength(name);
  assert(offset + length <= dst.length, "dns: query buffer too small");
  // Written bytewise: one query per try does not justify a DataView over the caller's buffer.
  dst[offset + DNS.id] = (id >>> 8) & 0xff;
  dst[offset + DNS.id + 1] = id & 0xff;
  dst[offset + DNS.flags] = DnsFlag.RD >>> 8;
  dst[offset + DNS.flags + 1] = 0;
  dst.fill(0, offset + DNS.qdCount, offset + DNS.headerLength);
  dst[offset + DNS.qdCount + 1] = 1;
  const end = writeName(dst, offset + DNS.headerLength, name);
  dst[end] = 0;
  dst[end + 1] = DnsType.A;
  dst[end + 2] = 0;
  dst[end + 3] = DnsClass.IN;
  return length;
}

/** A question as received (RFC 1035 §4.1.2). */
export interface DnsQuestion {
  readonly nameKey: string;
  readonly type: number;
  readonly class: number;
}

/** A resource record as received (RFC 1035 §4.1.3); only the RDATA the resolver uses is decoded. */
export interface DnsRecord {
  readonly nameKey: string;
  readonly type: number;
  readonly class: number;
  /** RFC 2181 §8: a TTL with the top bit set is read as 0. */
  readonly ttlSeconds: number;
  /** A: the address (u32); 0 otherwise. */
  readonly address: number;
  /** CNAME: the target's key; "" otherwise. */
  readonly targetKey: string;
  /** SOA: the MINIMUM field (RFC 2308 §4: the negative-caching TTL); 0 otherwise. */
  readonly soaMinimumSeconds: number;
}

/** A checked message's content that outlives the frame (the Repr). The additional section is checked, not kept. */
export interface DnsMessage {
  readonly id: number;
  readonly flags: number;
  readonly questions: readonly DnsQuestion[];
  readonly answers: readonly DnsRecord[];
  readonly authority: readonly DnsRecord[];
}

/** Fixed part of a resource record after its owner name (RFC 1035 §4.1.3). */
const RR = { type: 0, class: 2, ttl: 4, rdLength: 8, fixedLength: 10 } as const;
const SOA_FIXED_BYTES = 20;

export class DnsView extends PacketView {
  /** Set by `scanName` when asked to build it. */
  private scannedKey = "";

  get id(): number {
    return this.view.getUint16(this.offset + DNS.id);
  }

  get flags(): number {
    return this.view.getUint16(this.offset + DNS.flags);
  }

  get isResponse(): boolean {
    return (this.flags & DnsFlag.QR) !== 0;
  }

  get opcode(): number {
    return (this.flags >>> 11) & 0xf;
  }

  get isTruncated(): boolean {
    return (this.flags & DnsFlag.TC) !== 0;
  }

  get rcode(): number {
    return this.flags & 0xf;
  }

  get qdCount(): number {
    return this.view.getUint16(this.offset + DNS.qdCount);
  }

  get anCount(): number {
    return this.view.getUint16(this.offset + DNS.anCount);
  }

  get nsCount(): number {
    return this.view.getUint16(this.offset + DNS.nsCount);
  }

  get arCount(): number {
    return this.view.getUint16(this.offset + DNS.arCount);
  }

  /** True when the header can be read (the header getters are safe). */
  get hasHeader(): boolean {
    return this.length >= DNS.headerLength;
  }

  /** Walks every section; DnsCheck.OK means `parse()` cannot fail and reads nothing outside the message. */
  check(): number {
    if (!this.hasHeader) return DnsCheck.TRUNCATED;
    let p = this.offset + DNS.headerLength;
    for (let i = this.qdCount; i > 0; i--) {
      p = this.scanName(p, false);
      if (p < 0) return -p;
      p += 4;
      if (p > this.end) return DnsCheck.TRUNCATED;
    }
    for (let i = this.anCount + this.nsCount + this.arCount; i > 0; i--) {
      p = this.scanRecord(p);
      if (p < 0) return -p;
    }
    // Bytes after the last record are ignored (RFC 1035 does not forbid padding).
    return DnsCheck.OK;
  }

  /** The message's questions, answers and authority records. Only after `check()` returned OK. */
  parse(): DnsMessage {
    let p = this.offset + DNS.headerLength;
    const questions: DnsQuestion[] = [];
    for (let i = this.qdCount; i > 0; i--) {
      p = this.mustScanName(p);
      questions.push({ nameKey: this.scannedKey, type: this.view.getUint16(p), class: this.view.getUint16(p + 2) });
      p += 4;
    }
    const answers: DnsRecord[] = [];
    const authority: DnsRecord[] = [];
    for (let i = 0; i < this.anCount + this.nsCount; i++) {
      p = this.mustScanName(p);
      const owner = this.scannedKey;
      const type = this.view.getUint16(p + RR.type);
      const ttlRaw = this.view.getUint32(p + RR.ttl);
      const rdata = p + RR.fixedLength;
      const rdLength = this.view.getUint16(p + RR.rdLength);
      let address = 0;
      let targetKey = "";
      let soaMinimumSeconds = 0;
      if (type === DnsType.A) address = this.view.getUint32(rdata);
      else if (type === DnsType.CNAME) {
        this.mustScanName(rdata);
        targetKey = this.scannedKey;
      } else if (type === DnsType.SOA) {
        soaMinimumSeconds = ttlSeconds(this.view.getUint32(rdata + rdLength - 4));
      }
      const record: DnsRecord = {
        nameKey: owner,
        type,
        class: this.view.getUint16(p + RR.class),
        ttlSeconds: ttlSeconds(ttlRaw),
        address,
        targetKey,
        soaMinimumSeconds,
      };
      (i < this.anCount ? answers : authority).push(record);
      p = rdata + rdLength;
    }
    return { id: this.id, flags: this.flags, questions, answers, authority };
  }

  private get end(): number {
    return this.offset + this.length;
  }

  private mustScanName(p: number): number {
    const next = this.scanName(p, true);
    assert(next >= 0, "dns: parse() on a message that did not pass check()");
    return next;
  }

  /** Checks one resource record at `p`; returns the offset after it or −reason. */
  private scanRecord(p: number): number {
    p = this.scanName(p, false);
    if (p < 0) return p;
    if (p + RR.fixedLength > this.end) return -DnsCheck.TRUNCATED;
    const type = this.view.getUint16(p + RR.type);
    const rdLength = this.view.getUint16(p + RR.rdLength);
    const rdata = p + RR.fixedLength;
    const rdEnd = rdata + rdLength;
    if (rdEnd > this.end) return -DnsCheck.TRUNCATED;
    switch (type) {
      case DnsType.A:
        // RFC 1035 §3.4.1: a 32-bit address.
        if (rdLength !== 4) return -DnsCheck.BAD_RDATA;
        break;
      case DnsType.CNAME: {
        // RFC 1035 §3.3.1: one domain name filling the RDATA.
        const after = this.scanName(rdata, false);
        if (after < 0) return after === -DnsCheck.TRUNCATED ? -DnsCheck.BAD_RDATA : after;
        if (after !== rdEnd) return -DnsCheck.BAD_RDATA;
        break;
      }
      case DnsType.SOA: {
        // RFC 1035 §3.3.13: MNAME, RNAME, then five 32-bit fields.
        let q = this.scanName(rdata, false);
        if (q >= 0) q = this.scanName(q, false);
        if (q < 0) return q === -DnsCheck.TRUNCATED ? -DnsCheck.BAD_RDATA : q;
        if (q + SOA_FIXED_BYTES !== rdEnd) return -DnsCheck.BAD_RDATA;
        break;
      }
      default:
        break;
    }
    return rdEnd;
  }

  /**
   * Reads the (possibly compressed) name at `p`; returns the offset after it in the original stream or −reason.
   * RFC 1035 §4.1.4: a pointer names an earlier occurrence. We require each pointer to land before the start of
   * the run of labels it ends, so targets strictly decrease and no input can loop; a legal compressor never
   * points elsewhere (pointing into its own run would repeat it forever). `buildKey` sets `scannedKey`.
   */
  private scanName(p: number, buildKey: boolean): number {
    const bytes = this.bytes;
    const end = this.end;
    let runStart = p;
    let after = -1;
    let wireLength = 0;
    let key = "";
    for (;;) {
      if (p >= end) return -DnsCheck.TRUNCATED;
      const len = bytes[p] as number;
      if ((len & 0xc0) === 0xc0) {
        if (p + 1 >= end) return -DnsCheck.TRUNCATED;
        const target = this.offset + (((len & 0x3f) << 8) | (bytes[p + 1] as number));
        if (after < 0) after = p + 2;
        if (target < this.offset + DNS.headerLength || target >= end) return -DnsCheck.POINTER_OUT_OF_BOUNDS;
        if (target > p) return -DnsCheck.POINTER_FORWARD;
        if (target >= runStart) return -DnsCheck.POINTER_LOOP;
        p = runStart = target;
        continue;
      }
      if (len > MAX_LABEL_BYTES) return -DnsCheck.LABEL_TOO_LONG;
      wireLength += len + 1;
      if (wireLength > MAX_NAME_WIRE_BYTES) return -DnsCheck.NAME_TOO_LONG;
      if (len === 0) {
        if (buildKey) this.scannedKey = key + "\0";
        return after < 0 ? p + 1 : after;
      }
      if (p + 1 + len > end) return -DnsCheck.TRUNCATED;
      if (buildKey) {
        key += String.fromCharCode(len);
        for (let i = p + 1; i <= p + len; i++) key += String.fromCharCode(foldCase(bytes[i] as number));
      }
      p += 1 + len;
    }
  }
}

/** RFC 2181 §8: TTLs are 31-bit; a value with the top bit set is treated as zero. */
function ttlSeconds(raw: number): number {
  return raw >= 0x80000000 ? 0 : raw;
}
