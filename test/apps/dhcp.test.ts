// The DHCP client state machine (src/apps/dhcp.ts, RFC 2131 §4.4, RFC 5227 §2.1) on the simulated clock: a
// client stack with no address and a server stack joined by a MemLink, where a tiny DHCP server written here
// answers on port 67. Covers the full handshake with the ARP probe, a conflict → DECLINE, NAK → restart,
// renewal at T1 (unicast) and rebinding at T2 (broadcast), expiry, retransmission back-off timings, the
// release on stop, and INIT-REBOOT with a remembered address (ACK, NAK, silence). After each test both stacks are
// stopped and nothing may stay armed.

import { afterEach, describe, expect, it } from "vitest";
import { SimClock } from "../../src/core/clock.js";
import { Scheduler } from "../../src/core/scheduler.js";
import { memLinkPair, type MemDevice } from "../../src/link/memlink.js";
import { DeviceWrapper } from "../../src/link/device.js";
import { Stack } from "../../src/stack/stack.js";
import { IPV4_BROADCAST, parseIpv4, parseMac } from "../../src/core/addr.js";
import { ETH, EtherType, writeEthernetHeader } from "../../src/eth/ethernet.js";
import { ARP, ArpOp, writeArp } from "../../src/eth/arp.js";
import type { UdpPcb } from "../../src/udp/udp.js";
import { DhcpClient, type DhcpClientOptions, type DhcpLease } from "../../src/apps/dhcp.js";
import {
  BOOTP_FLAG_BROADCAST,
  BootpOp,
  DhcpCheck,
  DhcpMessageType,
  DhcpOpt,
  DhcpOptionsRepr,
  DhcpView,
  DhcpWriter,
} from "../../src/apps/dhcpMessage.js";

const CLIENT_MAC = parseMac("02:00:00:00:00:01");
const SERVER_MAC = parseMac("02:00:00:00:00:02");
const OTHER_MAC = parseMac("02:00:00:00:00:03");
const SERVER_IP = parseIpv4("10.0.0.1");
const POOL_IP = parseIpv4("10.0.0.50");
const DNS_IP = parseIpv4("10.0.0.53");
const MASK = 0xffffff00;

/** One message the server received, decoded. */
interface Seen {
  atMs: number;
  type: number;
  xid: number;
  secs: number;
  flags: number;
  ciaddr: number;
  /** The IP destination it was sent to (broadcast or the server's address). */
  dst: number;
  src: number;
  requestedIp: number;
  serverId: number;
  hasHostname: boolean;
  hasParameterList: boolean;
}

type Answer = "offer" | "ack" | "nak" | "silent";

/**
 * A tiny DHCP server on port 67 of the server stack: answers DISCOVER with an OFFER of `offerIp` and REQUEST
 * with ACK, unless `answer` says otherwise. Replies are broadcast while the client has no address (ciaddr 0),
 * unicast to ciaddr otherwise (RFC 2131 §4.1).
 */
class FakeServer {
  readonly seen: Seen[] = [];
  offerIp = POOL_IP;
  /** When set, ACKs hand out this address whatever was asked for. */
  ackIp: number | null = null;
  leaseSeconds = 120;
  /** Option 1 in OFFER and ACK. */
  mask = MASK;
  /** T1/T2 options sent, or -1 to leave them out. */
  t1Seconds = -1;
  t2Seconds = -1;
  /** Decides the answer per received message; by default OFFER for DISCOVER, ACK for REQUEST. */
  answer: (m: Seen) => Answer = (m) => (m.type === DhcpMessageType.DISCOVER ? "offer" : m.type === DhcpMessageType.REQUEST ? "ack" : "silent");
  private readonly pcb: UdpPcb;
  private readonly rx = new Uint8Array(2048);
  private readonly tx = new Uint8Array(600);
  private readonly view = new DhcpView();
  private readonly opts = new DhcpOptionsRepr();

  constructor(
    private readonly stack: Stack,
    private readonly scheduler: Scheduler,
  ) {
    const udp = stack.udp;
    this.pcb = udp.open({ maxQueuedDatagrams: 64, maxQueuedBytes: 64 * 1024 });
    this.pcb.broadcast = true;
    expect(udp.bind(this.pcb, 0, 67)).toBe(0);
    this.pcb.events = { readable: (p) => this.drain(p) };
  }

  ofType(type: number): Seen[] {
    return this.seen.filter((s) => s.type === type);
  }

  private drain(pcb: UdpPcb): void {
    while (!pcb.queue.isEmpty) {
      const src = pcb.queue.nextSrcIp;
      const dst = pcb.queue.nextDstIp;
      const n = this.stack.udp.receive(pcb, this.rx, 0, this.rx.length);
      const v = this.view.point(this.rx, 0, n);
      expect(v.parseOptions(this.opts)).toBe(DhcpCheck.OK);
      expect(v.op).toBe(BootpOp.REQUEST);
      expect(v.chaddrIs(CLIENT_MAC)).toBe(true);
      const o = this.opts;
      const m: Seen = {
        atMs: this.scheduler.now(),
        type: o.messageType,
        xid: v.xid,
        secs: v.secs,
        flags: v.flags,
        ciaddr: v.ciaddr,
        dst,
        src,
        requestedIp: o.requestedIp,
        serverId: o.serverId,
        hasHostname: hasOption(this.rx, n, DhcpOpt.HOSTNAME),
        hasParameterList: hasOption(this.rx, n, DhcpOpt.PARAMETER_LIST),
      };
      this.seen.push(m);
      const a = this.answer(m);
      if (a === "silent") continue;
      const type = a === "offer" ? DhcpMessageType.OFFER : a === "ack" ? DhcpMessageType.ACK : DhcpMessageType.NAK;
      this.reply(m, type);
    }
  }

  /** Sends a reply built from scratch (broadcast), for replies the client must ignore or races. */
  sendReply(type: number, xid: number, chaddr: Uint8Array, yiaddr = this.offerIp): void {
    const w = new DhcpWriter().begin(this.tx, new DataView(this.tx.buffer), 0, {
      op: BootpOp.REPLY,
      xid,
      secs: 0,
      flags: 0,
      ciaddr: 0,
      yiaddr,
      siaddr: 0,
      giaddr: 0,
      chaddr,
    });
    w.u8(DhcpOpt.MESSAGE_TYPE, type).u32(DhcpOpt.SERVER_ID, SERVER_IP).u32(DhcpOpt.LEASE_TIME, this.leaseSeconds);
    expect(this.stack.udp.sendTo(this.pcb, this.tx, 0, w.finish(), IPV4_BROADCAST, 68)).toBe(0);
  }

  /** Sends raw bytes from port 67 to the broadcast address. */
  sendRaw(bytes: Uint8Array, length: number): void {
    expect(this.stack.udp.sendTo(this.pcb, bytes, 0, length, IPV4_BROADCAST, 68)).toBe(0);
  }

  private reply(m: Seen, type: number): void {
    const asked = m.ciaddr !== 0 ? m.ciaddr : m.requestedIp !== 0 ? m.requestedIp : this.offerIp;
    const yiaddr = type === DhcpMessageType.NAK ? 0 : type === DhcpMessageType.ACK ? (this.ackIp ?? asked) : asked;
    const w = new DhcpWriter().begin(this.tx, new DataView(this.tx.buffer), 0, {
      op: BootpOp.REPLY,
      xid: m.xid,
      secs: 0,
      flags: m.flags,
      ciaddr: m.ciaddr,
      yiaddr,
      siaddr: 0,
      giaddr: 0,
      chaddr: CLIENT_MAC,
    });
    w.u8(DhcpOpt.MESSAGE_TYPE, type).u32(DhcpOpt.SERVER_ID, SERVER_IP);
    if (type !== DhcpMessageType.NAK) {
      w.u32(DhcpOpt.LEASE_TIME, this.leaseSeconds);
      if (this.t1Seconds >= 0) w.u32(DhcpOpt.RENEWAL_TIME, this.t1Seconds);
      if (this.t2Seconds >= 0) w.u32(DhcpOpt.REBINDING_TIME, this.t2Seconds);
      w.u32(DhcpOpt.SUBNET_MASK, this.mask).addresses(DhcpOpt.ROUTER, [SERVER_IP]).addresses(DhcpOpt.DNS, [DNS_IP, SERVER_IP]);
    }
    const len = w.finish();
    // RFC 2131 §4.1: broadcast to a client without an address, unicast to ciaddr otherwise.
    const dst = m.ciaddr !== 0 ? m.ciaddr : IPV4_BROADCAST;
    expect(this.stack.udp.sendTo(this.pcb, this.tx, 0, len, dst, 68)).toBe(0);
  }
}

/** Whether option `code` appears in the options field (a scan independent of the parser). */
function hasOption(b: Uint8Array, length: number, code: number): boolean {
  let i = 240;
  while (i < length) {
    const c = b[i] ?? 255;
    if (c === 255) return false;
    if (c === 0) {
      i++;
      continue;
    }
    if (c === code) return true;
    i += 2 + (b[i + 1] ?? 0);
  }
  return false;
}

interface Fixture {
  scheduler: Scheduler;
  client: Stack;
  server: Stack;
  serverDev: MemDevice;
  dhcp: DhcpClient;
  fake: FakeServer;
  bound: DhcpLease[];
  lost: number[];
  /** ARP probes (sender 0.0.0.0) seen on the server side: [time, target]. */
  probes: [number, number][];
}

let current: Fixture | null = null;

afterEach(() => {
  const f = current;
  current = null;
  if (f === null) return;
  f.dhcp.stop();
  f.client.stop();
  f.server.stop();
  // Quiescence (docs/architecture.md "Tests"): nothing of either stack or the client stays armed.
  expect(f.scheduler.armedLabels()).toEqual([]);
  expect(f.client.udp.allPcbs()).toEqual([]);
});

/** The server's device, noting every ARP probe (sender 0.0.0.0, RFC 5227 §2.1.1) it receives: [time, target]. */
class ProbeRecorder extends DeviceWrapper {
  constructor(
    inner: MemDevice,
    private readonly scheduler: Scheduler,
    readonly probes: [number, number][] = [],
  ) {
    super(inner);
  }

  override frame(bytes: Uint8Array, offset: number, length: number): void {
    const v = new DataView(bytes.buffer, bytes.byteOffset + offset, length);
    const isArp = length >= ETH.headerLength + ARP.length && v.getUint16(12) === EtherType.ARP;
    // ARP sender protocol address at 14 + 14, target at 14 + 24.
    if (isArp && v.getUint32(28) === 0) this.probes.push([this.scheduler.now(), v.getUint32(38)]);
    super.frame(bytes, offset, length);
  }
}

const FAST_PROBE: Partial<DhcpClientOptions> = { probeWaitMs: 100, probeMinMs: 100, probeMaxMs: 200, announceWaitMs: 200 };

function setup(options: Partial<DhcpClientOptions> = {}): Fixture {
  const scheduler = new Scheduler(new SimClock(10_000));
  const [clientDev, serverDev] = memLinkPair(scheduler, { latencyMs: 1, mtu: 1500 });
  // Seeded: xids, back-off jitter and the probe delays (the client netif's Acd) replay exactly.
  const client = new Stack(clientDev, { mac: CLIENT_MAC, ip: 0, netmask: 0, gateway: 0, mtu: 1500, random: 42 }, scheduler);
  const recorder = new ProbeRecorder(serverDev, scheduler);
  const server = new Stack(recorder, { mac: SERVER_MAC, ip: SERVER_IP, netmask: MASK, gateway: 0, mtu: 1500, random: 43 }, scheduler);
  client.start();
  server.start();
  const dhcp = new DhcpClient(client.udp, client.netif, scheduler, client.random, options);
  const fake = new FakeServer(server, scheduler);
  const f: Fixture = { scheduler, client, server, serverDev, dhcp, fake, bound: [], lost: [], probes: recorder.probes };
  dhcp.addListener({ bound: (l) => f.bound.push(l), lost: () => f.lost.push(scheduler.now()) });
  current = f;
  return f;
}

/** Runs the handshake to BOUND; returns the time it took. */
function bind(f: Fixture, limitMs = 30_000): number {
  const start = f.scheduler.now();
  f.dhcp.start();
  expect(f.scheduler.advanceUntil(() => f.dhcp.state === "BOUND", limitMs)).toBe(true);
  return f.scheduler.now() - start;
}

/** A raw ARP packet from the server's side of the wire (another host on the link). */
function injectArp(f: Fixture, op: number, senderMac: Uint8Array, senderIp: number, targetIp: number): void {
  const frame = new Uint8Array(ETH.headerLength + ARP.length);
  writeEthernetHeader(frame, 0, new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), senderMac, EtherType.ARP);
  writeArp(frame, new DataView(frame.buffer), ETH.headerLength, op, senderMac, senderIp, null, targetIp);
  expect(f.serverDev.transmit(frame, 0, frame.length)).toBe(true);
}

describe("DHCP client: the handshake (RFC 2131 §4.4.1)", () => {
  it("DISCOVER → OFFER → REQUEST → ACK → ARP probes → BOUND with mask, router, DNS", () => {
    const f = setup();
    expect(f.dhcp.state).toBe("STOPPED");
    const t0 = f.scheduler.now();
    f.dhcp.start();
    expect(f.dhcp.state).toBe("SELECTING");
    expect(f.scheduler.advanceUntil(() => f.dhcp.state === "BOUND", 30_000)).toBe(true);

    const [discover, request] = f.fake.seen;
    expect(f.fake.seen.map((s) => s.type)).toEqual([DhcpMessageType.DISCOVER, DhcpMessageType.REQUEST]);
    // Sent from 0.0.0.0 to 255.255.255.255 with the broadcast flag while unconfigured.
    for (const m of [discover!, request!]) {
      expect(m.src).toBe(0);
      expect(m.dst).toBe(IPV4_BROADCAST);
      expect(m.flags).toBe(BOOTP_FLAG_BROADCAST);
      expect(m.ciaddr).toBe(0);
      expect(m.hasHostname).toBe(true);
      expect(m.hasParameterList).toBe(true);
    }
    // The REQUEST answers the OFFER: same xid, the server and address named, the DISCOVER's secs.
    expect(request!.xid).toBe(discover!.xid);
    expect(request!.requestedIp).toBe(POOL_IP);
    expect(request!.serverId).toBe(SERVER_IP);
    expect(request!.secs).toBe(discover!.secs);

    // RFC 5227 §2.1.1: three probes for the address, sender 0.0.0.0, before it is used.
    expect(f.probes.map(([, target]) => target)).toEqual([POOL_IP, POOL_IP, POOL_IP]);
    // PROBE_MIN..PROBE_MAX (1..2 s) apart, the first within PROBE_WAIT (1 s) of the ACK.
    const gaps = f.probes.slice(1).map(([t], i) => t - f.probes[i]![0]);
    for (const g of gaps) {
      expect(g).toBeGreaterThanOrEqual(1000);
      expect(g).toBeLessThanOrEqual(2000);
    }
    expect(f.probes[0]![0] - request!.atMs).toBeLessThanOrEqual(1000 + 2);
    // With the RFC 5227 defaults: bound ANNOUNCE_WAIT (2 s) after the last probe.
    const lastProbe = f.probes.at(-1)![0];
    // (The probe is seen 1 ms after it is sent; advanceUntil steps whole milliseconds.)
    expect(f.scheduler.now() - lastProbe).toBeGreaterThanOrEqual(1999);
    expect(f.scheduler.now() - lastProbe).toBeLessThanOrEqual(2001);

    const lease = f.dhcp.lease!;
    expect(lease).toMatchObject({
      ip: POOL_IP,
      netmask: MASK,
      gateway: SERVER_IP,
      dnsServers: [DNS_IP, SERVER_IP],
      leaseSeconds: 120,
      renewalSeconds: 60,
      rebindingSeconds: 105,
      serverId: SERVER_IP,
    });
    expect(f.client.netif.ip).toBe(POOL_IP);
    expect(f.client.netif.netmask).toBe(MASK);
    expect(f.client.netif.gateway).toBe(SERVER_IP);
    expect(f.bound).toEqual([lease]);
    expect(f.dhcp.stats.leasesBound).toBe(1);
    expect(f.dhcp.stats.probesSent).toBe(3);
    // The lease counts from when the REQUEST went out (RFC 2131 §4.4.1), not from BOUND.
    expect(lease.obtainedAtMs).toBe(request!.atMs - 1);
    expect(lease.obtainedAtMs).toBeGreaterThanOrEqual(t0);
  });

  it("the bound address is in use: ARP for it is answered", () => {
    const f = setup(FAST_PROBE);
    bind(f);
    const before = f.client.netif.stats.arpTxReplies;
    injectArp(f, ArpOp.REQUEST, OTHER_MAC, parseIpv4("10.0.0.9"), POOL_IP);
    f.scheduler.advance(5);
    expect(f.client.netif.stats.arpTxReplies).toBe(before + 1);
  });

  it("sends our hostname and client id; the hostname is configurable and can be left out", () => {
    const f = setup({ ...FAST_PROBE, hostname: "" });
    bind(f);
    expect(f.fake.seen.every((m) => !m.hasHostname)).toBe(true);
  });

  it("uses the RFC 2131 §4.4.5 defaults T1 = 0.5 and T2 = 0.875 of the lease, or the server's T1/T2", () => {
    const f = setup(FAST_PROBE);
    f.fake.leaseSeconds = 1000;
    bind(f);
    expect(f.dhcp.lease).toMatchObject({ renewalSeconds: 500, rebindingSeconds: 875 });
    f.dhcp.stop();
    f.fake.t1Seconds = 100;
    f.fake.t2Seconds = 200;
    bind(f);
    expect(f.dhcp.lease).toMatchObject({ renewalSeconds: 100, rebindingSeconds: 200 });
    f.dhcp.stop();
    // T2 beyond the lease and T1 beyond T2 are replaced by the defaults.
    f.fake.t1Seconds = 900;
    f.fake.t2Seconds = 5000;
    bind(f);
    expect(f.dhcp.lease).toMatchObject({ renewalSeconds: 500, rebindingSeconds: 875 });
  });

  it("an infinite lease (0xffffffff) arms no lease timer", () => {
    const f = setup(FAST_PROBE);
    f.fake.leaseSeconds = 0xffffffff;
    bind(f);
    expect(f.scheduler.armedLabels().filter((l) => l.startsWith("dhcp"))).toEqual([]);
    f.scheduler.advance(10 * 86_400_000);
    expect(f.dhcp.state).toBe("BOUND");
    expect(f.fake.seen).toHaveLength(2);
  });

  it("keeps the xid across retransmissions and ignores replies with another xid or chaddr", () => {
    const f = setup(FAST_PROBE);
    let discovers = 0;
    f.fake.answer = (m) => (m.type === DhcpMessageType.DISCOVER ? (++discovers === 1 ? "silent" : "offer") : "ack");
    f.dhcp.start();
    f.scheduler.advance(10);
    const xid = f.fake.seen[0]!.xid;
    // Offers that are not ours: another xid, another client's chaddr.
    f.fake.sendReply(DhcpMessageType.OFFER, (xid + 1) >>> 0, CLIENT_MAC);
    f.fake.sendReply(DhcpMessageType.OFFER, xid, OTHER_MAC);
    f.scheduler.advance(10);
    expect(f.dhcp.state).toBe("SELECTING");
    expect(f.dhcp.stats.rxIgnored).toBe(2);
    expect(f.scheduler.advanceUntil(() => f.dhcp.state === "BOUND", 30_000)).toBe(true);
    // The retransmitted DISCOVER keeps the xid of the exchange (RFC 2131 §4.1).
    expect(f.fake.ofType(DhcpMessageType.DISCOVER).map((m) => m.xid)).toEqual([xid, xid]);
  });

  it("takes the first OFFER; a second one (another server) is ignored", () => {
    const f = setup(FAST_PROBE);
    f.fake.answer = (m) => {
      if (m.type === DhcpMessageType.DISCOVER) f.fake.sendReply(DhcpMessageType.OFFER, m.xid, CLIENT_MAC, parseIpv4("10.0.0.99"));
      return m.type === DhcpMessageType.DISCOVER ? "silent" : "ack";
    };
    f.fake.offerIp = POOL_IP;
    f.dhcp.start();
    f.scheduler.advance(3);
    // Now the "second server" offers after the first was taken.
    f.fake.sendReply(DhcpMessageType.OFFER, f.fake.seen[0]!.xid, CLIENT_MAC, POOL_IP);
    expect(f.scheduler.advanceUntil(() => f.dhcp.state === "BOUND", 30_000)).toBe(true);
    expect(f.dhcp.lease!.ip).toBe(parseIpv4("10.0.0.99"));
    expect(f.dhcp.stats.rxOffers).toBe(2);
  });
});

describe("DHCP client: RFC 5227 address conflict → DECLINE", () => {
  it("a host answering for the offered address → DECLINE, INIT, 10 s wait, then another address", () => {
    const f = setup(FAST_PROBE);
    // The first offer is the server's own address: its ARP layer answers our probe (as Linux does).
    f.fake.offerIp = SERVER_IP;
    f.dhcp.start();
    expect(f.scheduler.advanceUntil(() => f.fake.ofType(DhcpMessageType.DECLINE).length === 1, 10_000)).toBe(true);
    const decline = f.fake.ofType(DhcpMessageType.DECLINE)[0]!;
    // RFC 2131 Table 5 / §4.4.4: broadcast, ciaddr 0, the address in option 50, the server in 54.
    expect(decline).toMatchObject({ dst: IPV4_BROADCAST, ciaddr: 0, requestedIp: SERVER_IP, serverId: SERVER_IP, secs: 0 });
    expect(decline.hasParameterList).toBe(false);
    expect(decline.hasHostname).toBe(false);
    expect(f.dhcp.state).toBe("INIT");
    expect(f.dhcp.stats.probeConflicts).toBe(1);
    expect(f.client.netif.ip).toBe(0);
    expect(f.bound).toEqual([]);

    f.fake.offerIp = POOL_IP;
    // RFC 2131 §3.1 step 5: at least ten seconds before the next DISCOVER.
    const discoversBefore = f.fake.ofType(DhcpMessageType.DISCOVER).length;
    f.scheduler.advance(9_990);
    expect(f.fake.ofType(DhcpMessageType.DISCOVER)).toHaveLength(discoversBefore);
    expect(f.scheduler.advanceUntil(() => f.dhcp.state === "BOUND", 30_000)).toBe(true);
    const second = f.fake.ofType(DhcpMessageType.DISCOVER).at(-1)!;
    expect(second.atMs - decline.atMs).toBeGreaterThanOrEqual(10_000);
    expect(second.xid).not.toBe(decline.xid);
    expect(f.client.netif.ip).toBe(POOL_IP);
  });

  it("another host probing for the same address at the same time is a conflict too", () => {
    const f = setup({ probeWaitMs: 1000, probeMinMs: 1000, probeMaxMs: 2000, announceWaitMs: 2000 });
    f.dhcp.start();
    expect(f.scheduler.advanceUntil(() => f.dhcp.state === "CHECKING", 5_000)).toBe(true);
    injectArp(f, ArpOp.REQUEST, OTHER_MAC, 0, POOL_IP);
    f.scheduler.advance(5);
    expect(f.dhcp.state).toBe("INIT");
    expect(f.fake.ofType(DhcpMessageType.DECLINE)).toHaveLength(1);
  });

  it("a probe for another address, or ARP about other hosts, is not a conflict", () => {
    const f = setup({ probeWaitMs: 1000, probeMinMs: 1000, probeMaxMs: 2000, announceWaitMs: 2000 });
    f.dhcp.start();
    expect(f.scheduler.advanceUntil(() => f.dhcp.state === "CHECKING", 5_000)).toBe(true);
    injectArp(f, ArpOp.REQUEST, OTHER_MAC, 0, parseIpv4("10.0.0.77"));
    injectArp(f, ArpOp.REQUEST, OTHER_MAC, parseIpv4("10.0.0.9"), SERVER_IP);
    expect(f.scheduler.advanceUntil(() => f.dhcp.state === "BOUND", 10_000)).toBe(true);
    expect(f.dhcp.stats.probeConflicts).toBe(0);
  });

  it("after MAX_CONFLICTS (10) conflicts, attempts are one per RATE_LIMIT_INTERVAL (60 s)", () => {
    const f = setup({ ...FAST_PROBE, maxConflicts: 2 });
    f.fake.offerIp = SERVER_IP;
    f.dhcp.start();
    expect(f.scheduler.advanceUntil(() => f.fake.ofType(DhcpMessageType.DECLINE).length === 2, 30_000)).toBe(true);
    const second = f.fake.ofType(DhcpMessageType.DECLINE)[1]!;
    const discovers = f.fake.ofType(DhcpMessageType.DISCOVER).length;
    f.scheduler.advance(59_000);
    expect(f.fake.ofType(DhcpMessageType.DISCOVER)).toHaveLength(discovers);
    f.scheduler.advance(1_100);
    expect(f.fake.ofType(DhcpMessageType.DISCOVER).at(-1)!.atMs - second.atMs).toBeGreaterThanOrEqual(60_000);
  });
});

describe("DHCP client: DHCPNAK → INIT (RFC 2131 §3.1 step 5, §4.4.5)", () => {
  it("a NAK to the REQUEST restarts discovery at once with a new xid", () => {
    const f = setup(FAST_PROBE);
    let requests = 0;
    f.fake.answer = (m) => (m.type === DhcpMessageType.DISCOVER ? "offer" : ++requests === 1 ? "nak" : "ack");
    f.dhcp.start();
    expect(f.scheduler.advanceUntil(() => f.dhcp.state === "BOUND", 30_000)).toBe(true);
    const types = f.fake.seen.map((m) => m.type);
    expect(types).toEqual([DhcpMessageType.DISCOVER, DhcpMessageType.REQUEST, DhcpMessageType.DISCOVER, DhcpMessageType.REQUEST]);
    const [d1, r1, d2] = f.fake.seen;
    // Restarted as soon as the NAK arrived (1 ms wire latency each way).
    expect(d2!.atMs - r1!.atMs).toBe(2);
    expect(d2!.xid).not.toBe(d1!.xid);
    expect(f.dhcp.stats.rxNaks).toBe(1);
  });

  it("repeated NAKs back off instead of looping at wire speed", () => {
    const f = setup({ ...FAST_PROBE, baseRetransmitMs: 4000 });
    f.fake.answer = (m) => (m.type === DhcpMessageType.DISCOVER ? "offer" : "nak");
    f.dhcp.start();
    f.scheduler.advance(30_000);
    // NAK 1 restarts at once; NAK 2 after ~4 s, NAK 3 after ~8 s, NAK 4 after ~16 s: 4 DISCOVERs in 30 s.
    expect(f.fake.ofType(DhcpMessageType.DISCOVER).length).toBeLessThanOrEqual(5);
    expect(f.fake.ofType(DhcpMessageType.DISCOVER).length).toBeGreaterThanOrEqual(3);
  });

  it("a NAK while RENEWING removes the address and tells the lost listeners", () => {
    const f = setup(FAST_PROBE);
    bind(f);
    f.fake.answer = (m) => (m.type === DhcpMessageType.REQUEST ? "nak" : "silent");
    f.dhcp.renew();
    f.scheduler.advance(10);
    expect(f.client.netif.ip).toBe(0);
    expect(f.dhcp.lease).toBeNull();
    expect(f.lost).toHaveLength(1);
    expect(f.dhcp.state).toBe("SELECTING");
  });
});

describe("DHCP client: INIT-REBOOT with a remembered address (RFC 2131 §3.2, §4.4.2)", () => {
  const REMEMBERED_IP = parseIpv4("10.0.0.77");

  it("broadcasts a REQUEST for the address: option 50, no server id, ciaddr 0; the ACK is probed, then BOUND", () => {
    const f = setup({ ...FAST_PROBE, previousAddress: REMEMBERED_IP });
    f.dhcp.start();
    // INIT-REBOOT sends at once and waits in REBOOTING (RFC 2131 Figure 5).
    expect(f.dhcp.state).toBe("REBOOTING");
    expect(f.scheduler.advanceUntil(() => f.dhcp.state === "BOUND", 10_000)).toBe(true);
    expect(f.fake.seen.map((s) => s.type)).toEqual([DhcpMessageType.REQUEST]);
    const request = f.fake.seen[0]!;
    expect(request).toMatchObject({
      src: 0,
      dst: IPV4_BROADCAST,
      flags: BOOTP_FLAG_BROADCAST,
      ciaddr: 0,
      requestedIp: REMEMBERED_IP,
      // §4.4.2: "MUST NOT include a 'server identifier'".
      serverId: 0,
      hasHostname: true,
      hasParameterList: true,
    });
    // RFC 5227: the acknowledged address is checked as after any ACK.
    expect(f.probes.map(([, target]) => target)).toEqual([REMEMBERED_IP, REMEMBERED_IP, REMEMBERED_IP]);
    expect(f.dhcp.lease).toMatchObject({ ip: REMEMBERED_IP, serverId: SERVER_IP, netmask: MASK, gateway: SERVER_IP });
    expect(f.dhcp.lease!.obtainedAtMs).toBe(request.atMs - 1);
    expect(f.client.netif.ip).toBe(REMEMBERED_IP);
    expect(f.dhcp.stats).toMatchObject({ rebootAttempts: 1, rebootAcks: 1, rebootNaks: 0, rebootTimeouts: 0, txDiscover: 0, leasesBound: 1 });
    // The lease then renews with the server that acknowledged it, unicast.
    f.dhcp.renew();
    f.scheduler.advance(10);
    expect(f.fake.seen.at(-1)).toMatchObject({ type: DhcpMessageType.REQUEST, dst: SERVER_IP, ciaddr: REMEMBERED_IP, requestedIp: 0, serverId: 0 });
  });

  it("a board stopped without releasing gets its address back after a restart", () => {
    const f = setup(FAST_PROBE);
    bind(f);
    f.dhcp.stop({ release: false });
    f.scheduler.advance(10);
    // No DHCPRELEASE: the lease stays on the server's books.
    expect(f.fake.ofType(DhcpMessageType.RELEASE)).toEqual([]);
    expect(f.client.netif.ip).toBe(0);
    const again = new DhcpClient(f.client.udp, f.client.netif, f.scheduler, f.client.random, { ...FAST_PROBE, previousAddress: POOL_IP });
    f.dhcp = again;
    f.fake.offerIp = parseIpv4("10.0.0.51");
    const before = f.fake.seen.length;
    again.start();
    expect(f.scheduler.advanceUntil(() => again.state === "BOUND", 10_000)).toBe(true);
    expect(f.fake.seen.slice(before).map((s) => [s.type, s.requestedIp, s.serverId])).toEqual([[DhcpMessageType.REQUEST, POOL_IP, 0]]);
    expect(again.lease!.ip).toBe(POOL_IP);
  });

  it("a DHCPNAK sends the client to INIT: a fresh DISCOVER at once, new xid, another address", () => {
    const f = setup({ ...FAST_PROBE, previousAddress: REMEMBERED_IP });
    f.fake.answer = (m) => (m.type === DhcpMessageType.DISCOVER ? "offer" : m.type === DhcpMessageType.REQUEST && m.serverId === 0 ? "nak" : "ack");
    f.dhcp.start();
    expect(f.scheduler.advanceUntil(() => f.dhcp.state === "BOUND", 10_000)).toBe(true);
    const [reboot, discover, request] = f.fake.seen;
    expect(f.fake.seen.map((s) => s.type)).toEqual([DhcpMessageType.REQUEST, DhcpMessageType.DISCOVER, DhcpMessageType.REQUEST]);
    expect(reboot!.requestedIp).toBe(REMEMBERED_IP);
    // The DISCOVER follows the NAK with no back-off (the NAK arrives 1 ms after the REQUEST, 1 ms back).
    expect(discover!.atMs - reboot!.atMs).toBeLessThanOrEqual(2);
    expect(discover!.xid).not.toBe(reboot!.xid);
    expect(request!.requestedIp).toBe(POOL_IP);
    expect(request!.serverId).toBe(SERVER_IP);
    // The remembered address was never probed nor used.
    expect(f.probes.every(([, target]) => target === POOL_IP)).toBe(true);
    expect(f.dhcp.lease!.ip).toBe(POOL_IP);
    expect(f.lost).toEqual([]);
    expect(f.dhcp.stats).toMatchObject({ rebootAttempts: 1, rebootAcks: 0, rebootNaks: 1, rebootTimeouts: 0, rxNaks: 1, leasesBound: 1 });
  });

  it("no answer: the REQUEST is retransmitted once (4 s ±1), then discovery starts ~8 s later (as lwIP, dhclient)", () => {
    const f = setup({ ...FAST_PROBE, previousAddress: REMEMBERED_IP });
    f.fake.answer = (m) => (m.type === DhcpMessageType.DISCOVER ? "offer" : m.type === DhcpMessageType.REQUEST && m.serverId === 0 ? "silent" : "ack");
    f.dhcp.start();
    expect(f.scheduler.advanceUntil(() => f.dhcp.state === "BOUND", 30_000)).toBe(true);
    const reboots = f.fake.seen.filter((s) => s.type === DhcpMessageType.REQUEST && s.serverId === 0);
    expect(reboots).toHaveLength(2);
    // Same xid, option 50 each time, `secs` counting from the first.
    expect(reboots[1]!.xid).toBe(reboots[0]!.xid);
    expect(reboots.map((m) => m.requestedIp)).toEqual([REMEMBERED_IP, REMEMBERED_IP]);
    expect(reboots[1]!.secs).toBeGreaterThanOrEqual(3);
    const gap = reboots[1]!.atMs - reboots[0]!.atMs;
    expect(gap).toBeGreaterThanOrEqual(3000);
    expect(gap).toBeLessThanOrEqual(5000);
    const discover = f.fake.ofType(DhcpMessageType.DISCOVER)[0]!;
    expect(discover.atMs - reboots[1]!.atMs).toBeGreaterThanOrEqual(7000);
    expect(discover.atMs - reboots[1]!.atMs).toBeLessThanOrEqual(9000);
    expect(discover.xid).not.toBe(reboots[0]!.xid);
    // The remembered address was not used meanwhile (RFC 2131 §3.2 step 2's MAY is not taken).
    expect(f.dhcp.lease!.ip).toBe(POOL_IP);
    expect(f.dhcp.stats).toMatchObject({ rebootAttempts: 1, rebootTimeouts: 1, rebootAcks: 0, retransmissions: 1 });
  });

  it("an ACK without a server id is dropped in REBOOTING (RFC 2131 Table 3)", () => {
    const f = setup({ ...FAST_PROBE, previousAddress: REMEMBERED_IP, maxRebootTransmissions: 1 });
    f.fake.answer = () => "silent";
    f.dhcp.start();
    f.scheduler.advance(5);
    const xid = f.fake.seen[0]!.xid;
    // A hand-built ACK, the same but for option 54.
    const buf = new Uint8Array(600);
    const w = new DhcpWriter().begin(buf, new DataView(buf.buffer), 0, {
      op: BootpOp.REPLY,
      xid,
      secs: 0,
      flags: 0,
      ciaddr: 0,
      yiaddr: REMEMBERED_IP,
      siaddr: 0,
      giaddr: 0,
      chaddr: CLIENT_MAC,
    });
    w.u8(DhcpOpt.MESSAGE_TYPE, DhcpMessageType.ACK).u32(DhcpOpt.LEASE_TIME, 120);
    f.fake.sendRaw(buf, w.finish());
    f.scheduler.advance(5);
    expect(f.dhcp.stats.dropNoServerId).toBe(1);
    expect(f.dhcp.state).toBe("REBOOTING");
  });

  it("an address that cannot be a host's is not asked for: start() discovers as usual", () => {
    const f = setup({ ...FAST_PROBE, previousAddress: parseIpv4("224.0.0.5") });
    f.dhcp.start();
    expect(f.dhcp.state).toBe("SELECTING");
    expect(f.dhcp.stats.rebootAttempts).toBe(0);
  });
});

describe("DHCP client: renewing, rebinding and expiry (RFC 2131 §4.4.5)", () => {
  it("at T1 a REQUEST goes unicast to the server, ciaddr set, no 50/54; the ACK extends the lease", () => {
    const f = setup(FAST_PROBE);
    bind(f);
    const first = f.dhcp.lease!;
    const t1 = first.obtainedAtMs + 60_000;
    f.scheduler.advance(t1 - f.scheduler.now() - 1);
    expect(f.dhcp.state).toBe("BOUND");
    expect(f.scheduler.advanceUntil(() => f.fake.seen.length === 3, 100)).toBe(true);
    const renew = f.fake.seen[2]!;
    expect(renew).toMatchObject({ type: DhcpMessageType.REQUEST, dst: SERVER_IP, src: POOL_IP, ciaddr: POOL_IP, flags: 0, requestedIp: 0, serverId: 0, secs: 0 });
    // RFC 5227 §2.1: renewing the same address is not probed again.
    const probes = f.dhcp.stats.probesSent;
    f.scheduler.advance(10);
    expect(f.dhcp.state).toBe("BOUND");
    expect(f.dhcp.stats.probesSent).toBe(probes);
    expect(f.dhcp.stats.renewals).toBe(1);
    const second = f.dhcp.lease!;
    // The renewed lease counts from T1, when the REQUEST was sent (ARP for the server delayed its arrival).
    expect(second.obtainedAtMs).toBe(t1);
    expect(second).not.toBe(first);
    expect(f.bound).toHaveLength(2);
    expect(f.client.netif.ip).toBe(POOL_IP);
    // A new exchange gets a new xid.
    expect(renew.xid).not.toBe(f.fake.seen[1]!.xid);
  });

  it("renew() starts RENEWING at once", () => {
    const f = setup(FAST_PROBE);
    bind(f);
    f.fake.answer = () => "silent";
    f.dhcp.renew();
    expect(f.dhcp.state).toBe("RENEWING");
    f.fake.answer = (m) => (m.type === DhcpMessageType.REQUEST ? "ack" : "silent");
    f.dhcp.renew();
    f.scheduler.advance(10);
    expect(f.dhcp.state).toBe("BOUND");
    expect(f.fake.ofType(DhcpMessageType.REQUEST).slice(-2).every((m) => m.dst === SERVER_IP)).toBe(true);
  });

  it("with no answer, RENEWING retransmits at half the time to T2 (min 60 s), then REBINDING broadcasts at T2", () => {
    const f = setup({ ...FAST_PROBE, minRenewRetransmitMs: 10_000 });
    f.fake.leaseSeconds = 1000;
    bind(f);
    const lease = f.dhcp.lease!;
    f.fake.answer = () => "silent";
    const t1 = lease.obtainedAtMs + 500_000;
    const t2 = lease.obtainedAtMs + 875_000;
    f.scheduler.advance(t2 - f.scheduler.now() + 5);
    expect(f.dhcp.state).toBe("REBINDING");
    const renewing = f.fake.seen.filter((m) => m.atMs > t1 && m.atMs < t2);
    // Sent at T1, then halving the remaining 375 s: +187.5, +93.75, +46.9, +23.4, +11.7, then the 10 s
    // floor (+10 at 363.3 s), after which the next one would fall past T2. (The first waited 2 ms for ARP.)
    const offsets = renewing.map((m) => Math.round((m.atMs - 1 - t1) / 100) / 10);
    expect(offsets).toEqual([0, 187.5, 281.3, 328.1, 351.6, 363.3, 373.3]);
    expect(renewing.every((m) => m.dst === SERVER_IP && m.ciaddr === POOL_IP)).toBe(true);
    // At T2: broadcast, ciaddr still set, no server id (RFC 2131 §4.3.2 REBINDING).
    const rebind = f.fake.seen.at(-1)!;
    expect(rebind).toMatchObject({ type: DhcpMessageType.REQUEST, dst: IPV4_BROADCAST, ciaddr: POOL_IP, serverId: 0, flags: 0 });
    expect(rebind.atMs - 1).toBe(t2);
    expect(rebind.xid).not.toBe(renewing[0]!.xid);

    // Any server may answer the rebinding request; the next one goes at half the time left (62.5 s).
    f.fake.answer = (m) => (m.type === DhcpMessageType.REQUEST ? "ack" : "silent");
    f.scheduler.advance(62_000);
    expect(f.dhcp.state).toBe("REBINDING");
    f.scheduler.advance(1_000);
    expect(f.dhcp.state).toBe("BOUND");
    // The lease counts from the exchange's first REQUEST (T2), not the retransmission that was answered.
    expect(f.dhcp.lease!.obtainedAtMs).toBe(t2);
    expect(f.lost).toEqual([]);
  });

  it("at expiry the address goes, the lost listeners are told, and discovery starts again", () => {
    const f = setup({ ...FAST_PROBE, minRenewRetransmitMs: 60_000 });
    bind(f);
    const lease = f.dhcp.lease!;
    f.fake.answer = () => "silent";
    const expiry = lease.obtainedAtMs + 120_000;
    f.scheduler.advance(expiry - f.scheduler.now() - 1);
    expect(f.dhcp.state).toBe("REBINDING");
    expect(f.client.netif.ip).toBe(POOL_IP);
    f.scheduler.advance(2);
    expect(f.dhcp.state).toBe("SELECTING");
    expect(f.dhcp.lease).toBeNull();
    expect(f.client.netif.ip).toBe(0);
    expect(f.lost).toEqual([expiry]);
    expect(f.dhcp.stats.leasesExpired).toBe(1);
    f.scheduler.advance(5);
    const last = f.fake.seen.at(-1)!;
    expect(last).toMatchObject({ type: DhcpMessageType.DISCOVER, dst: IPV4_BROADCAST, ciaddr: 0, src: 0 });
    // With the server back, the client gets a lease again.
    f.fake.answer = (m) => (m.type === DhcpMessageType.DISCOVER ? "offer" : "ack");
    expect(f.scheduler.advanceUntil(() => f.dhcp.state === "BOUND", 30_000)).toBe(true);
  });

  it("a renewal ACK with another address drops the old one and checks the new one", () => {
    const f = setup(FAST_PROBE);
    bind(f);
    const other = parseIpv4("10.0.0.60");
    f.fake.ackIp = other;
    f.dhcp.renew();
    f.scheduler.advance(10);
    expect(f.dhcp.state).toBe("CHECKING");
    expect(f.lost).toHaveLength(1);
    expect(f.client.netif.ip).toBe(0);
    expect(f.scheduler.advanceUntil(() => f.dhcp.state === "BOUND", 10_000)).toBe(true);
    expect(f.client.netif.ip).toBe(other);
  });
});

describe("DHCP client: retransmission (RFC 2131 §4.1)", () => {
  it("DISCOVER back-off: 4, 8, 16, 32, 64, 64 s, each ±1 s; same xid; secs counts up", () => {
    const f = setup();
    f.fake.answer = () => "silent";
    f.dhcp.start();
    f.scheduler.advance((4 + 8 + 16 + 32 + 64 + 64) * 1000 + 10_000);
    const discovers = f.fake.ofType(DhcpMessageType.DISCOVER);
    expect(discovers.length).toBe(7);
    const gaps = discovers.slice(1).map((m, i) => m.atMs - discovers[i]!.atMs);
    const nominal = [4000, 8000, 16000, 32000, 64000, 64000];
    gaps.forEach((g, i) => {
      expect(g).toBeGreaterThanOrEqual(nominal[i]! - 1000);
      expect(g).toBeLessThanOrEqual(nominal[i]! + 1000);
    });
    // The jitter is really applied (not always exactly nominal).
    expect(gaps.some((g, i) => g !== nominal[i])).toBe(true);
    expect(new Set(discovers.map((m) => m.xid)).size).toBe(1);
    const secs = discovers.map((m) => m.secs);
    expect(secs[0]).toBe(0);
    for (let i = 1; i < secs.length; i++) expect(secs[i]).toBe(Math.floor((discovers[i]!.atMs - discovers[0]!.atMs) / 1000));
    expect(f.dhcp.stats.retransmissions).toBe(6);
  });

  it("the base is configurable: 100 ms → 100, 200, 400, … capped at 1.6 s, ±25 ms", () => {
    const f = setup({ baseRetransmitMs: 100 });
    f.fake.answer = () => "silent";
    f.dhcp.start();
    f.scheduler.advance(8000);
    const discovers = f.fake.ofType(DhcpMessageType.DISCOVER);
    const gaps = discovers.slice(1).map((m, i) => m.atMs - discovers[i]!.atMs);
    const nominal = [100, 200, 400, 800, 1600, 1600, 1600];
    nominal.forEach((n, i) => {
      expect(gaps[i]).toBeGreaterThanOrEqual(n - 25);
      expect(gaps[i]).toBeLessThanOrEqual(n + 25);
    });
  });

  it("REQUESTING retransmits with back-off, then gives up after 4 REQUESTs and starts over", () => {
    const f = setup();
    let offers = 0;
    f.fake.answer = (m) => (m.type === DhcpMessageType.DISCOVER && ++offers === 1 ? "offer" : "silent");
    f.dhcp.start();
    expect(f.scheduler.advanceUntil(() => f.fake.ofType(DhcpMessageType.DISCOVER).length === 2, 120_000)).toBe(true);
    const requests = f.fake.ofType(DhcpMessageType.REQUEST);
    expect(requests).toHaveLength(4);
    // Retransmitted REQUESTs keep the xid and the DISCOVER's secs (RFC 2131 §4.4.1).
    expect(new Set(requests.map((m) => m.xid)).size).toBe(1);
    expect(new Set(requests.map((m) => m.secs)).size).toBe(1);
    const gaps = requests.slice(1).map((m, i) => m.atMs - requests[i]!.atMs);
    [4000, 8000, 16000].forEach((n, i) => {
      expect(gaps[i]).toBeGreaterThanOrEqual(n - 1000);
      expect(gaps[i]).toBeLessThanOrEqual(n + 1000);
    });
    const discovers = f.fake.ofType(DhcpMessageType.DISCOVER);
    expect(discovers).toHaveLength(2);
    expect(discovers[1]!.xid).not.toBe(requests[0]!.xid);
    expect(discovers[1]!.atMs).toBeGreaterThan(requests[3]!.atMs + 31_000);
    expect(f.dhcp.state).toBe("SELECTING");
  });
});

describe("DHCP client: release on stop (RFC 2131 §4.4.6)", () => {
  it("stop() sends DHCPRELEASE unicast when the server's MAC is known, removes the address and disarms", () => {
    const f = setup(FAST_PROBE);
    bind(f);
    // A renewal resolved the server's MAC.
    f.dhcp.renew();
    f.scheduler.advance(10);
    expect(f.client.netif.neighbors.lookup(SERVER_IP, f.scheduler.now())).not.toBeNull();
    f.dhcp.stop();
    f.scheduler.advance(10);
    const release = f.fake.seen.at(-1)!;
    expect(release).toMatchObject({ type: DhcpMessageType.RELEASE, dst: SERVER_IP, src: POOL_IP, ciaddr: POOL_IP, serverId: SERVER_IP, requestedIp: 0, secs: 0 });
    expect(release.hasParameterList).toBe(false);
    expect(f.dhcp.state).toBe("STOPPED");
    expect(f.dhcp.lease).toBeNull();
    expect(f.client.netif.ip).toBe(0);
    expect(f.client.udp.allPcbs()).toEqual([]);
    expect(f.scheduler.armedLabels().filter((l) => l.startsWith("dhcp"))).toEqual([]);
    expect(f.dhcp.stats.txRelease).toBe(1);
    // stop() is not a loss of the lease the application did not ask for.
    expect(f.lost).toEqual([]);
  });

  it("without the server's MAC cached, the release is broadcast (a stopping board cannot wait for ARP)", () => {
    const f = setup(FAST_PROBE);
    bind(f);
    expect(f.client.netif.neighbors.lookup(SERVER_IP, f.scheduler.now())).toBeNull();
    f.dhcp.stop();
    f.scheduler.advance(10);
    expect(f.fake.seen.at(-1)).toMatchObject({ type: DhcpMessageType.RELEASE, dst: IPV4_BROADCAST, src: POOL_IP, ciaddr: POOL_IP, serverId: SERVER_IP });
  });

  it("stop() without a lease sends nothing; start() after stop() works again", () => {
    const f = setup(FAST_PROBE);
    f.fake.answer = () => "silent";
    f.dhcp.start();
    f.scheduler.advance(100);
    f.dhcp.stop();
    f.dhcp.stop();
    f.scheduler.advance(100_000);
    expect(f.fake.ofType(DhcpMessageType.RELEASE)).toEqual([]);
    expect(f.fake.seen).toHaveLength(1);
    f.fake.answer = (m) => (m.type === DhcpMessageType.DISCOVER ? "offer" : "ack");
    bind(f);
  });

  it("stop() during the probe leaves no probe and no timer behind", () => {
    const f = setup({ probeWaitMs: 1000, probeMinMs: 1000, probeMaxMs: 2000, announceWaitMs: 2000 });
    f.dhcp.start();
    expect(f.scheduler.advanceUntil(() => f.dhcp.state === "CHECKING", 5_000)).toBe(true);
    expect(f.client.netif.acd.probing).toBe(POOL_IP);
    f.dhcp.stop();
    expect(f.client.netif.acd.probing).toBe(0);
    expect(f.scheduler.armedLabels()).not.toContain("acd probe");
    expect(f.fake.ofType(DhcpMessageType.RELEASE)).toEqual([]);
  });
});

describe("DHCP client: robustness", () => {
  it("garbage on port 68 is counted, never thrown", () => {
    const f = setup(FAST_PROBE);
    f.dhcp.start();
    const junk = new Uint8Array(300).fill(0x41);
    f.fake.sendRaw(junk, 300);
    f.fake.sendRaw(junk, 10);
    f.scheduler.advance(5);
    expect(f.dhcp.stats.dropBadCookie).toBe(1);
    expect(f.dhcp.stats.dropTruncated).toBe(1);
    expect(f.scheduler.advanceUntil(() => f.dhcp.state === "BOUND", 30_000)).toBe(true);
  });

  it("replies from a port other than 67 are ignored", () => {
    const f = setup(FAST_PROBE);
    f.fake.answer = () => "silent";
    f.dhcp.start();
    const pcb = f.server.udp.open();
    pcb.broadcast = true;
    f.server.udp.bind(pcb, 0, 6767);
    f.server.udp.sendTo(pcb, new Uint8Array(300), 0, 300, IPV4_BROADCAST, 68);
    f.scheduler.advance(5);
    expect(f.dhcp.stats.rxIgnored).toBe(1);
    f.server.udp.close(pcb);
  });
});

describe("DHCP client: listeners", () => {
  it("tells every listener of each bind and loss; a removed listener hears nothing more", () => {
    const f = setup({ ...FAST_PROBE, minRenewRetransmitMs: 60_000 });
    const second: string[] = [];
    const removed: string[] = [];
    const gone = { bound: () => void removed.push("bound") };
    f.dhcp.addListener({ bound: (l) => second.push(`bound ${l.ip}`), lost: () => second.push("lost") });
    f.dhcp.addListener(gone);
    f.dhcp.removeListener(gone);
    bind(f);
    f.fake.answer = () => "silent";
    f.scheduler.advance(f.dhcp.lease!.obtainedAtMs + 120_001 - f.scheduler.now());
    expect(f.bound).toHaveLength(1);
    expect(f.lost).toHaveLength(1);
    expect(second).toEqual([`bound ${POOL_IP}`, "lost"]);
    expect(removed).toEqual([]);
  });

  it("the netif's address listeners hear the bind, a renewal that changes the mask, and the expiry", () => {
    const f = setup({ ...FAST_PROBE, minRenewRetransmitMs: 60_000 });
    const changes: [number, number, number][] = [];
    f.client.netif.addAddressListener((ip, mask, gw) => changes.push([ip, mask, gw]));
    bind(f);
    expect(changes).toEqual([[POOL_IP, MASK, SERVER_IP]]);
    // A renewal with the same lease changes nothing on the netif: no event.
    f.dhcp.renew();
    f.scheduler.advance(10);
    expect(f.dhcp.stats.renewals).toBe(1);
    expect(changes).toHaveLength(1);
    f.fake.mask = 0xffff0000;
    f.dhcp.renew();
    f.scheduler.advance(10);
    expect(changes).toEqual([
      [POOL_IP, MASK, SERVER_IP],
      [POOL_IP, 0xffff0000, SERVER_IP],
    ]);
    f.fake.answer = () => "silent";
    f.scheduler.advance(f.dhcp.lease!.obtainedAtMs + 120_001 - f.scheduler.now());
    expect(changes.at(-1)).toEqual([0, 0, 0]);
  });
});
