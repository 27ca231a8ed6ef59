// The UDP layer (RFC 768, RFC 1122 §4.1): PCBs bound to a port (specific or any address), optionally
// connected to a default peer; input demux (connected PCBs first, then bound ones; every matching PCB for
// broadcast and multicast), a bounded datagram queue per PCB, port unreachable for closed ports, and output
// with the checksum always computed. Call order: ip/input → UdpLayer.input → PCB queue → events.

import { makeCounters } from "../core/stats.js";
import { Err, type ErrCode } from "../core/errors.js";
import { IPV4_BROADCAST, isMulticastIpv4 } from "../core/addr.js";
import { PacketRing } from "../core/packetRing.js";
import type { Random } from "../core/random.js";
import { DEFAULT_TTL, IpCast, type IpCastCode, MAX_PAYLOAD, PAYLOAD_OFFSET, type IcmpErrorInfo, type IpLayer, type IpProtocolHandler, type IpRx } from "../ip/ip.js";
import { IpProto } from "../ip/ipv4.js";
import { UnreachableCode, type Icmp } from "../ip/icmp.js";
import { EphemeralPorts } from "../ip/ports.js";
import { UDP, UDP_CHECK_NAMES, UdpCheck, UdpView, writeUdpHeader } from "./header.js";

/** Largest UDP payload: 65 535 − 20 (IP) − 8 (UDP). */
export const UDP_MAX_DATA = MAX_PAYLOAD - UDP.headerLength;

export interface UdpEvents {
  /** A datagram was queued. */
  readable?(pcb: UdpPcb): void;
  /** An ICMP error about a datagram this PCB sent (Err.RST for port unreachable → ECONNREFUSED). */
  error?(pcb: UdpPcb, err: ErrCode): void;
}

export interface UdpPcbOptions {
  /** Datagrams queued before drops (the board queues 4). */
  maxQueuedDatagrams: number;
  /** Bytes queued before drops. */
  maxQueuedBytes: number;
}

export const DEFAULT_UDP_PCB_OPTIONS: UdpPcbOptions = { maxQueuedDatagrams: 4, maxQueuedBytes: 128 * 1024 };

export class UdpPcb {
  /** 0 = any local address. */
  localIp = 0;
  /** 0 = not bound yet. */
  localPort = 0;
  /** The default peer set by connect; 0 when not connected. Only its datagrams are accepted then. */
  remoteIp = 0;
  remotePort = 0;
  /** SO_BROADCAST: may send to broadcast addresses. */
  broadcast = false;
  reuseAddress = false;
  ttl = DEFAULT_TTL;
  /** RFC 1112 §6.1: multicast goes out with TTL 1 unless asked otherwise. */
  multicastTtl = 1;
  readonly queue: PacketRing;
  /** Datagrams dropped because the queue was full. */
  dropped = 0;
  events: UdpEvents = {};
  /** The last ICMP error (soft error), reported once. */
  pendingError: ErrCode = Err.OK;
  closed = false;
  /** Listed for a `readable` event after the current batch. */
  readablePending = false;

  constructor(options: UdpPcbOptions) {
    this.queue = new PacketRing(options.maxQueuedDatagrams, options.maxQueuedBytes);
  }
}

export class UdpLayer implements IpProtocolHandler {
  readonly stats = makeCounters([
    "rxDatagrams",
    "rxDelivered",
    "dropTruncated",
    "dropBadLength",
    "dropBadChecksum",
    "dropNoPort",
    "dropQueueFull",
    "txDatagrams",
    "txErrors",
  ] as const);

  private readonly byPort = new Map<number, UdpPcb[]>();
  private readonly view = new UdpView();
  /** RFC 6056 §3.3.4 port choice for binds to port 0, as TCP's. */
  readonly ports: EphemeralPorts;
  /** PCBs with events to fire after the batch. */
  private readonly readableList: UdpPcb[] = [];

  /** @param random the stack's entropy; keys the ephemeral-port choice. */
  constructor(
    private readonly ip: IpLayer,
    private readonly icmp: Icmp,
    random: Random,
  ) {
    this.ports = new EphemeralPorts(random);
    ip.register(IpProto.UDP, this);
  }

  open(options: Partial<UdpPcbOptions> = {}): UdpPcb {
    return new UdpPcb({ ...DEFAULT_UDP_PCB_OPTIONS, ...options });
  }

  /** Binds to (localIp, port); port 0 picks an ephemeral port. Err.USE if taken (unless both reuse), Err.VAL if bound. */
  bind(pcb: UdpPcb, localIp: number, port: number): ErrCode {
    if (pcb.localPort !== 0) return Err.VAL;
    if (port === 0) {
      // A datagram PCB has no remote end yet: the 3-tuple is (local address, 0, 0), as for a TCP bind.
      port = this.ports.choose(localIp, 0, 0, (p) => !this.byPort.has(p));
      if (port === 0) return Err.USE;
    } else {
      for (const other of this.byPort.get(port) ?? []) {
        const overlaps = other.localIp === 0 || localIp === 0 || other.localIp === localIp;
        if (overlaps && !(pcb.reuseAddress && other.reuseAddress)) return Err.USE;
      }
    }
    pcb.localIp = localIp;
    pcb.localPort = port;
    const list = this.byPort.get(port);
    if (list === undefined) this.byPort.set(port, [pcb]);
    else list.push(pcb);
    return Err.OK;
  }

  /** Sets the default peer (binding an ephemeral port first if needed). No packet is sent. */
  connect(pcb: UdpPcb, remoteIp: number, remotePort: number): ErrCode {
    if (pcb.localPort === 0) {
      const err = this.bind(pcb, 0, 0);
      if (err !== Err.OK) return err;
    }
    pcb.remoteIp = remoteIp >>> 0;
    pcb.remotePort = remotePort;
    return Err.OK;
  }

  /** Sends one datagram to (dst, dstPort), or to the default peer when dst is null. */
  sendTo(pcb: UdpPcb, data: Uint8Array, offset: number, length: number, dst: number | null, dstPort: number): ErrCode {
    const to = dst ?? pcb.remoteIp;
    const toPort = dst === null ? pcb.remotePort : dstPort;
    // A closed PCB sends nothing: unbound, it would otherwise bind an ephemeral port nobody would release.
    if (pcb.closed) return Err.CLSD;
    if (to === 0 || toPort === 0) return Err.CONN;
    if (length > UDP_MAX_DATA) return Err.MSGSIZE;
    // RFC 1122 §4.1.3.4 leaves broadcast to the application; like lwIP with IP_SOF_BROADCAST, it needs SO_BROADCAST.
    const isBroadcast = to === IPV4_BROADCAST || (to === this.ip.netif.directedBroadcast && this.ip.netif.ip !== 0);
    if (isBroadcast && !pcb.broadcast) return Err.VAL;
    if (pcb.localPort === 0) {
      const err = this.bind(pcb, 0, 0);
      if (err !== Err.OK) return err;
    }
    const frame = this.ip.txFrame;
    frame.set(data.subarray(offset, offset + length), PAYLOAD_OFFSET + UDP.headerLength);
    const src = pcb.localIp !== 0 && !isMulticastIpv4(pcb.localIp) ? pcb.localIp : this.ip.sourceFor(to);
    writeUdpHeader(frame, this.ip.txView, PAYLOAD_OFFSET, pcb.localPort, toPort, length, src, to);
    const ttl = isMulticastIpv4(to) ? pcb.multicastTtl : pcb.ttl;
    const err = this.ip.send(IpProto.UDP, src, to, UDP.headerLength + length, { ttl, tos: 0, dontFragment: false });
    if (err === Err.OK) this.stats.txDatagrams++;
    else this.stats.txErrors++;
    return err;
  }

  /** Takes the next datagram into dst (truncated to max); returns the copied length or -1 when none. */
  receive(pcb: UdpPcb, dst: Uint8Array, dstOffset: number, max: number, peek = false): number {
    if (pcb.queue.isEmpty) return -1;
    return pcb.queue.pop(dst, dstOffset, max, peek);
  }

  close(pcb: UdpPcb): void {
    if (pcb.closed) return;
    pcb.closed = true;
    pcb.events = {};
    pcb.queue.clear();
    const list = this.byPort.get(pcb.localPort);
    if (list === undefined) return;
    const i = list.indexOf(pcb);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.byPort.delete(pcb.localPort);
  }

  /** Every open PCB (leak checks, netstat views). */
  allPcbs(): UdpPcb[] {
    return [...this.byPort.values()].flat();
  }

  input(rx: IpRx): void {
    const stats = this.stats;
    stats.rxDatagrams++;
    const v = this.view.point(rx.bytes, rx.payloadOffset, rx.payloadLength);
    const reason = v.check(rx.src, rx.dst, rx.isChecksumTrusted);
    if (reason !== UdpCheck.OK) {
      stats[UDP_CHECK_NAMES[reason] as "dropTruncated"]++;
      return;
    }
    const list = this.byPort.get(v.dstPort);
    let delivered = 0;
    if (list !== undefined) {
      if (rx.cast === IpCast.UNICAST) {
        const pcb = this.match(list, rx.src, v.srcPort, rx.dst, rx.cast);
        if (pcb !== null) delivered = this.deliver(pcb, v, rx);
      } else {
        // Broadcast and multicast go to every PCB bound to the port that would accept the source.
        for (const pcb of list) if (this.accepts(pcb, rx.src, v.srcPort, rx.dst, rx.cast)) delivered += this.deliver(pcb, v, rx);
      }
    }
    // Fix (found by test/fuzz/udp): a broadcast or multicast datagram to a port whose PCBs all refused it
    // (bound to another address, connected elsewhere) was dropped without a counter; every datagram that
    // reaches no PCB is now counted. For unicast, delivered === 0 means no PCB matched at all.
    if (delivered === 0) {
      stats.dropNoPort++;
      // RFC 1122 §4.1.3.1: port unreachable for a unicast datagram to a closed port (icmp rate-limits it, and
      // suppresses it for broadcast and multicast, RFC 1122 §3.2.2).
      this.icmp.sendUnreachable(rx, UnreachableCode.PORT);
    }
  }

  endBatch(): void {
    const list = this.readableList.splice(0);
    for (const pcb of list) {
      pcb.readablePending = false;
      if (!pcb.closed) pcb.events.readable?.(pcb);
    }
  }

  icmpError(info: IcmpErrorInfo): void {
    if (info.quoteLength < 4) return;
    const remotePort = info.quotedDstPort;
    for (const pcb of this.byPort.get(info.quotedSrcPort) ?? []) {
      // RFC 1122 §4.1.3.3: report to the application; only a connected PCB can attribute it (as Linux does).
      if (pcb.remoteIp === info.dst && pcb.remotePort === remotePort) {
        pcb.pendingError = info.type === 3 && info.code === UnreachableCode.PORT ? Err.RST : Err.RTE;
        pcb.events.error?.(pcb, pcb.pendingError);
      }
    }
  }

  private match(list: UdpPcb[], src: number, srcPort: number, dst: number, cast: IpCastCode): UdpPcb | null {
    let best: UdpPcb | null = null;
    for (const pcb of list) {
      if (!this.accepts(pcb, src, srcPort, dst, cast)) continue;
      // A connected PCB is the most specific match.
      if (pcb.remoteIp !== 0) return pcb;
      if (best === null || (best.localIp === 0 && pcb.localIp !== 0)) best = pcb;
    }
    return best;
  }

  /**
   * As lwIP's udp_input_local_match: an unbound (0) PCB hears everything, a bound one only datagrams to its
   * address — plus broadcasts when it is bound to a unicast address (lwIP delivers subnet broadcasts to
   * those). So a PCB bound to a multicast group hears that group only, not unicast or other groups.
   */
  private accepts(pcb: UdpPcb, src: number, srcPort: number, dst: number, cast: IpCastCode): boolean {
    if (pcb.localIp !== 0 && pcb.localIp !== dst) {
      if (cast !== IpCast.BROADCAST || isMulticastIpv4(pcb.localIp)) return false;
    }
    if (pcb.remoteIp !== 0 && (pcb.remoteIp !== src || pcb.remotePort !== srcPort)) return false;
    return true;
  }

  private deliver(pcb: UdpPcb, v: UdpView, rx: IpRx): number {
    if (!pcb.queue.push(v.bytes, v.dataOffset, v.dataLength, rx.src, v.srcPort, rx.dst)) {
      pcb.dropped++;
      this.stats.dropQueueFull++;
      return 1;
    }
    this.stats.rxDelivered++;
    if (!pcb.readablePending) {
      pcb.readablePending = true;
      this.readableList.push(pcb);
    }
    return 1;
  }
}
