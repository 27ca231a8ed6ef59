// Raw IPv4 PCBs (SOCK_RAW, as lwIP's raw.c): a PCB receives a copy of every datagram of its protocol that
// the IP layer accepted for us — the whole datagram, header included — through `ip.taps`, before and without
// disturbing normal demux (the stack still answers echo requests a raw ICMP socket also sees). Output sends
// the caller's payload; the IP layer writes the header. Call order: ip/deliver → taps → RawLayer.tap → PCB
// queue → (batch end) readable events.

import { makeCounters } from "../core/stats.js";
import { Err, type ErrCode } from "../core/errors.js";
import { assert } from "../core/assert.js";
import { IPV4_BROADCAST, isMulticastIpv4 } from "../core/addr.js";
import { PacketRing } from "../core/packetRing.js";
import { DEFAULT_TTL, MAX_PAYLOAD, PAYLOAD_OFFSET, type IpLayer, type IpRx } from "./ip.js";
import { UnreachableCode, type Icmp } from "./icmp.js";

export interface RawEvents {
  /** One or more datagrams were queued (fired once per input batch). */
  readable?(pcb: RawPcb): void;
}

export interface RawPcbOptions {
  /** Datagrams queued before drops (the board queues 4). */
  maxQueuedDatagrams: number;
  /** Bytes queued (whole datagrams, headers included) before drops. */
  maxQueuedBytes: number;
}

export const DEFAULT_RAW_PCB_OPTIONS: RawPcbOptions = { maxQueuedDatagrams: 4, maxQueuedBytes: 128 * 1024 };

/** IPPROTO_RAW: on Linux it means "the caller writes the IP header" (IP_HDRINCL), which we do not support. */
const IPPROTO_RAW = 255;

export class RawPcb {
  /** 0 = any local address; else only datagrams to this address are received, and it is the source. */
  localIp = 0;
  /** The default peer set by connect, 0 when not connected; then only its datagrams are received. */
  remoteIp = 0;
  /** SO_BROADCAST: may send to broadcast addresses. */
  broadcast = false;
  ttl = DEFAULT_TTL;
  /** RFC 1112 §6.1: multicast goes out with TTL 1 unless asked otherwise. */
  multicastTtl = 1;
  /** Whole IPv4 datagrams (header included); the source port recorded is always 0. */
  readonly queue: PacketRing;
  /** Datagrams dropped because the queue was full. */
  dropped = 0;
  events: RawEvents = {};
  closed = false;
  /** Listed for a `readable` event after the current batch. */
  readablePending = false;

  constructor(
    /** The IP protocol number received and sent (1 = ICMP). */
    readonly protocol: number,
    options: RawPcbOptions,
  ) {
    this.queue = new PacketRing(options.maxQueuedDatagrams, options.maxQueuedBytes);
  }

  /** Source address of the next queued datagram, for recvfrom (`(ip, 0)`); 0 when none is queued. */
  get nextSrcIp(): number {
    return this.queue.isEmpty ? 0 : this.queue.nextSrcIp;
  }
}

export class RawLayer {
  readonly stats = makeCounters(["rxDelivered", "dropQueueFull", "txDatagrams", "txErrors"] as const);

  private readonly pcbs: RawPcb[] = [];
  /** Open PCBs per protocol number: the tap skips datagrams no PCB wants without scanning the list. */
  private readonly countByProtocol = new Uint16Array(256);
  /** PCBs with events to fire after the batch. */
  private readonly readableList: RawPcb[] = [];

  constructor(
    private readonly ip: IpLayer,
    icmp: Icmp,
  ) {
    ip.taps.push((rx) => this.tap(rx));
    ip.batchEndListeners.push(() => this.endBatch());
    // RFC 1122 §3.2.2.1: protocol unreachable means "the protocol is not supported". A protocol with an
    // open raw PCB is served by it, so no error is sent (Linux does the same in ip_local_deliver_finish).
    ip.onUnknownProtocol = (rx) => {
      if (this.countByProtocol[rx.protocol] === 0) icmp.sendUnreachable(rx, UnreachableCode.PROTOCOL);
    };
  }

  /** A new PCB for IP protocol `protocol` (1–254; 255, IPPROTO_RAW with header included, is not supported). */
  open(protocol: number, options: Partial<RawPcbOptions> = {}): RawPcb {
    assert(Number.isInteger(protocol) && protocol >= 0 && protocol <= 255, `raw: bad protocol ${protocol}`);
    const pcb = new RawPcb(protocol, { ...DEFAULT_RAW_PCB_OPTIONS, ...options });
    this.pcbs.push(pcb);
    this.countByProtocol[protocol] = (this.countByProtocol[protocol] as number) + 1;
    return pcb;
  }

  /** Receives only datagrams to `localIp` (0 = any) and sends from it. Raw PCBs have no ports to clash on. */
  bind(pcb: RawPcb, localIp: number): ErrCode {
    if (pcb.closed) return Err.CLSD;
    pcb.localIp = localIp >>> 0;
    return Err.OK;
  }

  /** Sets the default peer (0 disconnects); from then on only its datagrams are received. No packet is sent. */
  connect(pcb: RawPcb, remoteIp: number): ErrCode {
    if (pcb.closed) return Err.CLSD;
    pcb.remoteIp = remoteIp >>> 0;
    return Err.OK;
  }

  /**
   * Sends `data[offset, offset + length)` as the payload of one datagram of the PCB's protocol to `dst`, or
   * to the default peer when dst is null. The payload goes out as given: as on Linux and lwIP, the caller
   * computes any checksum in it (an ICMP echo request's, for example).
   */
  sendTo(pcb: RawPcb, data: Uint8Array, offset: number, length: number, dst: number | null): ErrCode {
    if (pcb.closed) return Err.CLSD;
    const to = (dst ?? pcb.remoteIp) >>> 0;
    if (to === 0) return Err.CONN;
    if (pcb.protocol === 0 || pcb.protocol === IPPROTO_RAW) return Err.VAL;
    if (length > MAX_PAYLOAD) return Err.MSGSIZE;
    const netif = this.ip.netif;
    // As for UDP (and Linux's EACCES on raw sockets): broadcast needs SO_BROADCAST.
    const isBroadcast = to === IPV4_BROADCAST || (to === netif.directedBroadcast && netif.ip !== 0);
    if (isBroadcast && !pcb.broadcast) return Err.VAL;
    this.ip.txFrame.set(data.subarray(offset, offset + length), PAYLOAD_OFFSET);
    const src = pcb.localIp !== 0 && !isMulticastIpv4(pcb.localIp) ? pcb.localIp : this.ip.sourceFor(to);
    const ttl = isMulticastIpv4(to) ? pcb.multicastTtl : pcb.ttl;
    const err = this.ip.send(pcb.protocol, src, to, length, { ttl, tos: 0, dontFragment: false });
    if (err === Err.OK) this.stats.txDatagrams++;
    else this.stats.txErrors++;
    return err;
  }

  /**
   * Takes the next datagram — the whole IPv4 datagram, header included — into dst, truncated to `max` (the
   * rest is discarded unless `peek`). Returns the bytes copied, or -1 when none is queued.
   */
  receive(pcb: RawPcb, dst: Uint8Array, dstOffset: number, max: number, peek = false): number {
    if (pcb.queue.isEmpty) return -1;
    return pcb.queue.pop(dst, dstOffset, max, peek);
  }

  close(pcb: RawPcb): void {
    if (pcb.closed) return;
    pcb.closed = true;
    pcb.events = {};
    pcb.queue.clear();
    const i = this.pcbs.indexOf(pcb);
    if (i >= 0) this.pcbs.splice(i, 1);
    this.countByProtocol[pcb.protocol] = (this.countByProtocol[pcb.protocol] as number) - 1;
  }

  /** Every open PCB (leak checks, netstat views). */
  allPcbs(): RawPcb[] {
    return this.pcbs.slice();
  }

  /** Sees every datagram the IP layer accepted (after reassembly), before protocol demux. */
  private tap(rx: IpRx): void {
    if (this.countByProtocol[rx.protocol] === 0) return;
    for (const pcb of this.pcbs) {
      if (pcb.protocol !== rx.protocol) continue;
      // lwIP raw_input: a bound PCB hears only its address; a connected one only its peer.
      if (pcb.localIp !== 0 && pcb.localIp !== rx.dst) continue;
      if (pcb.remoteIp !== 0 && pcb.remoteIp !== rx.src) continue;
      if (!pcb.queue.push(rx.bytes, rx.headerOffset, rx.totalLength, rx.src, 0, rx.dst)) {
        pcb.dropped++;
        this.stats.dropQueueFull++;
        continue;
      }
      this.stats.rxDelivered++;
      if (!pcb.readablePending) {
        pcb.readablePending = true;
        this.readableList.push(pcb);
      }
    }
  }

  private endBatch(): void {
    if (this.readableList.length === 0) return;
    const list = this.readableList.splice(0);
    for (const pcb of list) {
      pcb.readablePending = false;
      if (!pcb.closed) pcb.events.readable?.(pcb);
    }
  }
}
