// The IPv4 layer. Input: netif → ipv4Input (validate, accept by destination, reassemble) → the protocol
// handler registered for the datagram's protocol (ICMP, UDP, TCP, raw). Output: a transport writes its
// payload into `txFrame` at PAYLOAD_OFFSET and calls `send`, which routes, writes the header and hands the
// frame to the netif, fragmenting when it exceeds the MTU (RFC 791 §2.3, RFC 1122 §3.3.3). With link
// offloads a transport may send a TCP super-frame (one datagram the device cuts into MTU-sized ones) and
// leave its checksum to the device; on input the device's word that a checksum is trusted reaches the
// transport in IpRx.

import { Deadline, type Scheduler } from "../core/scheduler.js";
import { makeCounters } from "../core/stats.js";
import type { Random } from "../core/random.js";
import { Err, type ErrCode } from "../core/errors.js";
import { IPV4_BROADCAST, isMulticastIpv4, isUnicastHostIpv4 } from "../core/addr.js";
import { LinkCast, type LinkCastCode, type Netif, type NetifUpper } from "../eth/netif.js";
import { ETH } from "../eth/ethernet.js";
import { completeChecksum, NO_OFFLOADS, type DeviceOffloads, type FrameOffload } from "../link/offload.js";
import { IPV4, IPV4_CHECK_NAMES, IpFlag, Ipv4Check, Ipv4View, ipv4OptionsError, writeIpv4Header, type Ipv4HeaderFields } from "./ipv4.js";
import { Reassembler, type ReassemblyOptions } from "./reassembly.js";

/** How a received datagram was addressed at the IP layer. */
export const IpCast = { UNICAST: 0, BROADCAST: 1, MULTICAST: 2 } as const;
export type IpCastCode = (typeof IpCast)[keyof typeof IpCast];

/**
 * The datagram being delivered: one object, refilled per packet. Valid only during the handler's call.
 * `bytes[headerOffset, headerOffset + totalLength)` is the whole datagram.
 */
export class IpRx {
  bytes: Uint8Array = new Uint8Array(0);
  headerOffset = 0;
  headerLength = 0;
  totalLength = 0;
  src = 0;
  dst = 0;
  protocol = 0;
  ttl = 0;
  tos = 0;
  cast: IpCastCode = IpCast.UNICAST;
  /** True when the datagram was put together from fragments. */
  wasReassembled = false;
  /**
   * The transport's checksum need not be verified: the device verified it (DATA_VALID), or the datagram
   * comes from the host's own stack with a partial checksum (NEEDS_CSUM) that only the pseudo-header fills.
   */
  isChecksumTrusted = false;
  /** For a super-frame (GRO/GSO input): the payload bytes per segment it stands for; else 0. */
  gsoSize = 0;
  nowMs = 0;

  get payloadOffset(): number {
    return this.headerOffset + this.headerLength;
  }

  get payloadLength(): number {
    return this.totalLength - this.headerLength;
  }
}

/** An ICMP error about a datagram we sent, as handed to the transport that sent it (RFC 1122 §3.2.2). */
export interface IcmpErrorInfo {
  type: number;
  code: number;
  /** From the quoted header of our datagram. */
  src: number;
  dst: number;
  protocol: number;
  /** The quoted transport header's first bytes (at least 8 when `quoteLength` ≥ 8) are at quoteOffset. */
  bytes: Uint8Array;
  quoteOffset: number;
  quoteLength: number;
  /** RFC 1191 next-hop MTU for "fragmentation needed", else 0. */
  nextHopMtu: number;
  /** The quoted IPv4 header's total length: the size of the datagram the error is about (RFC 1191 §5). */
  quotedTotalLength: number;
  /**
   * The quoted transport header's first two 16-bit fields (our source and destination port for UDP and TCP)
   * and the 32-bit word after them (TCP's sequence number), read once here; 0 where the quote is shorter.
   */
  quotedSrcPort: number;
  quotedDstPort: number;
  quotedWord: number;
}

/** A protocol above IP (ICMP, UDP, TCP). Registered once per protocol number. */
export interface IpProtocolHandler {
  input(rx: IpRx): void;
  /** An ICMP error quoting a datagram of this protocol. */
  icmpError?(info: IcmpErrorInfo): void;
  /** ARP could not resolve `ip` (or its gateway): waiting senders get EHOSTUNREACH. */
  unreachable?(ip: number): void;
  /** End of an input batch or timer wake-up: run one output pass. */
  endBatch?(nowMs: number): void;
}

/** Sees every accepted datagram (raw sockets, capture of the IP layer) before protocol demux. */
export type IpTap = (rx: IpRx) => void;

export interface IpSendOptions {
  ttl: number;
  tos: number;
  dontFragment: boolean;
  /**
   * Bytes of IP options (a multiple of 4, at most 40) the caller wrote at PAYLOAD_OFFSET, the payload
   * following them; such a datagram must fit the MTU (it is never fragmented). Absent: none.
   */
  optionsLength?: number;
}

/** RFC 1122 §3.2.1.7: a host's default TTL; 64 as Linux and lwIP use. */
export const DEFAULT_TTL = 64;

const DEFAULT_SEND: IpSendOptions = { ttl: DEFAULT_TTL, tos: 0, dontFragment: false };

/** Where a transport writes its payload in `txFrame`: after the Ethernet and the 20-byte IP header. */
export const PAYLOAD_OFFSET = ETH.headerLength + IPV4.minHeaderLength;

/** Largest payload a datagram can carry (65 535 minus a 20-byte header). */
export const MAX_PAYLOAD = IPV4.maxTotalLength - IPV4.minHeaderLength;

/** Datagrams held for local (loopback) delivery before the oldest is dropped. */
const LOOPBACK_QUEUE_LIMIT = 32;

export class IpLayer implements NetifUpper {
  readonly stats = makeCounters([
    "rxPackets",
    "rxDelivered",
    "rxFragments",
    "dropTruncated",
    "dropBadVersion",
    "dropBadHeaderLength",
    "dropBadTotalLength",
    "dropBadChecksum",
    "dropBadOptions",
    "dropBadSource",
    "dropNotForUs",
    "dropUnknownProtocol",
    "txPackets",
    "txFragments",
    "txDropNoRoute",
    "txDropTooBig",
    "txDropLink",
    "loopback",
    "dropLoopbackFull",
  ] as const);

  /** Frame buffer for output: Ethernet header, IP header, then up to MAX_PAYLOAD bytes of payload. */
  readonly txFrame = new Uint8Array(PAYLOAD_OFFSET + MAX_PAYLOAD);
  readonly txView = new DataView(this.txFrame.buffer);
  readonly reassembler: Reassembler;
  /** Called with unknown-protocol datagrams addressed to us (ICMP protocol unreachable). */
  onUnknownProtocol: ((rx: IpRx) => void) | null = null;
  /**
   * Called with a datagram for us whose options do not parse, before it is dropped, and `pointer`, the
   * offset in its header of the bad option (ICMP parameter problem, RFC 1122 §3.2.2.5).
   */
  onBadOptions: ((rx: IpRx, pointer: number) => void) | null = null;
  readonly taps: IpTap[] = [];
  /**
   * Called at the end of every input batch (and loopback delivery), after the protocol handlers. Added for
   * raw sockets (ip/raw.ts), which see datagrams through `taps` and are no protocol's handler, but must fire
   * their readable events at the batch end as UDP does.
   */
  readonly batchEndListeners: ((nowMs: number) => void)[] = [];

  private readonly handlers: (IpProtocolHandler | undefined)[] = new Array<IpProtocolHandler | undefined>(256);
  /** The registered handlers once each, for the per-batch pass (not a walk over 256 protocol slots). */
  private readonly registered: IpProtocolHandler[] = [];
  private readonly view = new Ipv4View();
  private readonly rx = new IpRx();
  private readonly fragFrame: Uint8Array;
  private readonly fragView: DataView;
  private nextId: number;
  /**
   * Joined groups with join counts, like the netif's: a group stays accepted until its last leave, so two
   * joins and one leave keep IP and the netif's Ethernet filter in agreement.
   */
  private readonly multicastGroups = new Map<number, number>();
  private readonly loopbackQueue: Uint8Array[] = [];
  /** The header fields of the datagram being sent, refilled per send (no object per datagram). */
  private readonly txHeader: Ipv4HeaderFields = { tos: 0, totalLength: 0, id: 0, flagsFragment: 0, ttl: 0, protocol: 0, src: 0, dst: 0 };
  private readonly loopbackDeadline = new Deadline((now) => this.deliverLoopback(now), "ip loopback");

  /** @param random the stack's entropy; draws the first IP identification. */
  constructor(
    readonly netif: Netif,
    private readonly scheduler: Scheduler,
    random: Random,
    reassemblyOptions: Partial<ReassemblyOptions> = {},
  ) {
    this.reassembler = new Reassembler(scheduler, reassemblyOptions);
    this.fragFrame = new Uint8Array(ETH.headerLength + Math.max(netif.mtu, 68));
    this.fragView = new DataView(this.fragFrame.buffer);
    // RFC 6864 allows any ID policy for atomic datagrams; a random start avoids predictable IDs.
    this.nextId = random.below(0x10000);
    netif.setUpper(this);
  }

  register(protocol: number, handler: IpProtocolHandler): void {
    const previous = this.handlers[protocol];
    if (previous !== undefined) this.registered.splice(this.registered.indexOf(previous), 1);
    this.handlers[protocol] = handler;
    this.registered.push(handler);
  }

  handlerFor(protocol: number): IpProtocolHandler | undefined {
    return this.handlers[protocol];
  }

  /** The address datagrams to `dst` are sent from (the interface's address). */
  sourceFor(_dst: number): number {
    return this.netif.ip;
  }

  /** Accept datagrams to IPv4 multicast `group` (the netif accepts its Ethernet address too). */
  joinGroup(group: number): void {
    const key = group >>> 0;
    this.multicastGroups.set(key, (this.multicastGroups.get(key) ?? 0) + 1);
    this.netif.joinMulticast(group);
  }

  /** Undoes one joinGroup; a group never joined is ignored (so the netif's count is not disturbed). */
  leaveGroup(group: number): void {
    const key = group >>> 0;
    const n = this.multicastGroups.get(key);
    if (n === undefined) return;
    if (n <= 1) this.multicastGroups.delete(key);
    else this.multicastGroups.set(key, n - 1);
    this.netif.leaveMulticast(group);
  }

  isMemberOf(group: number): boolean {
    // RFC 1112 §4: every host belongs to all-hosts (224.0.0.1).
    return group === 0xe0000001 || this.multicastGroups.has(group >>> 0);
  }

  /** Whether `addr` is one of ours (our address, or 127.0.0.0/8). */
  isLocal(addr: number): boolean {
    return (addr === this.netif.ip && addr !== 0) || addr >>> 24 === 127;
  }

  // ---- input ----

  ipv4Input(bytes: Uint8Array, offset: number, length: number, linkCast: LinkCastCode, nowMs: number, offload: FrameOffload | null = null): void {
    const stats = this.stats;
    stats.rxPackets++;
    const ip = this.view.point(bytes, offset, length);
    const reason = ip.check();
    if (reason !== Ipv4Check.OK) {
      stats[IPV4_CHECK_NAMES[reason] as Exclude<(typeof IPV4_CHECK_NAMES)[number], "ok">]++;
      return;
    }
    const src = ip.src;
    const dst = ip.dst;
    if (this.isMartianSource(src, dst)) {
      stats.dropBadSource++;
      return;
    }
    const cast = this.classify(dst, linkCast);
    if (cast < 0) {
      stats.dropNotForUs++;
      return;
    }
    // RFC 791 §3.1: an option list that cannot be parsed leaves the header unusable. Checked per fragment,
    // before reassembly, as Linux does (every fragment carries its own header); ICMP leaves out the ones
    // it must not answer (non-first fragments, broadcasts: RFC 1122 §3.2.2).
    const headerLength = ip.headerLength;
    if (headerLength > IPV4.minHeaderLength) {
      const pointer = ipv4OptionsError(bytes, offset, headerLength);
      if (pointer >= 0) {
        stats.dropBadOptions++;
        this.onBadOptions?.(this.fill(ip, cast as IpCastCode, false, nowMs, offload), pointer);
        return;
      }
    }
    if (ip.isFragment) {
      stats.rxFragments++;
      const whole = this.reassembler.add(ip, nowMs);
      if (whole === null) return;
      this.view.point(whole.bytes, whole.offset, whole.length);
      this.deliver(this.view, cast as IpCastCode, true, nowMs, null);
      return;
    }
    this.deliver(ip, cast as IpCastCode, false, nowMs, offload);
  }

  /**
   * RFC 1122 §3.2.1.3: a host silently discards a datagram whose source address is invalid — broadcast or
   * multicast, {127, any} (which "MUST NOT appear outside a host"), or {0, any} other than 0.0.0.0 itself,
   * which only a host still learning its address uses, and then to the limited broadcast (DHCP, RFC 2131
   * §4.1; Linux accepts it only there too). A datagram from the wire claiming our own address is not from
   * us either (datagrams to ourselves never come through here: see loopback), and Linux drops it as a
   * martian as well.
   */
  private isMartianSource(src: number, dst: number): boolean {
    if (src === 0) return dst !== IPV4_BROADCAST;
    if (!isUnicastHostIpv4(src)) return true;
    const ourIp = this.netif.ip;
    return ourIp !== 0 && (src === ourIp || src === this.netif.directedBroadcast);
  }

  /** -1 if the datagram is not for us, else its IpCast. */
  private classify(dst: number, linkCast: LinkCastCode): number {
    const ourIp = this.netif.ip;
    if (dst === ourIp && ourIp !== 0) return IpCast.UNICAST;
    if (dst === IPV4_BROADCAST || (ourIp !== 0 && dst === this.netif.directedBroadcast)) return IpCast.BROADCAST;
    if (isMulticastIpv4(dst)) return this.isMemberOf(dst) ? IpCast.MULTICAST : -1;
    // Without an address yet (DHCP in progress) unicast IP to our MAC is accepted, as lwIP does for DHCP.
    if (ourIp === 0 && linkCast === LinkCast.UNICAST) return IpCast.UNICAST;
    return -1;
  }

  private deliver(ip: Ipv4View, cast: IpCastCode, wasReassembled: boolean, nowMs: number, offload: FrameOffload | null): void {
    const rx = this.fill(ip, cast, wasReassembled, nowMs, offload);
    for (const tap of this.taps) tap(rx);
    const handler = this.handlers[rx.protocol];
    if (handler === undefined) {
      this.stats.dropUnknownProtocol++;
      if (cast === IpCast.UNICAST) this.onUnknownProtocol?.(rx);
      return;
    }
    this.stats.rxDelivered++;
    handler.input(rx);
  }

  /** Refills the one IpRx from the datagram `ip` points at. */
  private fill(ip: Ipv4View, cast: IpCastCode, wasReassembled: boolean, nowMs: number, offload: FrameOffload | null): IpRx {
    const rx = this.rx;
    rx.bytes = ip.bytes;
    rx.headerOffset = ip.offset;
    rx.headerLength = ip.headerLength;
    rx.totalLength = ip.totalLength;
    rx.src = ip.src;
    rx.dst = ip.dst;
    rx.protocol = ip.protocol;
    rx.ttl = ip.ttl;
    rx.tos = ip.tos;
    rx.cast = cast;
    rx.wasReassembled = wasReassembled;
    rx.isChecksumTrusted = offload !== null && offload.isChecksumTrusted;
    rx.gsoSize = offload !== null && offload.isGso ? offload.gsoSize : 0;
    rx.nowMs = nowMs;
    return rx;
  }

  endBatch(nowMs: number): void {
    for (const h of this.registered) h.endBatch?.(nowMs);
    for (const listener of this.batchEndListeners) listener(nowMs);
  }

  neighborUnreachable(ip: number, _dropped: number): void {
    for (const h of this.registered) h.unreachable?.(ip);
  }

  // ---- output ----

  /**
   * What the device will finish for datagrams to `dst`: its offloads, or none for our own addresses (a
   * looped-back datagram meets no device, so its checksum must be whole).
   */
  offloadsFor(dst: number): DeviceOffloads {
    return this.isLocal(dst) ? NO_OFFLOADS : this.netif.offloads;
  }

  /**
   * Sends `txFrame[PAYLOAD_OFFSET, PAYLOAD_OFFSET + payloadLength)` to `dst` as protocol `protocol`.
   * `src` 0 means the interface address. `offload` (as `offloadsFor(dst)` allows) goes to the device with
   * the frame: a super-frame is not fragmented, the device cuts it. Returns Err.OK, Err.RTE (no route),
   * Err.MSGSIZE (too big, or DF set and over the MTU) or Err.IF/Err.MEM (the link dropped it).
   */
  send(
    protocol: number,
    src: number,
    dst: number,
    payloadLength: number,
    options: IpSendOptions = DEFAULT_SEND,
    offload: FrameOffload | null = null,
  ): ErrCode {
    if (payloadLength > MAX_PAYLOAD) {
      this.stats.txDropTooBig++;
      return Err.MSGSIZE;
    }
    const source = src === 0 ? this.netif.ip : src;
    const headerLength = IPV4.minHeaderLength + (options.optionsLength ?? 0);
    const totalLength = headerLength + payloadLength;
    const id = this.nextId;
    // A super-frame's segments take consecutive identifications from the device (Linux's GSO adds one per
    // segment), so skip past all of them.
    const datagrams = offload !== null && offload.isGso ? Math.ceil((payloadLength - (offload.hdrLen - PAYLOAD_OFFSET)) / offload.gsoSize) : 1;
    this.nextId = (this.nextId + Math.max(1, datagrams)) & 0xffff;
    const frame = this.txFrame;
    const h = this.txHeader;
    h.tos = options.tos;
    h.totalLength = totalLength;
    h.id = id;
    h.flagsFragment = options.dontFragment ? IpFlag.DF : 0;
    h.ttl = options.ttl;
    h.protocol = protocol;
    h.src = source;
    h.dst = dst;
    writeIpv4Header(frame, this.txView, ETH.headerLength, h, headerLength);
    if (this.isLocal(dst)) {
      if (offload !== null && offload.needsCsum) completeChecksum(frame, 0, ETH.headerLength + totalLength, offload);
      return this.loopback(frame, ETH.headerLength, totalLength);
    }
    const nextHop = this.nextHop(dst);
    if (nextHop === 0) {
      this.stats.txDropNoRoute++;
      return Err.RTE;
    }
    const isSuper = offload !== null && offload.isGso;
    if (totalLength > this.netif.mtu && (options.dontFragment || headerLength > IPV4.minHeaderLength) && !isSuper) {
      this.stats.txDropTooBig++;
      return Err.MSGSIZE;
    }
    // Counted only once it is going out (a DF refusal above, like no route, is not a sent packet).
    this.stats.txPackets++;
    if (totalLength <= this.netif.mtu || isSuper) {
      return this.netif.sendIpv4(frame, ETH.headerLength + totalLength, nextHop, offload) ? Err.OK : Err.IF;
    }
    // Fragments each carry a piece of the transport header's range: a partial checksum is finished first.
    if (offload !== null && offload.needsCsum) completeChecksum(frame, 0, ETH.headerLength + totalLength, offload);
    return this.fragment(frame, totalLength, nextHop);
  }

  /** The on-link address to deliver `dst` to, or 0 when there is no route. */
  nextHop(dst: number): number {
    const netif = this.netif;
    if (dst === IPV4_BROADCAST || isMulticastIpv4(dst)) return dst;
    if (netif.ip === 0) return 0;
    if (netif.isOnLink(dst)) return dst;
    return netif.gateway;
  }

  /** RFC 791 §3.2 fragmentation: payload cut at multiples of 8 bytes, MF on all but the last. */
  private fragment(frame: Uint8Array, totalLength: number, nextHop: number): ErrCode {
    const mtu = this.netif.mtu;
    const headerLength = IPV4.minHeaderLength;
    const chunk = Math.floor((mtu - headerLength) / 8) * 8;
    const payloadLength = totalLength - headerLength;
    const out = this.fragFrame;
    const outView = this.fragView;
    const inView = this.txView;
    const h = ETH.headerLength;
    const fields = {
      tos: inView.getUint8(h + IPV4.tos),
      totalLength: 0,
      id: inView.getUint16(h + IPV4.id),
      flagsFragment: 0,
      ttl: inView.getUint8(h + IPV4.ttl),
      protocol: inView.getUint8(h + IPV4.protocol),
      src: inView.getUint32(h + IPV4.src),
      dst: inView.getUint32(h + IPV4.dst),
    };
    let result: ErrCode = Err.OK;
    for (let at = 0; at < payloadLength; at += chunk) {
      const size = Math.min(chunk, payloadLength - at);
      const isLast = at + size >= payloadLength;
      fields.totalLength = headerLength + size;
      fields.flagsFragment = (isLast ? 0 : IpFlag.MF) | (at >>> 3);
      writeIpv4Header(out, outView, h, fields);
      out.set(frame.subarray(PAYLOAD_OFFSET + at, PAYLOAD_OFFSET + at + size), h + headerLength);
      this.stats.txFragments++;
      if (!this.netif.sendIpv4(out, h + headerLength + size, nextHop)) {
        this.stats.txDropLink++;
        result = Err.IF;
      }
    }
    return result;
  }

  /** Datagrams to ourselves are queued and delivered from the scheduler, never re-entering input. */
  private loopback(frame: Uint8Array, offset: number, length: number): ErrCode {
    if (this.loopbackQueue.length >= LOOPBACK_QUEUE_LIMIT) {
      this.stats.dropLoopbackFull++;
      return Err.MEM;
    }
    this.stats.loopback++;
    this.loopbackQueue.push(frame.slice(offset, offset + length));
    if (!this.loopbackDeadline.isArmed) this.scheduler.set(this.loopbackDeadline, this.scheduler.now());
    return Err.OK;
  }

  private deliverLoopback(nowMs: number): void {
    const queue = this.loopbackQueue.splice(0);
    for (const datagram of queue) {
      const ip = this.view.point(datagram, 0, datagram.length);
      if (ip.check() !== Ipv4Check.OK) continue;
      this.deliver(ip, IpCast.UNICAST, false, nowMs, null);
    }
    this.endBatch(nowMs);
  }

  /** Drops held state (reassembly, loopback queue) and cancels timers, for shutdown. */
  shutdown(): void {
    this.reassembler.clear();
    this.loopbackQueue.length = 0;
    this.scheduler.cancel(this.loopbackDeadline);
  }
}
