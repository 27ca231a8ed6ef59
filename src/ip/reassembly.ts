// IPv4 reassembly (RFC 791 §3.2, with RFC 815's hole-descriptor list). Called from ip/input for every
// fragment; returns the whole datagram once the last hole is filled. Bounded in datagrams and bytes held;
// each datagram has a timeout. Overlapping fragments discard the whole datagram (RFC 5722's reasoning, as
// Linux does for IPv4 too); a fragment lying wholly inside data already received is an exact-position
// duplicate and is ignored.

import { Deadline, type Scheduler } from "../core/scheduler.js";
import { makeCounters } from "../core/stats.js";
import { IPV4, IpFlag, type Ipv4View, refreshIpv4Checksum } from "./ipv4.js";

export interface ReassemblyOptions {
  /** Datagrams being reassembled at once; a new one evicts the oldest (counted). */
  maxDatagrams: number;
  /** Fragment payload bytes held over all datagrams; over it, the oldest datagram is evicted. */
  maxBytes: number;
  /** Holes a datagram may have at once (bounds work per fragment). */
  maxHoles: number;
  /** Lifetime of an incomplete datagram (lwIP IP_REASS_MAXAGE: 15 s; RFC 1122 §3.3.2: 60–120 s suggested). */
  timeoutMs: number;
}

export const DEFAULT_REASSEMBLY_OPTIONS: ReassemblyOptions = {
  maxDatagrams: 16,
  maxBytes: 1024 * 1024,
  maxHoles: 64,
  timeoutMs: 15_000,
};

/** Space before the payload for the longest IPv4 header (IHL 15). */
const HEADROOM = 60;

/** A finished datagram: `bytes[offset, offset + length)` is a complete IPv4 packet, header included. */
export interface Reassembled {
  bytes: Uint8Array;
  offset: number;
  length: number;
}

class PartialDatagram {
  src = 0;
  dst = 0;
  id = 0;
  protocol = 0;
  /** Hole list: pairs [first, last] of missing payload byte positions (inclusive); last may be Infinity. */
  holes: number[] = [];
  /** Payload length once the fragment without MF has arrived, else -1. */
  totalPayload = -1;
  /** Header length of fragment 0 once it has arrived, else 0 (its header is kept for the whole datagram). */
  headerLength = 0;
  bytesHeld = 0;
  startedMs = 0;
  readonly deadline: Deadline;

  constructor(
    readonly buffer: Uint8Array,
    onTimeout: (d: PartialDatagram) => void,
  ) {
    this.deadline = new Deadline(() => onTimeout(this), "ip reassembly");
  }
}

export class Reassembler {
  readonly stats = makeCounters([
    "fragmentsIn",
    "reassembled",
    "duplicates",
    "dropOverlap",
    "dropTooLong",
    "dropInconsistent",
    "dropTooManyHoles",
    "evicted",
    "timedOut",
  ] as const);

  private readonly active: PartialDatagram[] = [];
  private readonly pool: Uint8Array[] = [];
  private bytesHeld = 0;
  private readonly options: ReassemblyOptions;
  private readonly result: Reassembled = { bytes: new Uint8Array(0), offset: 0, length: 0 };
  /** Told when a datagram whose first fragment had arrived times out (ICMP Time Exceeded, RFC 792). */
  onTimeout: ((datagram: Uint8Array, headerOffset: number, available: number) => void) | null = null;

  constructor(
    private readonly scheduler: Scheduler,
    options: Partial<ReassemblyOptions> = {},
  ) {
    this.options = { ...DEFAULT_REASSEMBLY_OPTIONS, ...options };
  }

  /** Datagrams currently incomplete. */
  get pending(): number {
    return this.active.length;
  }

  /**
   * Adds one fragment (a checked IPv4 view). Returns the reassembled datagram when complete (valid until
   * the next call), or null.
   */
  add(ip: Ipv4View, nowMs: number): Reassembled | null {
    this.stats.fragmentsIn++;
    const headerLength = ip.headerLength;
    const payloadLength = ip.totalLength - headerLength;
    const first = ip.fragmentOffsetBytes;
    const last = first + payloadLength - 1;
    const more = ip.hasMoreFragments;
    // RFC 791: every fragment but the last carries a multiple of 8 bytes. The whole datagram must fit
    // 65 535 bytes (the "ping of death" check).
    if (payloadLength <= 0 || (more && (payloadLength & 7) !== 0)) {
      this.stats.dropInconsistent++;
      return null;
    }
    if (headerLength + first + payloadLength > IPV4.maxTotalLength) {
      this.stats.dropTooLong++;
      return null;
    }
    let d = this.find(ip);
    if (d === null) d = this.start(ip, nowMs);
    const verdict = this.fill(d, first, last, more);
    if (verdict === FillVerdict.DUPLICATE) {
      this.stats.duplicates++;
      return null;
    }
    if (verdict !== FillVerdict.FILLED) {
      if (verdict === FillVerdict.OVERLAP) this.stats.dropOverlap++;
      else if (verdict === FillVerdict.TOO_MANY_HOLES) this.stats.dropTooManyHoles++;
      else this.stats.dropInconsistent++;
      this.discard(d);
      return null;
    }
    // The check above uses this fragment's header, but the datagram gets fragment 0's, which may be longer
    // (options): once both fragment 0 and the end are known, the whole must still fit 65 535 bytes, or its
    // total length field would wrap.
    const header0 = first === 0 ? headerLength : d.headerLength;
    if (header0 > 0 && d.totalPayload >= 0 && header0 + d.totalPayload > IPV4.maxTotalLength) {
      this.stats.dropTooLong++;
      this.discard(d);
      return null;
    }
    d.buffer.set(ip.bytes.subarray(ip.offset + headerLength, ip.offset + headerLength + payloadLength), HEADROOM + first);
    d.bytesHeld += payloadLength;
    this.bytesHeld += payloadLength;
    if (first === 0) {
      d.headerLength = headerLength;
      d.buffer.set(ip.bytes.subarray(ip.offset, ip.offset + headerLength), HEADROOM - headerLength);
    }
    if (d.holes.length === 0 && d.totalPayload >= 0 && d.headerLength > 0) return this.finish(d);
    this.enforceBytes(d);
    return null;
  }

  /** Drops everything (shutdown). */
  clear(): void {
    while (this.active.length > 0) this.discard(this.active[0] as PartialDatagram);
  }

  private find(ip: Ipv4View): PartialDatagram | null {
    const src = ip.src;
    const dst = ip.dst;
    const id = ip.id;
    const protocol = ip.protocol;
    for (const d of this.active) {
      if (d.id === id && d.src === src && d.dst === dst && d.protocol === protocol) return d;
    }
    return null;
  }

  private start(ip: Ipv4View, nowMs: number): PartialDatagram {
    if (this.active.length >= this.options.maxDatagrams) {
      this.stats.evicted++;
      this.discard(this.active[0] as PartialDatagram);
    }
    const buffer = this.pool.pop() ?? new Uint8Array(HEADROOM + IPV4.maxTotalLength);
    const d = new PartialDatagram(buffer, this.expire);
    d.src = ip.src;
    d.dst = ip.dst;
    d.id = ip.id;
    d.protocol = ip.protocol;
    d.holes = [0, Infinity];
    d.startedMs = nowMs;
    this.active.push(d);
    this.scheduler.set(d.deadline, nowMs + this.options.timeoutMs);
    return d;
  }

  /** RFC 815 §3 steps 1–8, with overlaps and inconsistencies reported instead of merged. */
  private fill(d: PartialDatagram, first: number, last: number, more: boolean): number {
    if (d.totalPayload >= 0 && (last >= d.totalPayload || (!more && last !== d.totalPayload - 1))) {
      return FillVerdict.INCONSISTENT;
    }
    const holes = d.holes;
    let touched = -1;
    let inside = -1;
    for (let i = 0; i < holes.length; i += 2) {
      const hf = holes[i] as number;
      const hl = holes[i + 1] as number;
      if (first > hl || last < hf) continue;
      if (first >= hf && last <= hl) inside = i;
      touched = i;
      break;
    }
    if (touched < 0) {
      // Wholly within received data: a duplicate, unless it claims a different end of the datagram.
      if (!more && d.totalPayload < 0) return FillVerdict.INCONSISTENT;
      return FillVerdict.DUPLICATE;
    }
    if (inside < 0) return FillVerdict.OVERLAP;
    const hf = holes[inside] as number;
    const hl = holes[inside + 1] as number;
    const replacement: number[] = [];
    if (first > hf) replacement.push(hf, first - 1);
    if (!more) {
      // The last fragment: nothing may have been received beyond it (only the open tail hole may follow).
      if (hl !== Infinity) return FillVerdict.INCONSISTENT;
      for (let i = inside + 2; i < holes.length; i += 2) if ((holes[i] as number) > last) return FillVerdict.INCONSISTENT;
      d.totalPayload = last + 1;
    } else if (last < hl) {
      replacement.push(last + 1, hl);
    }
    holes.splice(inside, 2, ...replacement);
    if (holes.length / 2 > this.options.maxHoles) return FillVerdict.TOO_MANY_HOLES;
    return FillVerdict.FILLED;
  }

  private finish(d: PartialDatagram): Reassembled {
    const headerOffset = HEADROOM - d.headerLength;
    const length = d.headerLength + d.totalPayload;
    const view = new DataView(d.buffer.buffer, d.buffer.byteOffset, d.buffer.byteLength);
    // The reassembled header describes the whole datagram: full length, no MF, offset 0.
    view.setUint16(headerOffset + IPV4.totalLength, length);
    view.setUint16(headerOffset + IPV4.flagsFragment, view.getUint16(headerOffset + IPV4.flagsFragment) & IpFlag.DF);
    refreshIpv4Checksum(d.buffer, view, headerOffset, d.headerLength);
    this.stats.reassembled++;
    this.release(d);
    // The buffer went back to the pool but is not reused before the next add(), so the result stays valid
    // while the caller delivers it.
    const r = this.result;
    r.bytes = d.buffer;
    r.offset = headerOffset;
    r.length = length;
    return r;
  }

  private enforceBytes(current: PartialDatagram): void {
    while (this.bytesHeld > this.options.maxBytes && this.active.length > 0) {
      const oldest = this.active[0] as PartialDatagram;
      this.stats.evicted++;
      this.discard(oldest);
      if (oldest === current) return;
    }
  }

  private readonly expire = (d: PartialDatagram): void => {
    this.stats.timedOut++;
    // RFC 792 / RFC 1122 §3.3.2: Time Exceeded (code 1) only if fragment zero arrived, since it quotes it.
    if (d.headerLength > 0 && this.onTimeout !== null) {
      const headerOffset = HEADROOM - d.headerLength;
      const available = d.headerLength + Math.min(8, d.holes.length > 0 ? (d.holes[0] as number) : d.bytesHeld);
      this.onTimeout(d.buffer, headerOffset, available);
    }
    this.discard(d);
  };

  private discard(d: PartialDatagram): void {
    this.release(d);
  }

  private release(d: PartialDatagram): void {
    const i = this.active.indexOf(d);
    if (i < 0) return;
    this.active.splice(i, 1);
    this.scheduler.cancel(d.deadline);
    this.bytesHeld -= d.bytesHeld;
    d.bytesHeld = 0;
    this.pool.push(d.buffer);
  }
}

const FillVerdict = { FILLED: 0, DUPLICATE: 1, OVERLAP: 2, INCONSISTENT: 3, TOO_MANY_HOLES: 4 } as const;
