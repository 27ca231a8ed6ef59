// ARP against the Linux kernel, both directions: the kernel resolves the board (its neighbour table then
// holds the board's MAC), and the board resolves the kernel side to ping it (its cache then holds the TAP's
// MAC as `ip link` reports it). Traffic stays inside 10.66.2.0/24 in a namespace this file creates.

import { describe, expect, it } from "vitest";
import { canRunTapTests } from "../helpers/env.js";
import { kernelMac, parsePingSummary, runAsync, runInNetns, useTestBoard } from "../helpers/board.js";
import { Pinger } from "../../src/apps/ping.js";
import { formatMac, parseIpv4 } from "../../src/core/addr.js";

const run = canRunTapTests("arp.test.ts", ["ping", "tshark"]);

describe.runIf(run)("ARP with the Linux kernel", () => {
  const board = useTestBoard("war", "10.66.2");

  it("answers the kernel's ARP request: `ip neigh` lists the board's IP with the board's MAC", async () => {
    const b = board();
    const repliesBefore = b.board.stack.netif.stats.arpTxReplies;
    const ping = await runInNetns(b.ns, ["ping", "-c", "1", "-W", "1", b.boardIp]);
    expect(parsePingSummary(ping.stdout).received).toBe(1);
    expect(b.board.stack.netif.stats.arpTxReplies).toBeGreaterThan(repliesBefore);
    const neigh = await runAsync(["ip", "-n", b.ns, "neigh", "show", b.boardIp, "dev", b.tap], { timeoutMs: 5000 });
    // e.g. "10.66.2.2 lladdr 02:57:41:4c:xx:02 REACHABLE"
    expect(neigh.stdout).toMatch(new RegExp(`^${b.boardIp.replaceAll(".", "\\.")} .*lladdr ${b.boardMac} `, "m"));
    expect(neigh.stdout).not.toMatch(/FAILED|INCOMPLETE/);
  });

  it("resolves the kernel side and pings it: the board's cache holds the TAP's MAC", async () => {
    const b = board();
    const kernel = parseIpv4(b.kernelIp);
    const tapMac = await kernelMac(b.ns, b.tap);
    // Forget what the kernel's own ARP request taught the board (RFC 826 merge), so the board must ask.
    b.board.stack.netif.neighbors.clear();
    const requestsBefore = b.board.stack.netif.stats.arpTxRequests;
    const arpRepliesBefore = b.board.stack.netif.stats.arpRxReplies;
    const pinger = new Pinger(b.board.stack, kernel);
    try {
      const results = [];
      for (let i = 0; i < 3; i++) results.push(await pinger.ping(2000));
      for (const r of results) {
        expect(r.rttMs).not.toBeNull();
        expect(r.intact).toBe(true);
      }
    } finally {
      pinger.close();
    }
    expect(b.board.stack.netif.stats.arpTxRequests).toBeGreaterThan(requestsBefore);
    expect(b.board.stack.netif.stats.arpRxReplies).toBeGreaterThan(arpRepliesBefore);
    const entry = b.board.stack.netif.neighbors
      .list(b.board.scheduler.now())
      .find((n) => n.ip === kernel);
    expect(entry?.state).toBe("REACHABLE");
    expect(entry?.mac).not.toBeNull();
    expect(formatMac(entry!.mac!)).toBe(tapMac);
    expect(b.board.stack.icmp.stats.rxEchoReplies).toBeGreaterThanOrEqual(3);
  });
});
