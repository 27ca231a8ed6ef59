// The DHCP client (RFC 2131 §4.4, options from RFC 2132, address probing from RFC 5227): takes an address for
// the netif, checks nobody uses it, keeps it renewed at T1/T2 and gives it back at stop. An application on a
// UDP PCB bound to port 68 and on the netif (its address, and its eth/acd for the RFC 5227 probe). Call
// order: ip/input → udp/input → PCB `readable` → DhcpClient.input → state machine → UdpLayer.sendTo /
// Acd.probe / Netif.setAddress. Timers are two Deadlines on the stack's scheduler: `step` (retransmission,
// back-off) and `leaseTimer` (T1, T2, expiry); the probe runs on the Acd's. A client given a remembered address
// (`previousAddress`) starts in INIT-REBOOT (RFC 2131 §3.2, §4.4.2) instead of INIT.

import { Deadline, type Scheduler } from "../core/scheduler.js";
import { makeCounters } from "../core/stats.js";
import type { Random } from "../core/random.js";
import { Err } from "../core/errors.js";
import { IPV4_BROADCAST, isMulticastIpv4 } from "../core/addr.js";
import type { Netif } from "../eth/netif.js";
import { DEFAULT_PROBE_TIMING, type ProbeEvents, type ProbeTiming } from "../eth/acd.js";
import type { UdpLayer, UdpPcb } from "../udp/udp.js";
import {
  BOOTP_FLAG_BROADCAST,
  BootpOp,
  DHCP_CHECK_NAMES,
  DhcpCheck,
  DhcpMessageType,
  DhcpOpt,
  DhcpOptionsRepr,
  DhcpView,
  DhcpWriter,
  HTYPE_ETHERNET,
} from "./dhcpMessage.js";

export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;

/**
 * Client states as RFC 2131 Figure 5 names them, plus STOPPED (before start, after stop) and CHECKING (the
 * RFC 5227 probe of an acknowledged address before it is used; lwIP's DHCP_STATE_CHECKING). INIT-REBOOT is
 * passed through at start when an address is remembered: its REQUEST goes out at once and the client waits in
 * REBOOTING.
 */
export const DhcpState = {
  STOPPED: 0,
  INIT: 1,
  SELECTING: 2,
  REQUESTING: 3,
  CHECKING: 4,
  BOUND: 5,
  RENEWING: 6,
  REBINDING: 7,
  INIT_REBOOT: 8,
  REBOOTING: 9,
} as const;
export type DhcpStateCode = (typeof DhcpState)[keyof typeof DhcpState];
export const DHCP_STATE_NAMES = [
  "STOPPED",
  "INIT",
  "SELECTING",
  "REQUESTING",
  "CHECKING",
  "BOUND",
  "RENEWING",
  "REBINDING",
  "INIT-REBOOT",
  "REBOOTING",
] as const;

/** A lease as acknowledged by the server; outlives the message it came in. */
export interface DhcpLease {
  readonly ip: number;
  readonly netmask: number;
  /** The first router (option 3), or 0. */
  readonly gateway: number;
  /** Option 6, in the server's order. */
  readonly dnsServers: readonly number[];
  /** Option 51; 0xffffffff is infinite (RFC 2131 §3.3). */
  readonly leaseSeconds: number;
  /** T1 and T2 after defaults and sanity checks (RFC 2131 §4.4.5). */
  readonly renewalSeconds: number;
  readonly rebindingSeconds: number;
  /** Option 54: where renewals and the release go. */
  readonly serverId: number;
  /** Scheduler time the lease counts from: when the acknowledged REQUEST was first sent (RFC 2131 §4.4.1). */
  readonly obtainedAtMs: number;
}

/**
 * The RFC 5227 probe's pacing (ProbeTiming, defaults from RFC 5227 §1.1; probeCount 0 skips the check) and
 * the client's own settings.
 */
export interface DhcpClientOptions extends ProbeTiming {
  /** Sent as option 12 (RFC 2132 §3.14); empty sends none. */
  hostname: string;
  /** RFC 2131 §4.1: first retransmission after 4 s, doubling up to 64 s, each ±1 s. */
  baseRetransmitMs: number;
  /** Default 16 × base (64 s). */
  maxRetransmitMs: number;
  /** Uniform randomization of each delay, ± this; default base / 4 (1 s). */
  retransmitJitterMs: number;
  /** REQUESTs sent in REQUESTING before going back to INIT (RFC 2131 §3.1 step 5 leaves the count to us). */
  maxRequestTransmissions: number;
  /** RFC 2131 §4.4.5: RENEWING/REBINDING retransmit at half the remaining time, but not sooner than 60 s. */
  minRenewRetransmitMs: number;
  /** RFC 2131 §3.1 step 5: wait at least 10 s after a DHCPDECLINE before starting again. */
  declineWaitMs: number;
  /** RFC 5227 §2.1.1: after MAX_CONFLICTS (10) conflicts, one attempt per RATE_LIMIT_INTERVAL (60 s). */
  maxConflicts: number;
  rateLimitIntervalMs: number;
  /**
   * An address remembered from an earlier lease (0: none). start() then begins in INIT-REBOOT (RFC 2131
   * §4.4.2): a broadcast REQUEST for it, without a server id. The caller passes only an address whose lease
   * it believes unexpired (ISC dhclient's state_reboot skips expired leases the same way).
   */
  previousAddress: number;
  /**
   * REQUESTs sent in REBOOTING before giving up and starting discovery (lwIP's REBOOT_TRIES is 2; ISC
   * dhclient gives up after its 10 s reboot_timeout). With the 4 s/8 s back-off, INIT follows about 12 s on.
   */
  maxRebootTransmissions: number;
}

const DEFAULT_BASE_RETRANSMIT_MS = 4000;

const DEFAULTS: Omit<DhcpClientOptions, "maxRetransmitMs" | "retransmitJitterMs"> = {
  hostname: "walnut",
  baseRetransmitMs: DEFAULT_BASE_RETRANSMIT_MS,
  maxRequestTransmissions: 4,
  previousAddress: 0,
  maxRebootTransmissions: 2,
  minRenewRetransmitMs: 60_000,
  declineWaitMs: 10_000,
  ...DEFAULT_PROBE_TIMING,
  maxConflicts: 10,
  rateLimitIntervalMs: 60_000,
};

/** Option 55 (RFC 2132 §9.8): mask, router, DNS, lease time, server id, T1, T2. */
const PARAMETER_REQUEST_LIST = [
  DhcpOpt.SUBNET_MASK,
  DhcpOpt.ROUTER,
  DhcpOpt.DNS,
  DhcpOpt.LEASE_TIME,
  DhcpOpt.SERVER_ID,
  DhcpOpt.RENEWAL_TIME,
  DhcpOpt.REBINDING_TIME,
] as const;

const INFINITE_LEASE = 0xffffffff;

/** A client message: fixed header, our options, padding to 300 bytes; 576 is every host's minimum. */
const TX_BUFFER_BYTES = 576;
/** Replies larger than this are truncated (and then fail the END check); servers keep to 576 unless told (option 57). */
const RX_BUFFER_BYTES = 2048;

const DHCP_COUNTERS = [
  "txDiscover",
  "txRequest",
  "txDecline",
  "txRelease",
  "txErrors",
  "retransmissions",
  "rxMessages",
  "rxOffers",
  "rxAcks",
  "rxNaks",
  /** Not a reply to our current exchange (xid, chaddr, op, port) or not expected in this state. */
  "rxIgnored",
  ...(DHCP_CHECK_NAMES.slice(1) as Exclude<(typeof DHCP_CHECK_NAMES)[number], "ok">[]),
  /** An OFFER/ACK whose yiaddr cannot be a host address. */
  "dropBadAddress",
  /** An OFFER without option 54 (RFC 2131 Table 3: MUST). */
  "dropNoServerId",
  /** An ACK without option 51 (RFC 2131 Table 3: MUST). */
  "dropNoLeaseTime",
  "probesSent",
  "probeConflicts",
  "leasesBound",
  "renewals",
  "leasesExpired",
  "leasesLost",
  /** Starts in INIT-REBOOT with a remembered address (RFC 2131 §4.4.2). */
  "rebootAttempts",
  /** ... that the server acknowledged (the address is then probed like every other), */
  "rebootAcks",
  /** ... refused with a DHCPNAK (discovery follows at once), */
  "rebootNaks",
  /** ... or left unanswered through the retransmissions (discovery follows). */
  "rebootTimeouts",
] as const;

/** What a DHCP client tells the application; either method may be left out. */
export interface DhcpListener {
  /** Each time a lease is bound: after the first handshake and after every renewal or rebinding. */
  bound?(lease: DhcpLease): void;
  /** The address was taken away: lease expiry, a DHCPNAK while bound, or a changed address. */
  lost?(): void;
}

export class DhcpClient {
  readonly stats = makeCounters(DHCP_COUNTERS);
  private readonly listeners: DhcpListener[] = [];

  private readonly options: DhcpClientOptions;
  private stateCode: DhcpStateCode = DhcpState.STOPPED;
  private pcb: UdpPcb | null = null;
  /** The bound lease (BOUND, RENEWING, REBINDING); null otherwise. */
  private current: DhcpLease | null = null;
  /** CHECKING: the acknowledged lease being probed. */
  private pending: DhcpLease | null = null;
  /** The transaction id of the current exchange; replies must echo it (RFC 2131 §4.1). */
  private xid = 0;
  /** When the current exchange began: `secs` counts from here (RFC 2131 §2). */
  private exchangeStartMs = 0;
  /** RFC 2131 §4.4.1: the REQUEST after an OFFER carries the `secs` of the DISCOVER it answers. */
  private discoverSecs = 0;
  /** Transmissions of the current message so far (1 after the first). */
  private transmissions = 0;
  /** REQUESTING: the offer being requested. */
  private offeredIp = 0;
  private offerServerId = 0;
  /** When the REQUEST of this exchange was first sent: the lease's start (RFC 2131 §4.4.1). */
  private requestSentAtMs = 0;
  /** Lease events as scheduler times (Infinity for an infinite lease); valid while `current` is set. */
  private t1AtMs = Infinity;
  private t2AtMs = Infinity;
  private expiresAtMs = Infinity;
  /** Consecutive address conflicts and NAKs, for the back-offs; reset when bound. */
  private conflicts = 0;
  private naks = 0;

  private readonly step = new Deadline((now) => this.onStep(now), "dhcp step");
  private readonly leaseTimer = new Deadline((now) => this.onLeaseTimer(now), "dhcp lease");
  private readonly view = new DhcpView();
  private readonly parsed = new DhcpOptionsRepr();
  private readonly writer = new DhcpWriter();
  private readonly txBuf = new Uint8Array(TX_BUFFER_BYTES);
  private readonly txView = new DataView(this.txBuf.buffer);
  private readonly rxBuf = new Uint8Array(RX_BUFFER_BYTES);
  /** CHECKING: what the netif's Acd tells us about the acknowledged address (RFC 5227 §2.1.1). */
  private readonly probeEvents: ProbeEvents = {
    probeSent: (sent) => {
      this.stats.probesSent++;
      if (!sent) this.stats.txErrors++;
    },
    free: () => {
      if (this.stateCode === DhcpState.CHECKING && this.pending !== null) this.enterBound(this.pending);
    },
    conflict: (now) => {
      if (this.stateCode === DhcpState.CHECKING && this.pending !== null) this.onConflict(this.pending, now);
    },
  };
  /** Option 61 (RFC 2132 §9.14): hardware type 1 and the MAC. */
  private readonly clientId: Uint8Array;
  private readonly hostnameBytes: Uint8Array;

  /** @param random the stack's entropy (`Stack.random`), for xids and the randomized delays. */
  constructor(
    private readonly udp: UdpLayer,
    private readonly netif: Netif,
    private readonly scheduler: Scheduler,
    private readonly random: Random,
    options: Partial<DhcpClientOptions> = {},
  ) {
    const base = options.baseRetransmitMs ?? DEFAULT_BASE_RETRANSMIT_MS;
    this.options = {
      ...DEFAULTS,
      maxRetransmitMs: base * 16,
      retransmitJitterMs: base / 4,
      ...options,
    };
    this.clientId = new Uint8Array(7);
    this.clientId[0] = HTYPE_ETHERNET;
    this.clientId.set(netif.mac.subarray(0, 6), 1);
    // RFC 2132 §3.14: at least one byte; we keep to 63 ASCII bytes (one DNS label).
    this.hostnameBytes = new TextEncoder().encode(this.options.hostname.slice(0, 63));
  }

  addListener(listener: DhcpListener): void {
    this.listeners.push(listener);
  }

  removeListener(listener: DhcpListener): void {
    const i = this.listeners.indexOf(listener);
    if (i >= 0) this.listeners.splice(i, 1);
  }

  /** The RFC 2131 state name (plus STOPPED and CHECKING, see DhcpState). */
  get state(): string {
    return DHCP_STATE_NAMES[this.stateCode];
  }

  get stateId(): DhcpStateCode {
    return this.stateCode;
  }

  /** The lease in use (BOUND, RENEWING, REBINDING), else null. */
  get lease(): DhcpLease | null {
    return this.current;
  }

  /**
   * Opens port 68 and starts discovery (RFC 2131 §4.4.1), or with `previousAddress` asks for that address
   * back first (INIT-REBOOT, §4.4.2). Throws if port 68 is taken (a set-up bug).
   */
  start(): void {
    if (this.stateCode !== DhcpState.STOPPED) return;
    const pcb = this.udp.open({ maxQueuedDatagrams: 8, maxQueuedBytes: 16 * 1024 });
    // We send from 0.0.0.0 to 255.255.255.255 while unconfigured: SO_BROADCAST (RFC 2131 §4.1).
    pcb.broadcast = true;
    const err = this.udp.bind(pcb, 0, DHCP_CLIENT_PORT);
    if (err !== Err.OK) {
      this.udp.close(pcb);
      throw new Error(`dhcp: cannot bind UDP port ${DHCP_CLIENT_PORT} (error ${err})`);
    }
    pcb.events = { readable: (p) => this.drain(p) };
    this.pcb = pcb;
    const now = this.scheduler.now();
    if (isUsableHostAddress(this.options.previousAddress)) this.startReboot(now);
    else this.startDiscovery(now);
  }

  /**
   * Gives the lease back with a DHCPRELEASE (RFC 2131 §4.4.6) if one is held, removes the address, cancels
   * every timer and closes the PCB. Idempotent. `release: false` keeps the lease on the server's books, as a
   * device that is switched off does, so the next start can ask for it back by INIT-REBOOT.
   */
  stop(options: { release?: boolean } = {}): void {
    if (this.stateCode === DhcpState.STOPPED) return;
    if (this.current !== null) {
      if (options.release !== false) this.sendRelease(this.current);
      this.netif.setAddress(0, 0, 0);
      this.current = null;
    }
    this.pending = null;
    this.stopProbeWatch();
    this.scheduler.cancel(this.step);
    this.scheduler.cancel(this.leaseTimer);
    if (this.pcb !== null) this.udp.close(this.pcb);
    this.pcb = null;
    this.stateCode = DhcpState.STOPPED;
  }

  /**
   * Renews now instead of at T1 (BOUND or RENEWING: a unicast REQUEST to the server; REBINDING: a broadcast
   * one). Without a lease it restarts discovery at once, skipping any back-off.
   */
  renew(): void {
    const now = this.scheduler.now();
    switch (this.stateCode) {
      case DhcpState.BOUND:
      case DhcpState.RENEWING:
        this.enterRenewing(now);
        return;
      case DhcpState.REBINDING:
        this.enterRebinding(now);
        return;
      case DhcpState.INIT:
      case DhcpState.SELECTING:
        this.startDiscovery(now);
        return;
      default:
        // REQUESTING, REBOOTING and CHECKING finish on their own; STOPPED needs start().
        return;
    }
  }

  // ---- input ----

  private drain(pcb: UdpPcb): void {
    while (!pcb.queue.isEmpty) {
      const srcPort = pcb.queue.nextSrcPort;
      const n = this.udp.receive(pcb, this.rxBuf, 0, this.rxBuf.length);
      if (n < 0) return;
      // Servers and relay agents always send from port 67 (RFC 2131 §4.1).
      if (srcPort !== DHCP_SERVER_PORT) {
        this.stats.rxIgnored++;
        continue;
      }
      this.input(this.rxBuf, n);
    }
  }

  /** One received message (the UDP payload); never throws, every drop counted. */
  private input(bytes: Uint8Array, length: number): void {
    const stats = this.stats;
    stats.rxMessages++;
    const m = this.view.point(bytes, 0, length);
    const reason = m.parseOptions(this.parsed);
    if (reason !== DhcpCheck.OK) {
      stats[DHCP_CHECK_NAMES[reason] as Exclude<(typeof DHCP_CHECK_NAMES)[number], "ok">]++;
      return;
    }
    // RFC 2131 §4.4: a reply is ours if it is a BOOTREPLY with our xid and our hardware address.
    if (m.op !== BootpOp.REPLY || m.htype !== HTYPE_ETHERNET || m.hlen !== 6 || m.xid !== this.xid || !m.chaddrIs(this.netif.mac)) {
      stats.rxIgnored++;
      return;
    }
    const o = this.parsed;
    const now = this.scheduler.now();
    switch (o.messageType) {
      case DhcpMessageType.OFFER:
        stats.rxOffers++;
        // RFC 2131 §4.4.1: we take the first acceptable offer; later ones are ignored.
        if (this.stateCode === DhcpState.SELECTING) this.onOffer(m, o, now);
        else stats.rxIgnored++;
        return;
      case DhcpMessageType.ACK:
        stats.rxAcks++;
        if (this.isRequesting()) this.onAck(m, o, now);
        else stats.rxIgnored++;
        return;
      case DhcpMessageType.NAK:
        stats.rxNaks++;
        if (this.isRequesting()) this.onNak(o, now);
        else stats.rxIgnored++;
        return;
      default:
        stats.rxIgnored++;
    }
  }

  /** States with a REQUEST outstanding, where an ACK or NAK is expected. */
  private isRequesting(): boolean {
    const s = this.stateCode;
    return s === DhcpState.REQUESTING || s === DhcpState.REBOOTING || s === DhcpState.RENEWING || s === DhcpState.REBINDING;
  }

  /** SELECTING → REQUESTING (RFC 2131 §4.4.1): broadcast a REQUEST naming the server and the address. */
  private onOffer(m: DhcpView, o: DhcpOptionsRepr, now: number): void {
    if (!isUsableHostAddress(m.yiaddr)) {
      this.stats.dropBadAddress++;
      return;
    }
    if (o.serverId === 0) {
      this.stats.dropNoServerId++;
      return;
    }
    this.stateCode = DhcpState.REQUESTING;
    this.offeredIp = m.yiaddr;
    this.offerServerId = o.serverId;
    this.transmissions = 0;
    this.requestSentAtMs = now;
    this.sendRequest(now);
  }

  private onAck(m: DhcpView, o: DhcpOptionsRepr, now: number): void {
    // RFC 2131 §4.4.1: in REQUESTING only the selected server's answer counts.
    if (this.stateCode === DhcpState.REQUESTING && o.serverId !== 0 && o.serverId !== this.offerServerId) {
      this.stats.rxIgnored++;
      return;
    }
    if (!isUsableHostAddress(m.yiaddr)) {
      this.stats.dropBadAddress++;
      return;
    }
    if (o.leaseSeconds < 0) {
      this.stats.dropNoLeaseTime++;
      return;
    }
    const isReboot = this.stateCode === DhcpState.REBOOTING;
    if (isReboot && o.serverId === 0) {
      // RFC 2131 Table 3: option 54 is a MUST in an ACK; in REBOOTING nothing else tells us whom to renew
      // with and release to.
      this.stats.dropNoServerId++;
      return;
    }
    if (isReboot) this.stats.rebootAcks++;
    const serverId = o.serverId !== 0 ? o.serverId : this.stateCode === DhcpState.REQUESTING ? this.offerServerId : (this.current?.serverId ?? 0);
    const lease = makeLease(m.yiaddr, o, serverId, this.requestSentAtMs);
    this.scheduler.cancel(this.step);
    const held = this.current;
    if (held !== null && held.ip === lease.ip) {
      // RFC 2131 §4.4.5: a renewal or rebinding ACK extends the lease; the address stays (netmask and
      // router may have changed).
      this.stats.renewals++;
      this.enterBound(lease);
      return;
    }
    if (held !== null) {
      // The server moved us to another address: the old one is gone now; the new one is checked first.
      this.dropAddress();
    }
    this.enterChecking(lease);
  }

  /**
   * RFC 2131 §3.1 step 5, §3.2 step 4, §4.4.5: a DHCPNAK sends the client back to INIT, giving up any address
   * (in REBOOTING: the remembered one is wrong here, e.g. the client moved to another subnet).
   */
  private onNak(o: DhcpOptionsRepr, now: number): void {
    if (this.stateCode === DhcpState.REQUESTING && o.serverId !== 0 && o.serverId !== this.offerServerId) {
      this.stats.rxIgnored++;
      return;
    }
    if (this.stateCode === DhcpState.REBOOTING) this.stats.rebootNaks++;
    if (this.current !== null) this.dropAddress();
    this.naks++;
    // The first NAK restarts at once; repeated ones back off like retransmissions, so a server that NAKs
    // everything cannot drive a DISCOVER/REQUEST loop at wire speed.
    const delay = this.naks <= 1 ? 0 : this.backoffMs(this.naks - 2);
    this.enterInit(now, delay);
  }

  // ---- states ----

  /** INIT, waiting `delayMs` (0: discovery starts now). */
  private enterInit(now: number, delayMs: number): void {
    this.stopProbeWatch();
    this.pending = null;
    this.scheduler.cancel(this.leaseTimer);
    if (delayMs <= 0) {
      this.startDiscovery(now);
      return;
    }
    this.stateCode = DhcpState.INIT;
    this.scheduler.set(this.step, now + delayMs);
  }

  /** INIT → SELECTING: a new xid and a broadcast DISCOVER (RFC 2131 §4.4.1). */
  private startDiscovery(now: number): void {
    this.stateCode = DhcpState.SELECTING;
    this.xid = this.newXid();
    this.exchangeStartMs = now;
    this.transmissions = 0;
    this.sendDiscover(now);
  }

  /**
   * INIT-REBOOT → REBOOTING (RFC 2131 §4.4.2): a new xid, the lease's start recorded, and a broadcast REQUEST
   * for the remembered address.
   */
  private startReboot(now: number): void {
    this.stateCode = DhcpState.REBOOTING;
    this.stats.rebootAttempts++;
    this.xid = this.newXid();
    this.exchangeStartMs = now;
    this.requestSentAtMs = now;
    this.transmissions = 0;
    this.sendRequest(now);
  }

  /** The acknowledged address is probed before use (RFC 2131 §4.4.1 "SHOULD ... ARP", RFC 5227 §2.1). */
  private enterChecking(lease: DhcpLease): void {
    this.pending = lease;
    if (this.options.probeCount <= 0) {
      this.enterBound(lease);
      return;
    }
    this.stateCode = DhcpState.CHECKING;
    this.netif.acd.probe(lease.ip, this.probeEvents, this.options);
  }

  private enterBound(lease: DhcpLease): void {
    this.stopProbeWatch();
    this.pending = null;
    this.scheduler.cancel(this.step);
    const isNew = this.current === null;
    this.current = lease;
    this.stateCode = DhcpState.BOUND;
    this.conflicts = 0;
    this.naks = 0;
    // A new address is announced by the netif (RFC 5227 §2.3); the same address only gets its mask and router.
    this.netif.setAddress(lease.ip, lease.netmask, lease.gateway);
    if (isNew) this.stats.leasesBound++;
    if (lease.leaseSeconds === INFINITE_LEASE) {
      this.t1AtMs = this.t2AtMs = this.expiresAtMs = Infinity;
    } else {
      this.t1AtMs = lease.obtainedAtMs + lease.renewalSeconds * 1000;
      this.t2AtMs = lease.obtainedAtMs + lease.rebindingSeconds * 1000;
      this.expiresAtMs = lease.obtainedAtMs + lease.leaseSeconds * 1000;
    }
    this.armLeaseTimer();
    for (const listener of this.listeners.slice()) listener.bound?.(lease);
  }

  /** RFC 2131 §4.4.5: at T1, a REQUEST unicast to the server that gave the lease. */
  private enterRenewing(now: number): void {
    this.stateCode = DhcpState.RENEWING;
    this.beginRenewalExchange(now);
  }

  /** RFC 2131 §4.4.5: at T2, a broadcast REQUEST any server may answer. */
  private enterRebinding(now: number): void {
    this.stateCode = DhcpState.REBINDING;
    this.beginRenewalExchange(now);
  }

  private beginRenewalExchange(now: number): void {
    this.xid = this.newXid();
    this.exchangeStartMs = now;
    this.requestSentAtMs = now;
    this.transmissions = 0;
    this.sendRequest(now);
    this.armLeaseTimer();
  }

  /** Lease lost (expiry, NAK, or a different address): the address goes, the application is told. */
  private dropAddress(): void {
    this.current = null;
    this.netif.setAddress(0, 0, 0);
    this.stats.leasesLost++;
    for (const listener of this.listeners.slice()) listener.lost?.();
  }

  // ---- timers ----

  private onStep(now: number): void {
    const o = this.options;
    switch (this.stateCode) {
      case DhcpState.INIT:
        // The back-off after a DECLINE or NAK is over.
        this.startDiscovery(now);
        return;
      case DhcpState.SELECTING:
        // RFC 2131 §4.1: no offer yet; the DISCOVER goes again, same xid, `secs` growing.
        this.stats.retransmissions++;
        this.sendDiscover(now);
        return;
      case DhcpState.REQUESTING:
        if (this.transmissions >= o.maxRequestTransmissions) {
          // RFC 2131 §3.1 step 5: neither ACK nor NAK after retransmitting: back to INIT.
          this.startDiscovery(now);
          return;
        }
        this.stats.retransmissions++;
        this.sendRequest(now);
        return;
      case DhcpState.REBOOTING:
        if (this.transmissions >= o.maxRebootTransmissions) {
          // RFC 2131 §3.2 step 2 lets the client keep using the address for the rest of its lease when no
          // server answers; like lwIP (dhcp_timeout: dhcp_discover after REBOOT_TRIES) and ISC dhclient
          // (state_init after reboot_timeout) we do not, and discover instead: an unconfirmed address may
          // belong to someone else by now.
          this.stats.rebootTimeouts++;
          this.startDiscovery(now);
          return;
        }
        this.stats.retransmissions++;
        this.sendRequest(now);
        return;
      case DhcpState.RENEWING:
      case DhcpState.REBINDING:
        this.stats.retransmissions++;
        this.sendRequest(now);
        return;
      default:
        return;
    }
  }

  private onLeaseTimer(now: number): void {
    if (this.current === null) return;
    if (now >= this.expiresAtMs) {
      // RFC 2131 §4.4.5: the lease ran out without an ACK: stop using the address, back to INIT.
      this.stats.leasesExpired++;
      this.scheduler.cancel(this.step);
      this.dropAddress();
      this.startDiscovery(now);
      return;
    }
    if (now >= this.t2AtMs && (this.stateCode === DhcpState.BOUND || this.stateCode === DhcpState.RENEWING)) {
      this.enterRebinding(now);
      return;
    }
    if (now >= this.t1AtMs && this.stateCode === DhcpState.BOUND) {
      this.enterRenewing(now);
      return;
    }
    this.armLeaseTimer();
  }

  /** The next lease event for the state: T1 when BOUND, T2 when RENEWING, expiry when REBINDING. */
  private armLeaseTimer(): void {
    const at =
      this.stateCode === DhcpState.BOUND ? this.t1AtMs : this.stateCode === DhcpState.RENEWING ? this.t2AtMs : this.expiresAtMs;
    if (at === Infinity) this.scheduler.cancel(this.leaseTimer);
    else this.scheduler.set(this.leaseTimer, at);
  }

  /** Arms the retransmission of the message just sent. */
  private armRetransmit(now: number): void {
    const s = this.stateCode;
    if (s === DhcpState.RENEWING || s === DhcpState.REBINDING) {
      // RFC 2131 §4.4.5: half the time left until T2 (RENEWING) or expiry (REBINDING), at least 60 s; none
      // when that reaches the next lease event, whose timer takes over.
      const until = s === DhcpState.RENEWING ? this.t2AtMs : this.expiresAtMs;
      const at = now + Math.max((until - now) / 2, this.options.minRenewRetransmitMs);
      if (at < until) this.scheduler.set(this.step, at);
      else this.scheduler.cancel(this.step);
      return;
    }
    this.scheduler.set(this.step, now + this.backoffMs(this.transmissions - 1));
  }

  /** RFC 2131 §4.1: base × 2^attempt, capped, randomized by ± jitter. */
  backoffMs(attempt: number): number {
    const o = this.options;
    const nominal = Math.min(o.baseRetransmitMs * 2 ** Math.max(0, attempt), o.maxRetransmitMs);
    return Math.max(0, nominal + this.uniform(-o.retransmitJitterMs, o.retransmitJitterMs));
  }

  // ---- RFC 5227 conflicts ----

  /** RFC 2131 §3.1 step 5: DHCPDECLINE, then INIT after at least 10 s (60 s after MAX_CONFLICTS, RFC 5227 §2.1.1). */
  private onConflict(lease: DhcpLease, now: number): void {
    this.stats.probeConflicts++;
    this.conflicts++;
    this.stopProbeWatch();
    this.scheduler.cancel(this.step);
    this.sendDecline(lease);
    const o = this.options;
    this.enterInit(now, this.conflicts >= o.maxConflicts ? o.rateLimitIntervalMs : o.declineWaitMs);
  }

  private stopProbeWatch(): void {
    this.netif.acd.cancelProbe(this.probeEvents);
  }

  // ---- output ----

  private secsSince(now: number): number {
    return (now - this.exchangeStartMs) / 1000;
  }

  /** RFC 2131 Table 5, DHCPDISCOVER: ciaddr 0, broadcast flag (we cannot take unicast before we have an address). */
  private sendDiscover(now: number): void {
    this.discoverSecs = this.secsSince(now);
    const w = this.begin(DhcpMessageType.DISCOVER, this.discoverSecs, BOOTP_FLAG_BROADCAST, 0);
    this.identify(w);
    this.transmissions++;
    this.stats.txDiscover++;
    this.send(w.finish(), IPV4_BROADCAST);
    this.armRetransmit(now);
  }

  /**
   * RFC 2131 §4.3.2 / Table 5, DHCPREQUEST. REQUESTING: broadcast, ciaddr 0, options 50 and 54, the `secs`
   * of the DISCOVER. INIT-REBOOT/REBOOTING: broadcast, ciaddr 0, option 50 only (54 MUST NOT, §4.4.2).
   * RENEWING: unicast to the server; REBINDING: broadcast; both with ciaddr and without 50/54.
   */
  private sendRequest(now: number): void {
    const s = this.stateCode;
    const lease = this.current;
    let w: DhcpWriter;
    let dst: number;
    if (s === DhcpState.REBOOTING) {
      w = this.begin(DhcpMessageType.REQUEST, this.secsSince(now), BOOTP_FLAG_BROADCAST, 0);
      w.u32(DhcpOpt.REQUESTED_IP, this.options.previousAddress);
      dst = IPV4_BROADCAST;
    } else if (s === DhcpState.REQUESTING || lease === null) {
      w = this.begin(DhcpMessageType.REQUEST, this.discoverSecs, BOOTP_FLAG_BROADCAST, 0);
      w.u32(DhcpOpt.REQUESTED_IP, this.offeredIp).u32(DhcpOpt.SERVER_ID, this.offerServerId);
      dst = IPV4_BROADCAST;
    } else {
      w = this.begin(DhcpMessageType.REQUEST, this.secsSince(now), 0, lease.ip);
      dst = s === DhcpState.RENEWING ? lease.serverId : IPV4_BROADCAST;
    }
    this.identify(w);
    this.transmissions++;
    this.stats.txRequest++;
    this.send(w.finish(), dst);
    this.armRetransmit(now);
  }

  /** RFC 2131 Table 5, DHCPDECLINE: options 50 and 54 only, broadcast (RFC 2131 §4.4.4), new xid, secs 0. */
  private sendDecline(lease: DhcpLease): void {
    this.xid = this.newXid();
    const w = this.begin(DhcpMessageType.DECLINE, 0, 0, 0);
    w.u32(DhcpOpt.REQUESTED_IP, lease.ip).u32(DhcpOpt.SERVER_ID, lease.serverId);
    this.stats.txDecline++;
    this.send(w.finish(), IPV4_BROADCAST);
  }

  /**
   * RFC 2131 Table 5, DHCPRELEASE: ciaddr, option 54, unicast to the server (§4.4.4), new xid, secs 0. A
   * stopping board cannot wait for ARP, so when the next hop's MAC is not cached the release goes out as a
   * broadcast instead (servers match it by chaddr/client id and server id; dnsmasq does, tested).
   */
  private sendRelease(lease: DhcpLease): void {
    this.xid = this.newXid();
    const w = this.begin(DhcpMessageType.RELEASE, 0, 0, lease.ip);
    w.u32(DhcpOpt.SERVER_ID, lease.serverId);
    const len = w.finish();
    const netif = this.netif;
    // The same choice IpLayer.nextHop makes: on-link servers directly, others through the gateway.
    const nextHop = netif.isOnLink(lease.serverId) ? lease.serverId : netif.gateway;
    const isResolved = nextHop !== 0 && netif.neighbors.lookup(nextHop, this.scheduler.now()) !== null;
    this.stats.txRelease++;
    this.send(len, isResolved ? lease.serverId : IPV4_BROADCAST);
  }

  /** Fixed header with our chaddr and a fresh option area, starting with option 53 (and 61). */
  private begin(type: number, secs: number, flags: number, ciaddr: number): DhcpWriter {
    const w = this.writer.begin(this.txBuf, this.txView, 0, {
      op: BootpOp.REQUEST,
      xid: this.xid,
      secs,
      flags,
      ciaddr,
      yiaddr: 0,
      siaddr: 0,
      giaddr: 0,
      chaddr: this.netif.mac,
    });
    w.u8(DhcpOpt.MESSAGE_TYPE, type).bytes(DhcpOpt.CLIENT_ID, this.clientId);
    return w;
  }

  /** Options 12 and 55, sent with DISCOVER and REQUEST (RFC 2131 Table 5: MAY and MAY). */
  private identify(w: DhcpWriter): void {
    if (this.hostnameBytes.length > 0) w.bytes(DhcpOpt.HOSTNAME, this.hostnameBytes);
    w.bytes(DhcpOpt.PARAMETER_LIST, PARAMETER_REQUEST_LIST);
  }

  private send(length: number, dst: number): void {
    const pcb = this.pcb;
    if (pcb === null) return;
    const err = this.udp.sendTo(pcb, this.txBuf, 0, length, dst, DHCP_SERVER_PORT);
    if (err !== Err.OK) this.stats.txErrors++;
  }

  private newXid(): number {
    return this.random.nextU32();
  }

  private uniform(lo: number, hi: number): number {
    return lo + this.random.next() * (hi - lo);
  }
}

/** Builds the lease from an ACK: defaults for T1/T2 (RFC 2131 §4.4.5) and the mask (RFC 2132 §3.3). */
function makeLease(ip: number, o: DhcpOptionsRepr, serverId: number, obtainedAtMs: number): DhcpLease {
  const leaseSeconds = o.leaseSeconds;
  // RFC 2131 §4.4.5: T1 defaults to 0.5 and T2 to 0.875 of the lease; values that break T1 ≤ T2 ≤ lease
  // are replaced by the defaults.
  const rebindingSeconds = o.rebindingSeconds >= 0 && o.rebindingSeconds <= leaseSeconds ? o.rebindingSeconds : leaseSeconds * 0.875;
  let renewalSeconds = o.renewalSeconds >= 0 && o.renewalSeconds <= rebindingSeconds ? o.renewalSeconds : leaseSeconds * 0.5;
  if (renewalSeconds > rebindingSeconds) renewalSeconds = rebindingSeconds;
  return {
    ip,
    netmask: o.hasSubnetMask ? o.subnetMask : naturalMask(ip),
    gateway: o.routers[0] ?? 0,
    dnsServers: o.dnsServers.slice(),
    leaseSeconds,
    renewalSeconds,
    rebindingSeconds,
    serverId,
    obtainedAtMs,
  };
}

/** Without option 1 the classful mask of the address applies (RFC 791 §3.2 classes A, B, C). */
export function naturalMask(ip: number): number {
  const top = ip >>> 24;
  if (top < 128) return 0xff000000;
  if (top < 192) return 0xffff0000;
  return 0xffffff00;
}

/** An address a host may hold: not 0.0.0.0, loopback, multicast, class E or broadcast. */
function isUsableHostAddress(ip: number): boolean {
  const top = ip >>> 24;
  return ip !== 0 && top !== 0 && top !== 127 && !isMulticastIpv4(ip) && top < 240;
}

