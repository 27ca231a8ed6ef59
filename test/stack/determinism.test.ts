// StackConfig.random: two stacks over a MemLink on the simulated clock, each built from a seed, do the same
// work twice — a DHCP lease with RFC 5227 probes, ARP, ping, a TCP echo transfer, UDP echo from an ephemeral
// port, a DNS query — and the pcapng capture on A's side is byte for byte the same both times: every random
// choice (xids, probe delays, ISNs, timestamp offsets, IP IDs, ports, DNS IDs) comes from the seed. Another
// seed gives other ISNs.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SimClock } from "../../src/core/clock.js";
import { Scheduler } from "../../src/core/scheduler.js";
import { IPV4_BROADCAST, parseIpv4, parseMac } from "../../src/core/addr.js";
import { Prng } from "../../src/core/prng.js";
import { memLinkPair } from "../../src/link/memlink.js";
import { PcapWriter } from "../../src/link/pcap.js";
import { Stack } from "../../src/stack/stack.js";
import { Pinger } from "../../src/apps/ping.js";
import { SERVICE_PORTS, TcpServices } from "../../src/apps/services.js";
import { UdpServices } from "../../src/apps/udpServices.js";
import type { TcpPcb } from "../../src/tcp/pcb.js";
import type { UdpPcb } from "../../src/udp/udp.js";
import { DhcpClient } from "../../src/apps/dhcp.js";
import { BootpOp, DhcpMessageType, DhcpOpt, DhcpOptionsRepr, DhcpView, DhcpWriter } from "../../src/apps/dhcpMessage.js";
import { settle } from "../helpers/twoStacks.js";

const A_IP = parseIpv4("10.0.0.1");
const B_IP = parseIpv4("10.0.0.2");
const MASK = 0xffffff00;
const TRANSFER_BYTES = 64 * 1024;

const dir = mkdtempSync(join(tmpdir(), "walnut-determinism-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Port 67 on `stack`: OFFER for DISCOVER and ACK for REQUEST, both of B_IP/24 for an hour, broadcast (the
 * client has no address yet, RFC 2131 §4.1).
 */
function dhcpServer(stack: Stack): UdpPcb {
  const udp = stack.udp;
  const pcb = udp.open({ maxQueuedDatagrams: 8, maxQueuedBytes: 16 * 1024 });
  pcb.broadcast = true;
  expect(udp.bind(pcb, 0, 67)).toBe(0);
  const rx = new Uint8Array(2048);
  const tx = new Uint8Array(600);
  const txView = new DataView(tx.buffer);
  const view = new DhcpView();
  const options = new DhcpOptionsRepr();
  pcb.events = {
    readable: (p) => {
      while (!p.queue.isEmpty) {
        const n = udp.receive(p, rx, 0, rx.length);
        const m = view.point(rx, 0, n);
        expect(m.parseOptions(options)).toBe(0);
        const type = options.messageType === DhcpMessageType.DISCOVER ? DhcpMessageType.OFFER : DhcpMessageType.ACK;
        const chaddr = rx.slice(28, 34);
        const w = new DhcpWriter().begin(tx, txView, 0, { op: BootpOp.REPLY, xid: m.xid, secs: 0, flags: 0, ciaddr: 0, yiaddr: B_IP, siaddr: 0, giaddr: 0, chaddr });
        w.u8(DhcpOpt.MESSAGE_TYPE, type).u32(DhcpOpt.SERVER_ID, A_IP).u32(DhcpOpt.LEASE_TIME, 3600).u32(DhcpOpt.SUBNET_MASK, MASK);
        expect(udp.sendTo(p, tx, 0, w.finish(), IPV4_BROADCAST, 68)).toBe(0);
      }
    },
  };
  return pcb;
}

interface Run {
  capture: Uint8Array;
  /** B's ISS and A's (B's IRS) on the TCP connection. */
  isns: [number, number];
  echoed: number;
}

/** The whole scenario with A seeded `seedA` and B `seedB`; A's side of the wire is captured. */
async function run(seedA: number, seedB: number, name: string): Promise<Run> {
  const scheduler = new Scheduler(new SimClock(1000));
  const [wireA, wireB] = memLinkPair(scheduler, { latencyMs: 1, mtu: 1500 });
  const path = join(dir, `${name}.pcapng`);
  const pcap = new PcapWriter(wireA, path, () => Math.round(scheduler.now() * 1000));
  const base = { gateway: 0, mtu: 1500 };
  const a = new Stack(pcap, { ...base, mac: parseMac("02:00:00:00:00:01"), ip: A_IP, netmask: MASK, random: seedA }, scheduler);
  const b = new Stack(wireB, { ...base, mac: parseMac("02:00:00:00:00:02"), ip: 0, netmask: 0, random: seedB }, scheduler);
  a.start();
  b.start();
  const server = dhcpServer(a);
  const tcpServices = new TcpServices(a.tcp);
  const udpServices = new UdpServices(a.udp);
  expect(tcpServices.start()).toBe(0);
  expect(udpServices.start()).toBe(0);

  // DHCP: DISCOVER/OFFER/REQUEST/ACK, then RFC 5227 probes and announcements.
  const dhcp = new DhcpClient(b.udp, b.netif, scheduler, b.random, { probeWaitMs: 100, probeMinMs: 100, probeMaxMs: 200, announceWaitMs: 200 });
  dhcp.start();
  for (let t = 0; t < 30_000 && b.netif.ip !== B_IP; t += 10) scheduler.advance(10);
  expect(b.netif.ip).toBe(B_IP);

  // ARP and ping from A.
  const pinger = new Pinger(a, B_IP);
  for (let i = 0; i < 3; i++) expect((await settle(scheduler, pinger.ping())).intact).toBe(true);
  pinger.close();

  // TCP: B sends seeded bytes to A's echo service and reads them back, then closes.
  const data = new Uint8Array(TRANSFER_BYTES);
  new Prng(99).fill(data);
  const received = new Uint8Array(TRANSFER_BYTES);
  let sent = 0;
  let echoed = 0;
  let done = false;
  const pump = (pcb: TcpPcb): void => {
    while (sent < data.length) {
      const n = b.tcp.write(pcb, data, sent, data.length - sent);
      if (typeof n !== "number" || n <= 0) break;
      sent += n;
    }
    if (sent === data.length && !pcb.finQueued) b.tcp.shutdownWrite(pcb);
  };
  const pcb = b.tcp.connect(A_IP, SERVICE_PORTS.echo, {
    connected: pump,
    writable: pump,
    readable: (p) => {
      for (let n = b.tcp.read(p, received, echoed, received.length - echoed); n > 0; n = b.tcp.read(p, received, echoed, received.length - echoed)) echoed += n;
      if (p.finReceived && !done) {
        done = true;
        b.tcp.close(p);
      }
    },
  });
  if (typeof pcb === "number") throw new Error(`connect failed (${pcb})`);
  for (let t = 0; t < 60_000 && !done; t += 10) scheduler.advance(10);
  expect(done).toBe(true);
  expect(received).toEqual(data);
  const isns: [number, number] = [pcb.iss, pcb.irs];

  // UDP from an ephemeral port (RFC 6056) to A's echo service.
  const udp = b.udp.open({ maxQueuedDatagrams: 8, maxQueuedBytes: 16 * 1024 });
  expect(b.udp.bind(udp, 0, 0)).toBe(0);
  let udpEchoes = 0;
  const datagram = new Uint8Array(64);
  udp.events = {
    readable: (p) => {
      while (!p.queue.isEmpty) if (b.udp.receive(p, datagram, 0, datagram.length) === 32) udpEchoes++;
    },
  };
  for (let i = 0; i < 3; i++) expect(b.udp.sendTo(udp, data, i * 32, 32, A_IP, SERVICE_PORTS.echo)).toBe(0);
  scheduler.advance(10);
  expect(udpEchoes).toBe(3);
  b.udp.close(udp);

  // DNS: A serves nothing on port 53, so the random query ID and source port meet an ICMP port unreachable.
  b.dns.setServers([A_IP]);
  expect((await settle(scheduler, b.dns.resolve("walnut.test"))).ok).toBe(false);

  // Past TIME-WAIT (2 MSL), then down; nothing may stay armed.
  scheduler.advance(70_000);
  dhcp.stop();
  a.udp.close(server);
  tcpServices.stop();
  udpServices.stop();
  a.stop();
  b.stop();
  expect(scheduler.armedLabels()).toEqual([]);
  pcap.close();
  return { capture: new Uint8Array(readFileSync(path)), isns, echoed };
}

describe("StackConfig.random", () => {
  it("two runs from the same seeds give byte-identical pcapng captures", async () => {
    const first = await run(1, 2, "first");
    const second = await run(1, 2, "second");
    expect(first.echoed).toBe(TRANSFER_BYTES);
    // A capture worth comparing: well over the handshakes (64 KiB each way is ~90 full-size frames).
    expect(first.capture.length).toBeGreaterThan(2 * TRANSFER_BYTES);
    expect(Buffer.compare(first.capture, second.capture)).toBe(0);
    expect(second.isns).toEqual(first.isns);
  });

  it("other seeds give other ISNs (and so another capture)", async () => {
    const first = await run(1, 2, "seeds-1-2");
    const other = await run(3, 4, "seeds-3-4");
    expect(other.isns[0]).not.toBe(first.isns[0]);
    expect(other.isns[1]).not.toBe(first.isns[1]);
    expect(Buffer.compare(first.capture, other.capture)).not.toBe(0);
  });
});
