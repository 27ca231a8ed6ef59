// The network interface: one Ethernet device with the board's MAC and IPv4 configuration. Input: device →
// netif.frame (Ethernet demux; ARP handled here with the neighbour cache, conflicts by eth/acd) →
// upper.ipv4Input. Output: IP hands a finished frame (Ethernet header space at 0..13) to sendIpv4, which
// fills in MACs or queues for ARP. Address changes (static, DHCP) go through setAddress and its listeners.
// A frame's offload facts (link/offload) pass through both ways; a frame that must wait for ARP is turned
// into plain wire frames first, so the queue holds nothing a device has to finish.

import type { Device, FrameReceiver } from "../link/device.js";
import { toWireFrames, type DeviceOffloads, type FrameOffload } from "../link/offload.js";
import { Deadline, type Scheduler } from "../core/scheduler.js";
import { makeCounters } from "../core/stats.js";
import { IPV4_BROADCAST, isMulticastIpv4, isUnicastHostIpv4, MAC_BROADCAST, type MacAddr } from "../core/addr.js";
import type { Random } from "../core/random.js";
import { ETH, EtherType, EthernetView, writeEthernetHeader, writeMulticastMac } from "./ethernet.js";
import { ARP, ArpCheck, ArpOp, ArpView, writeArp } from "./arp.js";
import { NeighborCache, type NeighborOptions } from "./neighbor.js";
import { Acd, type AcdOptions } from "./acd.js";

/** How the frame carrying an IPv4 packet was addressed at the link layer. */
export const LinkCast = { UNICAST: 0, BROADCAST: 1, MULTICAST: 2 } as const;
export type LinkCastCode = (typeof LinkCast)[keyof typeof LinkCast];

/** What the netif calls above it (the IPv4 layer), handed over once at set-up. */
export interface NetifUpper {
  /** `offload`: what the device said of the frame (a super-frame, a trusted checksum), or null. */
  ipv4Input(bytes: Uint8Array, offset: number, length: number, cast: LinkCastCode, nowMs: number, offload: FrameOffload | null): void;
  /** The end of a batch of received frames: run deferred output. */
  endBatch(nowMs: number): void;
  /** ARP gave up on `ip`; `dropped` frames that waited for it were discarded. */
  neighborUnreachable(ip: number, dropped: number): void;
}

export interface NetifConfig {
  mac: MacAddr;
  /** The board's address; 0 while it has none (before DHCP). */
  ip: number;
  netmask: number;
  /** 0 when there is no default gateway. */
  gateway: number;
  /** IP MTU in bytes (the Ethernet payload). */
  mtu: number;
}

/** Told after the address, mask or gateway changed (set statically, bound, renewed or lost by DHCP). */
export type AddressListener = (ip: number, netmask: number, gateway: number) => void;

export class Netif implements FrameReceiver {
  readonly stats = makeCounters([
    "rxFrames",
    "rxBytes",
    "txFrames",
    "txBytes",
    "txDeviceDrops",
    "txOffloadResolved",
    "txOffloadUnresolvable",
    "dropTruncated",
    "dropNotForUs",
    "dropUnknownType",
    "arpRxRequests",
    "arpRxReplies",
    "arpRxOtherOps",
    "arpTxRequests",
    "arpTxReplies",
    "arpDropTruncated",
    "arpDropUnsupported",
    "arpDropBadSender",
    "arpIgnored",
    "arpConflicts",
  ] as const);

  readonly mac: MacAddr;
  ip: number;
  netmask: number;
  gateway: number;
  readonly mtu: number;
  /** What the device takes on transmit (read once: a device's offloads are fixed). */
  readonly offloads: DeviceOffloads;
  readonly neighbors: NeighborCache;
  /** RFC 5227 for our address: announcements, conflicts, and probes for DHCP. */
  readonly acd: Acd;
  /** Low 23 bits (plus 1) of the IPv4 groups whose Ethernet multicast address we accept, with join counts. */
  private readonly multicastGroups = new Map<number, number>();
  private readonly addressListeners: AddressListener[] = [];

  private upper: NetifUpper | null = null;
  private readonly eth = new EthernetView();
  private readonly arp = new ArpView();
  private readonly arpFrame = new Uint8Array(ETH.headerLength + ARP.length);
  private readonly arpFrameView = new DataView(this.arpFrame.buffer);
  private inBatch = false;
  private batchNowMs = 0;
  private isUp = false;
  /** For cutting an offloaded frame into wire frames before it waits in the ARP queue (allocated on first use). */
  private wireScratch: Uint8Array | null = null;
  private pendingIp = 0;
  private pendingNowMs = 0;
  private pendingOk = true;
  private readonly enqueueWire = (bytes: Uint8Array, offset: number, length: number): void => {
    const frame = offset === 0 ? bytes : bytes.subarray(offset);
    if (!this.neighbors.enqueue(this.pendingIp, frame, length, this.pendingNowMs)) this.pendingOk = false;
  };

  /** @param random the stack's entropy, for the random delays of RFC 5227 probes. */
  constructor(
    readonly device: Device,
    config: NetifConfig,
    private readonly scheduler: Scheduler,
    random: Random,
    neighborOptions: Partial<NeighborOptions> = {},
    acdOptions: Partial<AcdOptions> = {},
  ) {
    this.mac = config.mac.slice(0, 6);
    this.ip = config.ip >>> 0;
    this.netmask = config.netmask >>> 0;
    this.gateway = config.gateway >>> 0;
    this.mtu = config.mtu;
    this.offloads = device.offloads;
    this.neighbors = new NeighborCache(
      scheduler,
      {
        sendRequest: (ip, unicastMac) => this.sendArp(ArpOp.REQUEST, unicastMac, this.ip, ip),
        transmitQueued: (frame) => this.transmit(frame, frame.length),
        resolveFailed: (ip, dropped) => this.upper?.neighborUnreachable(ip, dropped),
      },
      neighborOptions,
    );
    const link = { mac: this.mac, sendArpRequest: (senderIp: number, targetIp: number) => this.sendArp(ArpOp.REQUEST, null, senderIp, targetIp) };
    this.acd = new Acd(link, scheduler, random, acdOptions);
  }

  setUpper(upper: NetifUpper): void {
    this.upper = upper;
  }

  /** Starts receiving and announces our address (gratuitous ARP) if we have one. */
  up(): void {
    if (this.isUp) return;
    this.isUp = true;
    this.device.attach(this);
    if (this.ip !== 0) this.acd.announce(this.ip);
  }

  /** Stops timers and releases the device. */
  down(): void {
    this.isUp = false;
    this.acd.shutdown();
    this.neighbors.clear();
    this.device.close();
  }

  /** Sets (or clears, with 0) the address; a new address is announced (RFC 5227 §2.3), then listeners told. */
  setAddress(ip: number, netmask: number, gateway: number): void {
    const isNewIp = ip >>> 0 !== this.ip;
    const changed = isNewIp || netmask >>> 0 !== this.netmask || gateway >>> 0 !== this.gateway;
    this.ip = ip >>> 0;
    this.netmask = netmask >>> 0;
    this.gateway = gateway >>> 0;
    if (isNewIp) {
      this.neighbors.clear();
      if (this.isUp) this.acd.announce(this.ip);
    }
    if (changed) for (const listener of this.addressListeners.slice()) listener(this.ip, this.netmask, this.gateway);
  }

  addAddressListener(listener: AddressListener): void {
    this.addressListeners.push(listener);
  }

  removeAddressListener(listener: AddressListener): void {
    const i = this.addressListeners.indexOf(listener);
    if (i >= 0) this.addressListeners.splice(i, 1);
  }

  isOnLink(ip: number): boolean {
    return this.ip !== 0 && ((ip ^ this.ip) & this.netmask) === 0;
  }

  /** The subnet's directed broadcast address (RFC 919, RFC 922). */
  get directedBroadcast(): number {
    // A /31 (RFC 3021: both addresses are hosts, the other one is the peer) or /32 has no directed broadcast;
    // the all-ones host part would be the peer or ourselves. Answer the limited broadcast instead.
    if (this.netmask >>> 0 >= 0xfffffffe) return IPV4_BROADCAST;
    return (this.ip | ~this.netmask) >>> 0;
  }

  /** Accept frames for the Ethernet address of IPv4 group `group` (RFC 1112 §6.4); counted per join. */
  joinMulticast(group: number): void {
    const key = group & 0x7fffff;
    this.multicastGroups.set(key, (this.multicastGroups.get(key) ?? 0) + 1);
  }

  leaveMulticast(group: number): void {
    const key = group & 0x7fffff;
    const n = this.multicastGroups.get(key) ?? 0;
    if (n <= 1) this.multicastGroups.delete(key);
    else this.multicastGroups.set(key, n - 1);
  }

  // ---- input ----

  frame(bytes: Uint8Array, offset: number, length: number, offload: FrameOffload | null = null): void {
    if (!this.inBatch) {
      // Due timers first: under a flood frames arrive back to back, and a retransmission or delayed ACK of an
      // established connection must not wait behind them for the host's next timer turn. A batch is at most
      // the device's batch size (the TAP's: 256 frames), so timers run at least once per that many frames.
      // (Inside a timer, e.g. a link that delivers frames from one, runDue returns at once: not re-entrant.)
      const now = this.scheduler.now();
      this.scheduler.runDue(now);
      this.inBatch = true;
      this.batchNowMs = now;
    }
    const stats = this.stats;
    stats.rxFrames++;
    stats.rxBytes += length;
    const eth = this.eth.point(bytes, offset, length);
    if (eth.check() !== 0) {
      stats.dropTruncated++;
      return;
    }
    let cast: LinkCastCode = LinkCast.UNICAST;
    if (eth.isGroup) {
      if (eth.isBroadcast) cast = LinkCast.BROADCAST;
      else if (this.acceptsMulticastMac(eth)) cast = LinkCast.MULTICAST;
      else {
        stats.dropNotForUs++;
        return;
      }
    } else if (!this.isOurMac(bytes, eth.dstOffset)) {
      stats.dropNotForUs++;
      return;
    }
    switch (eth.etherType) {
      case EtherType.IPV4:
        this.upper?.ipv4Input(bytes, eth.payloadOffset, eth.payloadLength, cast, this.batchNowMs, offload);
        return;
      case EtherType.ARP:
        this.arpInput(bytes, eth.payloadOffset, eth.payloadLength);
        return;
      default:
        stats.dropUnknownType++;
    }
  }

  endBatch(): void {
    const now = this.inBatch ? this.batchNowMs : this.scheduler.now();
    this.inBatch = false;
    this.upper?.endBatch(now);
  }

  /** The time of the batch being processed (or now, outside a batch). */
  nowMs(): number {
    return this.inBatch ? this.batchNowMs : this.scheduler.now();
  }

  private isOurMac(bytes: Uint8Array, offset: number): boolean {
    const mac = this.mac;
    for (let i = 0; i < 6; i++) if (bytes[offset + i] !== mac[i]) return false;
    return true;
  }

  private acceptsMulticastMac(eth: EthernetView): boolean {
    const v = eth.view;
    const o = eth.dstOffset;
    // 01:00:5e:0x:xx:xx is the IPv4 multicast block; the low 23 bits select the group.
    if (v.getUint16(o) !== 0x0100 || v.getUint8(o + 2) !== 0x5e || (v.getUint8(o + 3) & 0x80) !== 0) return false;
    const key = ((v.getUint8(o + 3) << 16) | v.getUint16(o + 4)) & 0x7fffff;
    // 224.0.0.1 (all hosts, RFC 1112 §4) is always accepted.
    return key === 1 || this.multicastGroups.has(key);
  }

  /**
   * Whether an ARP sender could be a neighbour: its hardware address is not a group address (the I/G bit,
   * IEEE 802 §8.2), and its protocol address is 0.0.0.0 (an RFC 5227 probe) or a unicast address outside
   * 0/8 and 127/8 (RFC 1122 §3.2.1.3) that is not our subnet's broadcast address.
   */
  private isPlausibleSender(senderIp: number, firstMacOctet: number): boolean {
    if ((firstMacOctet & 1) !== 0) return false;
    if (senderIp === 0) return true;
    return isUnicastHostIpv4(senderIp) && (this.ip === 0 || senderIp !== this.directedBroadcast);
  }

  private arpInput(bytes: Uint8Array, offset: number, length: number): void {
    const stats = this.stats;
    const arp = this.arp.point(bytes, offset, length);
    const reason = arp.check();
    if (reason !== ArpCheck.OK) {
      if (reason === ArpCheck.TRUNCATED) stats.arpDropTruncated++;
      else stats.arpDropUnsupported++;
      return;
    }
    const op = arp.op;
    if (op === ArpOp.REQUEST) stats.arpRxRequests++;
    else if (op === ArpOp.REPLY) stats.arpRxReplies++;
    // Other opcodes (RARP, InARP, junk) are still merged below, as RFC 826 merges before looking at the
    // opcode; counted so no valid ARP packet goes uncounted.
    else stats.arpRxOtherOps++;
    const senderIp = arp.senderIp;
    const targetIp = arp.targetIp;
    if (!this.isPlausibleSender(senderIp, bytes[arp.senderMacOffset] as number)) {
      // A mapping no neighbour can have (learning it would poison the cache, answering it would send our
      // reply to a group address): Linux's arp_process drops such requests too, as their source fails its
      // route check.
      stats.arpDropBadSender++;
      return;
    }
    if (this.acd.arpInput(senderIp, targetIp, bytes, arp.senderMacOffset, this.ip)) {
      // Someone else uses our address (RFC 5227 §2.4): the Acd decides what to do; we neither learn nor answer.
      stats.arpConflicts++;
      return;
    }
    const now = this.batchNowMs;
    // RFC 826 packet reception: merge the sender into an existing entry; ARP probes (sender 0.0.0.0,
    // RFC 5227 §2.1.1) carry no usable mapping.
    const merged = senderIp !== 0 && this.neighbors.update(senderIp, bytes, arp.senderMacOffset, false, now);
    if (this.ip === 0 || targetIp !== this.ip) {
      stats.arpIgnored++;
      return;
    }
    // RFC 826: "Am I the target protocol address?" — then add the sender if it was not merged.
    if (!merged && senderIp !== 0) this.neighbors.update(senderIp, bytes, arp.senderMacOffset, true, now);
    if (op === ArpOp.REQUEST) {
      // The reply goes to the requester's MAC. Copy it out first: the frame bytes belong to the device.
      const dstMac = this.arpFrame.subarray(0, 6);
      for (let i = 0; i < 6; i++) dstMac[i] = bytes[arp.senderMacOffset + i] ?? 0;
      this.sendArp(ArpOp.REPLY, dstMac, this.ip, senderIp);
    }
  }

  // ---- output ----

  /**
   * Sends an IPv4 packet: `frame[14, length)` holds it, `frame[0, 14)` is filled in here. `nextHop` is the
   * on-link address to deliver to (the destination itself or the gateway), or a broadcast/multicast
   * address. `offload` (only as `offloads` allows) asks the device to segment or checksum the frame.
   * Returns false if the frame was dropped (device refused it, or the ARP queue is full).
   */
  sendIpv4(frame: Uint8Array, length: number, nextHop: number, offload: FrameOffload | null = null): boolean {
    frame.set(this.mac, ETH.src);
    frame[ETH.type] = EtherType.IPV4 >>> 8;
    frame[ETH.type + 1] = EtherType.IPV4 & 0xff;
    if (nextHop === IPV4_BROADCAST || (nextHop === this.directedBroadcast && this.netmask !== 0xffffffff)) {
      frame.set(MAC_BROADCAST, ETH.dst);
      return this.transmit(frame, length, offload);
    }
    if (isMulticastIpv4(nextHop)) {
      writeMulticastMac(frame, ETH.dst, nextHop);
      return this.transmit(frame, length, offload);
    }
    const now = this.nowMs();
    const mac = this.neighbors.lookup(nextHop, now);
    if (mac !== null) {
      frame.set(mac, ETH.dst);
      return this.transmit(frame, length, offload);
    }
    if (offload === null) return this.neighbors.enqueue(nextHop, frame, length, now);
    return this.enqueueOffloaded(nextHop, frame, length, offload, now);
  }

  /** An offloaded frame waits for ARP as the wire frames it stands for (the queue replays plain frames). */
  private enqueueOffloaded(nextHop: number, frame: Uint8Array, length: number, offload: FrameOffload, nowMs: number): boolean {
    this.wireScratch ??= new Uint8Array(ETH.headerLength + 65535);
    this.pendingIp = nextHop;
    this.pendingNowMs = nowMs;
    this.pendingOk = true;
    if (toWireFrames(frame, 0, length, offload, this.wireScratch, this.enqueueWire) === 0) {
      this.stats.txOffloadUnresolvable++;
      return false;
    }
    this.stats.txOffloadResolved++;
    return this.pendingOk;
  }

  private transmit(frame: Uint8Array, length: number, offload: FrameOffload | null = null): boolean {
    if (this.device.transmit(frame, 0, length, offload)) {
      this.stats.txFrames++;
      this.stats.txBytes += length;
      return true;
    }
    this.stats.txDeviceDrops++;
    return false;
  }

  private sendArp(op: number, dstMac: Uint8Array | null, senderIp: number, targetIp: number): boolean {
    const f = this.arpFrame;
    // A request without a known MAC is broadcast; a reply or refresh goes to `dstMac` (already at 0..5 for
    // replies, which copy it there before calling).
    if (dstMac === null) f.set(MAC_BROADCAST, ETH.dst);
    else if (dstMac.buffer !== f.buffer || dstMac.byteOffset !== 0) f.set(dstMac, ETH.dst);
    writeEthernetHeader(f, 0, f.subarray(0, 6), this.mac, EtherType.ARP);
    writeArp(f, this.arpFrameView, ETH.headerLength, op, this.mac, senderIp, op === ArpOp.REPLY ? dstMac : null, targetIp);
    if (op === ArpOp.REPLY) this.stats.arpTxReplies++;
    else this.stats.arpTxRequests++;
    return this.transmit(f, f.length);
  }
}
