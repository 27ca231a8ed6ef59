// Scenarios: loss recovery without the timer — fast retransmit on three duplicate ACKs (RFC 5681 §3.2),
// NewReno partial and full ACKs (RFC 6582 §3.2), and SACK-based recovery (RFC 6675 §5) driven by the
// peer's SACK blocks (with RACK-TLP off: its scenarios are in rack.test.ts). Both ISN pairs. Segments are
// 1460 bytes; cwnd starts at 10 segments (RFC 6928).

import { describe, expect, it } from "vitest";
import { ISN_PAIRS, scriptFixture, type TcpScript } from "../../helpers/tcpScript.js";

const script = scriptFixture();
/** The RFC 6675 DupThresh path (RACK-TLP, the default with SACK, is test/tcp/scenarios/rack.test.ts's). */
const RFC6675 = { rack: false };
const MSS = 1460;

/** Writes `n` full segments at time t and expects them all on the wire (cwnd allows up to 10). */
function sendSegments(s: TcpScript, n: number, t: number, first = 1): void {
  s.write(n * MSS);
  for (let i = 0; i < n; i++) s.expectSent(t, { flags: i === n - 1 ? "P." : ".", seq: first + i * MSS, len: MSS });
}

/** Relative sequence number of the first byte of segment i (0-based). */
const at = (i: number): number => 1 + i * MSS;

describe.each(ISN_PAIRS)("recovery ($name)", (isns) => {
  it("RFC 5681 §3.2: the third duplicate ACK (not the second) triggers a fast retransmit of SND.UNA (SACK off)", () => {
    const s = script({ isns });
    s.established();
    sendSegments(s, 5, 100);
    s.inject(200, { flags: ".", seq: 1, ack: at(1) });
    s.inject(210, { flags: ".", seq: 1, ack: at(1) });
    s.inject(220, { flags: ".", seq: 1, ack: at(1) });
    s.expectNothing(220);
    s.inject(230, { flags: ".", seq: 1, ack: at(1) });
    s.expectSent(230, { flags: "P.", seq: at(1), len: MSS });
    expect(s.stack.tcp.stats.fastRetransmits).toBe(1);
    expect(s.mustPcb().inRecovery).toBe(true);
  });

  it("RFC 3042: each of the first two duplicate ACKs sends one new segment beyond cwnd (limited transmit)", () => {
    const s = script({ isns });
    s.established();
    // 12 segments queued, the initial window (10 segments) sends 10.
    s.write(12 * MSS);
    for (let i = 0; i < 10; i++) s.expectSent(100, { flags: ".", seq: at(i), len: MSS });
    s.expectNothing(150);
    s.inject(200, { flags: ".", seq: 1, ack: at(0) });
    s.expectSent(200, { flags: ".", seq: at(10), len: MSS });
    s.inject(210, { flags: ".", seq: 1, ack: at(0) });
    s.expectSent(210, { flags: "P.", seq: at(11), len: MSS });
    // The third duplicate ACK starts fast retransmit as usual.
    s.inject(220, { flags: ".", seq: 1, ack: at(0) });
    s.expectSent(220, { flags: "P.", seq: at(0), len: MSS });
    expect(s.stack.tcp.stats.fastRetransmits).toBe(1);
  });

  it("RFC 5681 §2: ACKs that carry data or change the window are not duplicate ACKs", () => {
    const s = script({ isns });
    s.established();
    sendSegments(s, 5, 100);
    s.inject(200, { flags: ".", seq: 1, ack: at(1) });
    s.inject(210, { flags: ".", seq: 1, ack: at(1), win: 60000 });
    s.inject(220, { flags: ".", seq: 1, ack: at(1), win: 50000 });
    s.inject(230, { flags: "P.", seq: 1, ack: at(1), win: 50000, data: 10 });
    s.expectNothing(239);
    expect(s.stack.tcp.stats.fastRetransmits).toBe(0);
    // The data is ACKed by the delayed-ACK timer, nothing else.
    s.expectSent(270, { flags: ".", len: 0, ack: 11 });
  });

  it("RFC 6582 §3.2 step 4: a partial ACK during NewReno recovery retransmits the next hole at once", () => {
    const s = script({ isns });
    s.established();
    sendSegments(s, 6, 100);
    // Segments 1 and 3 are lost; 0, 2, 4 and 5 arrive.
    s.inject(200, { flags: ".", seq: 1, ack: at(1) });
    for (const t of [201, 202, 203]) s.inject(t, { flags: ".", seq: 1, ack: at(1) });
    s.expectSent(203, { flags: "P.", seq: at(1), len: MSS });
    // The retransmission fills the first hole: the ACK stops at the second (below the recovery point).
    s.inject(300, { flags: ".", seq: 1, ack: at(3) });
    s.expectSent(300, { flags: "P.", seq: at(3), len: MSS });
    expect(s.mustPcb().inRecovery).toBe(true);
    // Full acknowledgment: recovery ends.
    s.inject(400, { flags: ".", seq: 1, ack: at(6) });
    expect(s.mustPcb().inRecovery).toBe(false);
    s.expectNothing(5000);
  });

  it("RFC 6582 §3.2 step 3, RFC 5681 §3.2: the full ACK ends recovery with cwnd = min(ssthresh, flight + MSS) = FlightSize/2", () => {
    const s = script({ isns });
    s.established();
    sendSegments(s, 5, 100);
    s.inject(200, { flags: ".", seq: 1, ack: at(1) });
    for (const t of [201, 202, 203]) s.inject(t, { flags: ".", seq: 1, ack: at(1) });
    s.expectSent(203, { flags: "P.", seq: at(1), len: MSS });
    s.inject(300, { flags: ".", seq: 1, ack: at(5) });
    // ssthresh = FlightSize/2 = 4 segments/2 = 2 segments: two new segments go, then the window is full.
    sendSegments(s, 2, 300, at(5));
    s.write(MSS);
    s.expectNothing(350);
  });

  it("RFC 5681 §3.2 step 4: in NewReno recovery each further duplicate ACK inflates the window by one segment, clocking out new data", () => {
    const s = script({ isns });
    s.established();
    sendSegments(s, 8, 100);
    s.inject(200, { flags: ".", seq: 1, ack: at(1) });
    for (const t of [201, 202, 203]) s.inject(t, { flags: ".", seq: 1, ack: at(1) });
    s.expectSent(203, { flags: "P.", seq: at(1), len: MSS });
    // ssthresh = 7/2 segments = 5110 bytes; cwnd + 3 MSS inflation = 9490 < 7 in flight + 1: no new data yet.
    s.write(4 * MSS);
    s.expectNothing(210);
    for (const t of [211, 212, 213]) s.inject(t, { flags: ".", seq: 1, ack: at(1) });
    // Each duplicate ACK says a segment left the network; once the inflated window passes the flight,
    // new segments go (one per duplicate ACK from here).
    const sent = s.drain();
    expect(sent.length).toBeGreaterThan(0);
    for (const seg of sent) expect(seg.seq).toBeGreaterThanOrEqual(at(8));
  });

  it("RFC 6675 §5: with SACK the hole the blocks point at is retransmitted", () => {
    const s = script({ isns, tcp: RFC6675 });
    s.established({ peer: { mss: 1460, sackOk: true } });
    sendSegments(s, 5, 100);
    s.inject(200, { flags: ".", seq: 1, ack: at(1) });
    s.inject(210, { flags: ".", seq: 1, ack: at(1), options: { sack: [[at(2), at(3)]] } });
    s.inject(220, { flags: ".", seq: 1, ack: at(1), options: { sack: [[at(2), at(4)]] } });
    s.expectNothing(220);
    s.inject(230, { flags: ".", seq: 1, ack: at(1), options: { sack: [[at(2), at(5)]] } });
    s.expectSent(230, { flags: "P.", seq: at(1), len: MSS });
    s.expectNothing(240);
    s.inject(300, { flags: ".", seq: 1, ack: at(5) });
    expect(s.mustPcb().inRecovery).toBe(false);
    s.expectNothing(5000);
  });

  it("RFC 6675 §5 (4.3): entering recovery retransmits HighACK+1 at once, even when pipe exceeds cwnd", () => {
    const s = script({ isns, tcp: RFC6675 });
    s.established({ peer: { mss: 1460, sackOk: true } });
    sendSegments(s, 10, 100);
    // Segment 0 is lost; segments 1, 2, 3 arrive. Seven segments still count as in the network (pipe
    // 7 MSS > cwnd = FlightSize/2 = 5 MSS), but the first loss is repaired now, not on the 5th duplicate.
    s.inject(200, { flags: ".", seq: 1, ack: 1, options: { sack: [[at(1), at(2)]] } });
    s.inject(210, { flags: ".", seq: 1, ack: 1, options: { sack: [[at(1), at(3)]] } });
    s.inject(220, { flags: ".", seq: 1, ack: 1, options: { sack: [[at(1), at(4)]] } });
    s.expectSent(220, { flags: "P.", seq: 1, len: MSS });
    s.expectNothing(230);
  });

  it("RFC 6675 §5: two holes are both retransmitted as SACKs reveal them, lowest first", () => {
    const s = script({ isns, tcp: RFC6675 });
    s.established({ peer: { mss: 1460, sackOk: true } });
    sendSegments(s, 8, 100);
    // Segments 1 and 3 lost.
    s.inject(200, { flags: ".", seq: 1, ack: at(1) });
    s.inject(201, { flags: ".", seq: 1, ack: at(1), options: { sack: [[at(2), at(3)]] } });
    s.inject(202, { flags: ".", seq: 1, ack: at(1), options: { sack: [[at(4), at(5)], [at(2), at(3)]] } });
    s.inject(203, { flags: ".", seq: 1, ack: at(1), options: { sack: [[at(4), at(6)], [at(2), at(3)]] } });
    s.expectSent(203, { flags: "P.", seq: at(1), len: MSS });
    s.inject(204, { flags: ".", seq: 1, ack: at(1), options: { sack: [[at(4), at(7)], [at(2), at(3)]] } });
    s.inject(205, { flags: ".", seq: 1, ack: at(1), options: { sack: [[at(4), at(8)], [at(2), at(3)]] } });
    const rest = s.drain();
    expect(rest.map((x) => x.seq)).toContain(at(3));
    expect(rest.every((x) => x.seq !== at(1))).toBe(true);
    s.inject(300, { flags: ".", seq: 1, ack: at(8) });
    expect(s.mustPcb().inRecovery).toBe(false);
    s.expectNothing(5000);
  });

  it("RFC 2018 §2: SACK blocks are ignored when SACK was not negotiated (NewReno dup-ACK counting only)", () => {
    const s = script({ isns });
    s.established({ peer: { mss: 1460 } });
    sendSegments(s, 5, 100);
    s.inject(200, { flags: ".", seq: 1, ack: at(1), options: { sack: [[at(2), at(5)]] } });
    s.inject(210, { flags: ".", seq: 1, ack: at(1), options: { sack: [[at(2), at(5)]] } });
    s.expectNothing(220);
    expect(s.mustPcb().scoreboard.blockCount).toBe(0);
  });
});
