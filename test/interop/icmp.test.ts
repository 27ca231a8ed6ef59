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

  it("returns a Record Route option with its own address (ping -R) and timestamps (ping -T tsonly)", async () => {
    const b = board();
    const rr = await runInNetns(b.ns, ["ping", "-R", "-c", "1", "-W", "2", b.boardIp], 10_000);
    expect(parsePingSummary(rr.stdout)).toEqual({ transmitted: 1, received: 1, lossPercent: 0 });
    // iputils prints the recorded route under the reply, "RR: \t<kernel side>\n\t<board>\n\t<kernel side>":
    // the kernel records itself on the way out and back in, the board in between.
    const kernelIp = b.boardIp.replace(/\.2$/, ".1");
    expect(rr.stdout).toContain(`RR: \t${kernelIp}\n\t${b.boardIp}\n\t${kernelIp}\n`);
    const ts = await runInNetns(b.ns, ["ping", "-T", "tsonly", "-c", "1", "-W", "2", b.boardIp], 10_000);
    expect(parsePingSummary(ts.stdout)).toEqual({ transmitted: 1, received: 1, lossPercent: 0 });
    // "TS: \t<ms since midnight> absolute": the board's stamp is there.
    expect(ts.stdout).toMatch(/TS:\s+\d+ absolute/);
  });

  it("answers an ICMP timestamp request with a timestamp reply (as Linux)", async () => {
    const b = board();
    const before = b.board.stack.icmp.stats.txTimestampReplies;
    const py = [
      "import socket, struct, time",
      "s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)",
      "s.settimeout(2)",
      "def csum(b):",
      "    t = sum(struct.unpack('!%dH' % (len(b) // 2), b))",
      "    t = (t >> 16) + (t & 0xffff); t += t >> 16",
      "    return ~t & 0xffff",
      "m = struct.pack('!BBHHHIII', 13, 0, 0, 0x77, 1, 12345, 0, 0)",
      "m = m[:2] + struct.pack('!H', csum(m)) + m[4:]",
      `s.sendto(m, ('${b.boardIp}', 0))`,
      "while True:",
      "    d, a = s.recvfrom(2048)",
      "    icmp = d[(d[0] & 15) * 4:]",
      "    if icmp[0] == 14:",
      "        print('reply', *struct.unpack('!HHIII', icmp[4:20]))",
      "        break",
    ].join("\n");
    const r = await runInNetns(b.ns, ["python3", "-c", py], 10_000);
    expect(r.stderr).toBe("");
    const [, id, seq, originate, receive, transmit] = r.stdout.trim().split(" ").map(Number);
    expect([id, seq, originate]).toEqual([0x77, 1, 12345]);
    expect(receive).toBe(transmit);
    expect(receive).toBeLessThan(86_400_000);
    expect(b.board.stack.icmp.stats.txTimestampReplies - before).toBe(1);
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
