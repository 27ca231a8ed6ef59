// Whole-stack ICMP: two walnut stacks over a MemLink on a simulated clock ping each other — ARP resolution,
// echo of every size, fragmentation and reassembly both ways, and loss/duplication/reordering injected.

import { afterEach, describe, expect, it } from "vitest";
import { Pinger } from "../../src/apps/ping.js";
import { A_IP, B_IP, settle, twoStacks, type TwoStacks } from "../helpers/twoStacks.js";

let net: TwoStacks | null = null;

afterEach(() => {
  net?.stop();
  if (net !== null) {
    // Quiescence: once both stacks stop, nothing of theirs stays armed.
    expect(net.scheduler.armedLabels()).toEqual([]);
  }
  net = null;
});

describe("two stacks over MemLink", () => {
  it("resolves ARP and answers a ping", async () => {
    net = twoStacks();
    const pinger = new Pinger(net.a, B_IP);
    const r = await settle(net.scheduler, pinger.ping());
    expect(r.rttMs).not.toBeNull();
    expect(r.intact).toBe(true);
    expect(net.a.netif.stats.arpTxRequests).toBeGreaterThanOrEqual(1);
    expect(net.b.netif.stats.arpTxReplies).toBeGreaterThanOrEqual(1);
    expect(net.b.icmp.stats.txEchoReplies).toBe(1);
    pinger.close();
  });

  it.each([0, 1, 1472, 1473, 8000, 65507])("echoes %i bytes of data intact (fragmenting when needed)", async (size) => {
    net = twoStacks();
    // 65 507 bytes of data + 8 of ICMP header = 65 515 = the largest IPv4 payload.
    const pinger = new Pinger(net.a, B_IP, size);
    const r = await settle(net.scheduler, pinger.ping(5000));
    expect(r.rttMs).not.toBeNull();
    expect(r.intact).toBe(true);
    if (size > 1472) {
      expect(net.a.ip.stats.txFragments).toBeGreaterThan(1);
      expect(net.b.ip.reassembler.stats.reassembled).toBe(1);
      expect(net.a.ip.reassembler.stats.reassembled).toBe(1);
    }
    pinger.close();
  });

  it("refuses a datagram over 65 535 bytes at the sender", async () => {
    net = twoStacks();
    const pinger = new Pinger(net.a, B_IP, 65508);
    const r = await settle(net.scheduler, pinger.ping(1000));
    expect(r.rttMs).toBeNull();
    expect(net.a.icmp.stats.txEchoRequests).toBe(0);
    expect(net.a.ip.stats.txPackets).toBe(0);
    pinger.close();
  });

  it("keeps answering with 5% loss, duplication and reordering on both sides", async () => {
    net = twoStacks({ faults: { seed: 7, loss: 0.05, duplicate: 0.05, reorder: 0.05 } });
    const pinger = new Pinger(net.b, A_IP, 3000);
    let answered = 0;
    for (let i = 0; i < 200; i++) {
      const r = await settle(net.scheduler, pinger.ping(500));
      if (r.rttMs !== null) {
        expect(r.intact).toBe(true);
        answered++;
      }
    }
    // Each ping is 3 frames each way; P(all 6 + ARP survive at 5% loss) ≈ 0.73.
    expect(answered).toBeGreaterThan(120);
    expect(answered).toBeLessThan(200);
    expect(net.faultA?.tx?.stats.dropped).toBeGreaterThan(0);
    expect(net.faultA?.tx?.stats.duplicated).toBeGreaterThan(0);
    pinger.close();
  });

  it("fails resolution after 3 ARP requests and counts it", async () => {
    net = twoStacks();
    const pinger = new Pinger(net.a, 0x0a000063 /* 10.0.0.99: nobody */);
    const r = await settle(net.scheduler, pinger.ping(5000));
    expect(r.rttMs).toBeNull();
    expect(net.a.netif.neighbors.stats.requestsSent).toBe(3);
    expect(net.a.netif.neighbors.stats.resolveFailed).toBe(1);
    expect(net.a.netif.neighbors.stats.pendingDropped).toBe(1);
    pinger.close();
  });
});
