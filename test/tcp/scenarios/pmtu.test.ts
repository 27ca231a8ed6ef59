// Scenarios: path MTU discovery (RFC 1191): DF on every segment (§3), "fragmentation needed" lowering the
// connection's MSS and re-sending from SND.UNA at the new size (§6.3), the 68-byte floor (§3), the plateau
// table for a next-hop MTU of 0 (§5, §7), ignoring what would not lower the MSS, and the RFC 5927 §4.1 checks
// on the quote (4-tuple, SND.UNA ≤ SEG.SEQ < SND.NXT). Both ISN pairs. The ICMP messages are built here from
// independent byte writers (test/helpers/wire.ts).

import { describe, expect, it } from "vitest";
import { parseIpv4 } from "../../../src/core/addr.js";
import { ALL_OFFLOADS } from "../../../src/link/offload.js";
import { ISN_PAIRS, LOCAL_PORT, PEER_PORT, scriptFixture, type TcpScript } from "../../helpers/tcpScript.js";

const script = scriptFixture();

/** A router on the path, the source of the ICMP messages. */
const ROUTER = parseIpv4("10.0.0.254");

/** ICMP destination unreachable, code 4, next-hop MTU `mtu`, about the segment at relative seq `seq`. */
function fragNeeded(s: TcpScript, t: number, mtu: number, seq: number, len: number, more: { srcPort?: number; src?: number; totalLength?: number } = {}): void {
  s.injectIcmp(t, 3, 4, mtu, { seqAbs: (s.ourIsn + seq) >>> 0, len, ...more }, ROUTER);
}

describe.each(ISN_PAIRS)("path MTU discovery ($name)", (isns) => {
  it("RFC 1191 §3: every segment we send has DF set — SYN, data, ACK, FIN and RST", () => {
    const s = script({ isns });
    s.established();
    expect(s.history.map((g) => g.df)).toEqual([true, true]);
    s.write(100);
    expect(s.expectSent(100, { flags: "P.", seq: 1, len: 100 }).df).toBe(true);
    s.inject(150, { flags: "F.", seq: 1, ack: 101 });
    expect(s.expectSent(150, { flags: ".", seq: 101, ack: 2 }).df).toBe(true);
    s.stack.tcp.shutdownWrite(s.mustPcb());
    expect(s.expectSent(150, { flags: "F.", seq: 101 }).df).toBe(true);
    s.inject(200, { flags: ".", seq: 2, ack: 102 });
    // A reset for a segment to a closed port.
    s.inject(300, { flags: "S", seq: 0, dstPort: 9999 });
    expect(s.expectSent(300, { flags: "R." }).df).toBe(true);
  });

  it("RFC 1191 §6.3: next-hop MTU 1280 lowers the MSS to 1240 and re-sends from SND.UNA at that size; cwnd stays", () => {
    const s = script({ isns });
    const pcb = s.established();
    const cwnd = s.stack.tcp.info(pcb).cwnd;
    const ssthresh = s.stack.tcp.info(pcb).ssthresh;
    s.write(4380);
    s.expectSent(100, { flags: ".", seq: 1, len: 1460 });
    s.expectSent(100, { flags: ".", seq: 1461, len: 1460 });
    s.expectSent(100, { flags: "P.", seq: 2921, len: 1460 });
    // The router dropped the first segment (1500 bytes on a 1280-byte link) and says so.
    fragNeeded(s, 130, 1280, 1, 1460);
    s.expectSent(130, { flags: ".", seq: 1, len: 1240 });
    s.expectSent(130, { flags: ".", seq: 1241, len: 1240 });
    s.expectSent(130, { flags: ".", seq: 2481, len: 1240 });
    s.expectSent(130, { flags: "P.", seq: 3721, len: 660 });
    const info = s.stack.tcp.info(pcb);
    expect(info).toMatchObject({ mss: 1240, pathMtu: 1280, cwnd, ssthresh });
    expect(s.stack.tcp.stats).toMatchObject({ pmtuReductions: 1, pmtuIgnored: 0, fastRetransmits: 0, rtoFired: 0 });
    // The rest of the connection keeps the smaller size.
    s.inject(230, { flags: ".", seq: 1, ack: 4381 });
    s.write(2000);
    s.expectSent(230, { flags: ".", seq: 4381, len: 1240 });
    // (Nagle holds the short tail of new data until the ACK.)
    s.inject(330, { flags: ".", seq: 1, ack: 5621 });
    s.expectSent(330, { flags: "P.", seq: 5621, len: 760 });
    s.inject(430, { flags: ".", seq: 1, ack: 6381 });
  });

  it("with timestamps the options come off too: MTU 1280 → 1228 payload bytes", () => {
    const s = script({ isns });
    const pcb = s.established({ peer: { mss: 1460, ts: true } });
    expect(s.stack.tcp.info(pcb).mss).toBe(1448);
    s.write(1448);
    s.expectSent(100, { flags: "P.", seq: 1, len: 1448 });
    fragNeeded(s, 120, 1280, 1, 1448);
    s.expectSent(120, { flags: ".", seq: 1, len: 1228 });
    s.expectSent(120, { flags: "P.", seq: 1229, len: 220 });
    s.inject(220, { flags: ".", seq: 1, ack: 1449 });
  });

  it("RFC 1191 §3: the estimate never goes below 68 bytes (a next-hop MTU of 40 gives 28-byte segments)", () => {
    const s = script({ isns });
    const pcb = s.established();
    s.write(60);
    s.expectSent(100, { flags: "P.", seq: 1, len: 60 });
    fragNeeded(s, 110, 40, 1, 60);
    expect(s.stack.tcp.info(pcb)).toMatchObject({ mss: 28, pathMtu: 68 });
    s.expectSent(110, { flags: ".", seq: 1, len: 28 });
    s.expectSent(110, { flags: ".", seq: 29, len: 28 });
    s.expectSent(110, { flags: "P.", seq: 57, len: 4 });
    s.inject(210, { flags: ".", seq: 1, ack: 61 });
  });

  it("RFC 1191 §5, §7: a next-hop MTU of 0 (an older router) means the plateau below the datagram's size", () => {
    const s = script({ isns });
    const pcb = s.established();
    s.write(1460);
    s.expectSent(100, { flags: "P.", seq: 1, len: 1460 });
    // 1500 bytes were too big: the next plateau down is 1492 (IEEE 802.3).
    fragNeeded(s, 110, 0, 1, 1460);
    expect(s.stack.tcp.info(pcb)).toMatchObject({ mss: 1452, pathMtu: 1492 });
    s.expectSent(110, { flags: ".", seq: 1, len: 1452 });
    s.expectSent(110, { flags: "P.", seq: 1453, len: 8 });
    s.inject(210, { flags: ".", seq: 1, ack: 1461 });
  });

  it("a next-hop MTU that would not lower the MSS is ignored (and counted)", () => {
    const s = script({ isns });
    const pcb = s.established();
    s.write(1460);
    s.expectSent(100, { flags: "P.", seq: 1, len: 1460 });
    fragNeeded(s, 110, 1500, 1, 1460);
    fragNeeded(s, 111, 9000, 1, 1460);
    s.expectNothing(115);
    expect(s.stack.tcp.info(pcb)).toMatchObject({ mss: 1460, pathMtu: 0 });
    expect(s.stack.tcp.stats).toMatchObject({ pmtuReductions: 0, pmtuIgnored: 2 });
    // A later, lower value still counts; one between the two current sizes does not raise it back.
    fragNeeded(s, 120, 1000, 1, 1460);
    s.expectSent(120, { flags: ".", seq: 1, len: 960 });
    s.expectSent(120, { flags: "P.", seq: 961, len: 500 });
    fragNeeded(s, 121, 1400, 1, 960);
    s.expectNothing(150);
    expect(s.stack.tcp.info(pcb).mss).toBe(960);
    s.inject(220, { flags: ".", seq: 1, ack: 1461 });
  });

  it("RFC 5927 §4.1: a quoted sequence number outside SND.UNA..SND.NXT is ignored", () => {
    const s = script({ isns });
    const pcb = s.established();
    s.write(2920);
    s.expectSent(100, { flags: ".", seq: 1, len: 1460 });
    s.expectSent(100, { flags: "P.", seq: 1461, len: 1460 });
    s.inject(150, { flags: ".", seq: 1, ack: 1461 });
    // Below SND.UNA (already acknowledged) and at SND.NXT (never sent): both forged or stale.
    fragNeeded(s, 160, 1280, 1, 1460);
    fragNeeded(s, 161, 1280, 2921, 1460);
    s.expectNothing(200);
    expect(s.stack.tcp.info(pcb).mss).toBe(1460);
    // Inside: taken.
    fragNeeded(s, 210, 1280, 1461, 1460);
    s.expectSent(210, { flags: ".", seq: 1461, len: 1240 });
    s.expectSent(210, { flags: "P.", seq: 2701, len: 220 });
    s.inject(300, { flags: ".", seq: 1, ack: 2921 });
  });

  it("a quote with another 4-tuple (port, or our source address) is not this connection's", () => {
    const s = script({ isns });
    const pcb = s.established();
    s.write(1460);
    s.expectSent(100, { flags: "P.", seq: 1, len: 1460 });
    fragNeeded(s, 110, 1280, 1, 1460, { srcPort: LOCAL_PORT + 1 });
    fragNeeded(s, 111, 1280, 1, 1460, { src: parseIpv4("10.0.0.3") });
    s.injectIcmp(112, 3, 4, 1280, { seqAbs: (s.ourIsn + 1) >>> 0, len: 1460, dstPort: PEER_PORT + 1 }, ROUTER);
    s.expectNothing(150);
    expect(s.stack.tcp.info(pcb).mss).toBe(1460);
    s.inject(200, { flags: ".", seq: 1, ack: 1461 });
  });

  it("a late message about acknowledged data is stale; one about data in flight lowers the MSS for what follows", () => {
    const s = script({ isns });
    const pcb = s.established();
    s.write(1460);
    s.expectSent(100, { flags: "P.", seq: 1, len: 1460 });
    s.inject(150, { flags: ".", seq: 1, ack: 1461 });
    // A late message about the segment (acknowledged by now) is stale: ignored.
    fragNeeded(s, 160, 1280, 1, 1460);
    expect(s.stack.tcp.info(pcb).mss).toBe(1460);
    expect(s.stack.tcp.stats.pmtuIgnored + s.stack.tcp.stats.pmtuReductions).toBe(0);
    s.write(1300);
    s.expectSent(160, { flags: "P.", seq: 1461, len: 1300 });
    fragNeeded(s, 171, 1280, 1461, 1300);
    s.expectSent(171, { flags: ".", seq: 1461, len: 1240 });
    s.expectSent(171, { flags: "P.", seq: 2701, len: 60 });
    s.inject(250, { flags: ".", seq: 1, ack: 2761 });
    s.expectNothing(300);
  });

  it("with TSO the re-sent super-segment is cut at the new size (gso_size 1240)", () => {
    const s = script({ isns, offloads: ALL_OFFLOADS });
    const pcb = s.established();
    s.write(10 * 1460);
    const first = s.expectSent(100, { flags: "P.", seq: 1, len: 10 * 1460 });
    expect([first.gsoSize, first.df]).toEqual([1460, true]);
    // A router's quote of a super-frame's segment: the first one, 1500 bytes.
    fragNeeded(s, 110, 1280, 1, 1460);
    expect(s.stack.tcp.info(pcb).mss).toBe(1240);
    // 14 600 bytes: 11 whole 1240-byte segments in one super-segment, then the 960-byte tail.
    const again = s.expectSent(110, { flags: ".", seq: 1, len: 11 * 1240 });
    expect(again.gsoSize).toBe(1240);
    s.expectSent(110, { flags: "P.", seq: 1 + 11 * 1240, len: 960 });
    s.inject(210, { flags: ".", seq: 1, ack: 1 + 10 * 1460 });
  });

  it("in SYN-SENT code 4 is not a hard error any more (RFC 1191 §6.3 over RFC 1122 §4.2.3.9): counted, no abort", () => {
    const s = script({ isns });
    const pcb = s.synSent();
    s.injectIcmp(10, 3, 4, 576, { seqAbs: s.ourIsn >>> 0, len: 0 }, ROUTER);
    expect(s.state(pcb)).toBe("SYN-SENT");
    expect(s.stack.tcp.stats).toMatchObject({ pmtuIgnored: 1, icmpHardErrors: 0 });
    // The handshake still completes and the MSS comes from the SYN-ACK as usual.
    s.inject(50, { flags: "S.", seq: 0, ack: 1, options: { mss: 1460 } });
    s.expectSent(50, { flags: ".", seq: 1, ack: 1 });
    expect(s.stack.tcp.info(pcb).mss).toBe(1460);
  });
});
