// ICMP echo against the Linux kernel: iputils ping runs in a namespace this file creates and pings the board
// on a real TAP — a burst, fragmented echoes both ways (8000 and 65000 bytes), a flood, and a broadcast echo
// the board must ignore as Linux does. Traffic stays inside 10.66.1.0/24 in that namespace.

import { describe, expect, it } from "vitest";
import { canRunTapTests } from "../helpers/env.js";
import { parsePingSummary, runInNetns, useTestBoard } from "../helpers/board.js";

const run = canRunTapTests("icmp.test.ts", ["ping", "tshark"]);

describe.runIf(run)("ICMP echo from the Linux kernel", () => {
  const board = useTestBoard("wic", "10.66.1");

  it("answers 100 pings 10 ms apart with no loss", async () => {
    const b = board();
    const before = b.board.stack.icmp.stats.txEchoReplies;
    const r = await runInNetns(b.ns, ["ping", "-c", "100", "-i", "0.01", "-W", "1", b.boardIp], 15_000);
    const s = parsePingSummary(r.stdout);
    expect(s).toEqual({ transmitted: 100, received: 100, lossPercent: 0 });
    expect(r.code).toBe(0);
    expect(b.board.stack.icmp.stats.txEchoReplies - before).toBe(100);
  });

  it.each([
    { size: 8000, waitS: "1" },
    { size: 65000, waitS: "3" },
  ])("answers $size-byte echoes, reassembling and fragmenting", async ({ size, waitS }) => {
    const b = board();
    const reassembledBefore = b.board.stack.ip.reassembler.stats.reassembled;
    const txFragmentsBefore = b.board.stack.ip.stats.txFragments;
    const r = await runInNetns(
      b.ns,
      ["ping", "-s", String(size), "-c", "3", "-i", "0.2", "-W", waitS, b.boardIp],
      15_000,
    );
    expect(parsePingSummary(r.stdout)).toEqual({ transmitted: 3, received: 3, lossPercent: 0 });
    // The reply line shows the kernel got the whole echo back: "<size + 8> bytes from …".
    expect(r.stdout).toContain(`${size + 8} bytes from ${b.boardIp}`);
    expect(b.board.stack.ip.reassembler.stats.reassembled - reassembledBefore).toBe(3);
    // Each reply is fragmented at the 1500-byte MTU: at least ceil((size + 8) / 1480) fragments.
    const perReply = Math.ceil((size + 8) / 1480);
    expect(b.board.stack.ip.stats.txFragments - txFragmentsBefore).toBeGreaterThanOrEqual(3 * perReply);
  });

  it("survives a 2000-packet flood ping with no loss", async () => {
    const b = board();
    const r = await runInNetns(b.ns, ["ping", "-f", "-c", "2000", "-W", "1", b.boardIp], 20_000);
    expect(r.timedOut).toBe(false);
    expect(parsePingSummary(r.stdout)).toEqual({ transmitted: 2000, received: 2000, lossPercent: 0 });
  });

  it("does not answer an echo to the broadcast address (RFC 1122 §3.2.2.6, as Linux)", async () => {
    const b = board();
    const before = b.board.stack.icmp.stats.dropBroadcastEcho;
    const repliesBefore = b.board.stack.icmp.stats.txEchoReplies;
    const r = await runInNetns(b.ns, ["ping", "-b", "-c", "3", "-i", "0.2", "-W", "1", "10.66.1.255"], 10_000);
    const s = parsePingSummary(r.stdout);
    expect(s.transmitted).toBe(3);
    expect(s.received).toBe(0);
    expect(r.code).not.toBe(0);
    expect(b.board.stack.icmp.stats.dropBroadcastEcho - before).toBe(3);
    expect(b.board.stack.icmp.stats.txEchoReplies).toBe(repliesBefore);
  });
});
