// Scenarios: RACK-TLP loss recovery (RFC 8985), the default with SACK — a tail loss repaired by the tail loss
// probe (§7) instead of the RTO, a lost retransmission found by RACK (§6.2) instead of the RTO, and
// reordering inside the reordering window retransmitting nothing. Each runs again on the RFC 6675 path
// (config rack: false) to show what RACK-TLP saves. The peer answers 100 ms after each send (RTT 100 ms,
// timestamps off). Both ISN pairs; 1460-byte segments; cwnd starts at 10 segments (RFC 6928).

import { describe, expect, it } from "vitest";
import { ISN_PAIRS, scriptFixture, type TcpScript } from "../../helpers/tcpScript.js";
import type { TcpConfig } from "../../../src/tcp/tcp.js";
import { PTO_MIN_MS, WC_DEL_ACK_MS } from "../../../src/tcp/recovery/rack.js";

const script = scriptFixture();
const MSS = 1460;
const SACK_PEER = { peer: { mss: 1460, sackOk: true } };

/** Relative sequence number of the first byte of segment i (0-based). */
const at = (i: number): number => 1 + i * MSS;

/** Writes `n` full segments at time t and expects them all on the wire. */
function sendSegments(s: TcpScript, n: number, t: number): void {
  s.write(n * MSS);
  for (let i = 0; i < n; i++) s.expectSent(t, { flags: i === n - 1 ? "P." : ".", seq: at(i), len: MSS });
}

function stats(s: TcpScript): { rto: number; retransmits: number; probes: number; fast: number } {
  const t = s.stack.tcp.stats;
  return { rto: t.rtoFired, retransmits: t.txRetransmits, probes: t.tlpProbes, fast: t.fastRetransmits };
}

/** Segments 3 and 4 of 5 lost; the peer ACKs 0–2 at 200 and SACKs whatever else reaches it 100 ms later. */
function tailLoss(tcp: Partial<TcpConfig>, isns: (typeof ISN_PAIRS)[number]): TcpScript {
  const s = script({ isns, tcp });
  s.established(SACK_PEER);
  sendSegments(s, 5, 100);
  s.inject(200, { flags: ".", seq: 1, ack: at(3) });
  return s;
}

describe.each(ISN_PAIRS)("RACK-TLP ($name)", (isns) => {
  it("RFC 8985 §7: a tail loss is probed after PTO = 2·SRTT, and RACK repairs the rest without an RTO", () => {
    const s = tailLoss({}, isns);
    const pcb = s.mustPcb();
    expect(pcb.rack).not.toBeNull();
    // No new data: the probe is the last segment again (§7.3), one PTO after the ACK, well before the RTO.
    const pto = Math.max(2 * pcb.rtt.srttMs, PTO_MIN_MS);
    expect(pto).toBeLessThan(pcb.rtt.currentRtoMs);
    s.expectSent(200 + pto, { flags: ".", seq: at(4), len: MSS });
    s.expectNothing(200 + pto + 50);
    // The probe arrives and is SACKed: segment 3, sent before it, is lost (§6.2) and goes at once.
    const t = 300 + pto;
    s.inject(t, { flags: ".", seq: 1, ack: at(3), options: { sack: [[at(4), at(5)]] } });
    s.expectSent(t, { flags: ".", seq: at(3), len: MSS });
    s.inject(t + 100, { flags: ".", seq: 1, ack: at(5) });
    expect(pcb.inRecovery).toBe(false);
    s.expectNothing(t + 5000);
    expect(stats(s)).toEqual({ rto: 0, retransmits: 2, probes: 1, fast: 1 });
  });

  it("the same tail loss on the RFC 6675 path waits for the retransmission timer", () => {
    const s = tailLoss({ rack: false }, isns);
    // The timer restarted with the ACK at 200; nothing goes before it fires.
    const due = 200 + s.mustPcb().rtt.currentRtoMs;
    s.expectNothing(due - 1);
    s.expectSent(due, { flags: ".", seq: at(3), len: MSS });
    expect(due).toBeGreaterThanOrEqual(400);
    expect(stats(s).rto).toBe(1);
  });

  it("RFC 8985 §6.2: a lost retransmission is detected once data sent after it is SACKed, without an RTO", () => {
    const run = (tcp: Partial<TcpConfig>) => {
      const s = script({ isns, tcp });
      s.established(SACK_PEER);
      sendSegments(s, 10, 100);
      // Segment 1 is lost; 0 and 2–4 arrive.
      s.inject(200, { flags: ".", seq: 1, ack: at(1) });
      s.inject(201, { flags: ".", seq: 1, ack: at(1), options: { sack: [[at(2), at(3)]] } });
      s.inject(202, { flags: ".", seq: 1, ack: at(1), options: { sack: [[at(2), at(4)]] } });
      s.inject(203, { flags: ".", seq: 1, ack: at(1), options: { sack: [[at(2), at(5)]] } });
      // Three segments SACKed: segment 1 is lost (RACK with no reordering seen; RFC 6675's DupThresh).
      const first = s.drain();
      expect(first.map((x) => [x.t, x.seq])).toEqual([[203, at(1)]]);
      // The application writes more; as SACKs for 5–9 drain the pipe, some of it goes (RFC 6675 §5 rule 2
      // in both). The retransmission of segment 1 is lost.
      s.write(2 * MSS);
      for (let i = 5; i < 10; i++) s.inject(199 + i, { flags: ".", seq: 1, ack: at(1), options: { sack: [[at(2), at(i + 1)]] } });
      const fresh = s.drain();
      expect(fresh.length).toBeGreaterThan(0);
      expect(fresh.every((x) => x.seq >= at(10))).toBe(true);
      // 100 ms after the new data went the peer SACKs it.
      const last = fresh[fresh.length - 1];
      const t = (last?.t ?? 0) + 100;
      s.inject(t, { flags: ".", seq: 1, ack: at(1), options: { sack: [[at(2), at(10 + fresh.length)]] } });
      return { s, t, end: 10 + fresh.length };
    };
    const { s: rack, t, end } = run({});
    // Data sent after the retransmission is delivered: the retransmission is lost (§6.2) and goes again.
    const again = rack.drain();
    expect(again.map((x) => x.seq)).toEqual([at(1)]);
    expect(again[0]?.t).toBe(t);
    rack.inject(t + 100, { flags: ".", seq: 1, ack: at(end) });
    expect(rack.mustPcb().inRecovery).toBe(false);
    rack.expectNothing(5000);
    expect(stats(rack)).toMatchObject({ rto: 0, retransmits: 2, fast: 1 });
    expect(rack.stack.tcp.stats.rackLost).toBe(2);

    // RFC 6675: nothing marks a retransmission lost; the retransmission timer does.
    const { s: rfc6675 } = run({ rack: false });
    expect(rfc6675.drain()).toEqual([]);
    const due = rfc6675.mustPcb().rtxDeadline.at - rfc6675.scheduler.now() + t;
    rfc6675.expectNothing(due - 1);
    rfc6675.expectSent(due, { flags: ".", seq: at(1), len: MSS });
    expect(stats(rfc6675).rto).toBe(1);
  });

  it("RFC 8985 §6.2: reordering inside the reordering window retransmits nothing (RFC 6675 would)", () => {
    const run = (tcp: Partial<TcpConfig>) => {
      const s = script({ isns, tcp });
      s.established(SACK_PEER);
      sendSegments(s, 10, 100);
      s.inject(200, { flags: ".", seq: 1, ack: at(1) });
      // Segment 1 arrives 10 ms late, after segment 2: RACK waits a quarter of min_RTT (25 ms).
      s.inject(201, { flags: ".", seq: 1, ack: at(1), options: { sack: [[at(2), at(3)]] } });
      s.expectNothing(210);
      s.inject(210, { flags: ".", seq: 1, ack: at(3) });
      // Reordering has been seen, so the window holds even with three segments SACKed: segment 3 comes
      // after 4, 5 and 6.
      s.inject(211, { flags: ".", seq: 1, ack: at(3), options: { sack: [[at(4), at(5)]] } });
      s.inject(212, { flags: ".", seq: 1, ack: at(3), options: { sack: [[at(4), at(6)]] } });
      s.inject(213, { flags: ".", seq: 1, ack: at(3), options: { sack: [[at(4), at(7)]] } });
      const sent = s.drain();
      s.inject(215, { flags: ".", seq: 1, ack: at(10) });
      return { s, sent };
    };
    const rack = run({});
    expect(rack.sent).toEqual([]);
    expect(rack.s.mustPcb().rack?.reorderingSeen).toBe(true);
    rack.s.expectNothing(5000);
    expect(stats(rack.s)).toMatchObject({ rto: 0, retransmits: 0, fast: 0 });

    const rfc6675 = run({ rack: false });
    expect(rfc6675.sent.map((x) => x.seq)).toEqual([at(3)]);
    expect(stats(rfc6675.s).retransmits).toBe(1);
  });

  it("RFC 8985 §7.3: with data the window holds back, the probe is a new segment; one probe per flight", () => {
    const s = script({ isns });
    s.established(SACK_PEER);
    s.write(20 * MSS);
    for (let i = 0; i < 10; i++) s.expectSent(100, { flags: ".", seq: at(i), len: MSS });
    // No ACK comes: one PTO later a new segment goes beyond cwnd (cwnd is left as it is), and no second one.
    const pcb = s.mustPcb();
    const cwnd = pcb.cc.cwndBytes;
    const pto = Math.max(2 * pcb.rtt.srttMs, PTO_MIN_MS);
    s.expectSent(100 + pto, { flags: "P.", seq: at(10), len: MSS });
    expect(pcb.cc.cwndBytes).toBe(cwnd);
    expect(pcb.rack?.tlpOn).toBe(true);
    s.expectNothing(100 + pto + 50);
    expect(stats(s)).toMatchObject({ probes: 1, rto: 0 });
    // The ACK for everything, probe included, clears it (new data: nothing to infer, §7.4).
    s.inject(100 + pto + 60, { flags: ".", seq: 1, ack: at(11) });
    expect(pcb.rack?.tlpOn).toBe(false);
    s.drain();
  });

  it("RFC 8985 §6.2 step 4: a D-SACK for a spurious retransmission widens the reordering window", () => {
    const s = script({ isns });
    s.established(SACK_PEER);
    sendSegments(s, 10, 100);
    s.inject(200, { flags: ".", seq: 1, ack: at(1) });
    for (let i = 3; i <= 5; i++) s.inject(198 + i, { flags: ".", seq: 1, ack: at(1), options: { sack: [[at(2), at(i)]] } });
    // Three SACKed and no reordering seen: segment 1 is deemed lost and retransmitted at once.
    s.expectSent(203, { flags: ".", seq: at(1), len: MSS });
    const rack = s.mustPcb().rack;
    expect(rack?.reoWndMult).toBe(1);
    // It was only late: the original arrives, then the retransmission, which the peer reports as a D-SACK.
    s.inject(210, { flags: ".", seq: 1, ack: at(5) });
    s.inject(303, { flags: ".", seq: 1, ack: at(5), options: { sack: [[at(1), at(2)]] } });
    expect(s.stack.tcp.stats.fastRetransmits).toBe(1);
    expect(rack?.reoWndMult).toBe(2);
    s.inject(310, { flags: ".", seq: 1, ack: at(10) });
    s.drain();
  });

  it("RFC 8985 §7.4: a probe that turns out needless (the ACK was late) leaves ssthresh alone", () => {
    const s = tailLoss({}, isns);
    const pcb = s.mustPcb();
    const pto = Math.max(2 * pcb.rtt.srttMs, PTO_MIN_MS);
    s.expectSent(200 + pto, { flags: ".", seq: at(4), len: MSS });
    const ssthresh = pcb.cc.ssthreshBytes;
    // The late ACK for the originals, then the peer's duplicate ACK for the probe's copy.
    s.inject(200 + pto + 1, { flags: ".", seq: 1, ack: at(5) });
    expect(pcb.rack?.tlpOn).toBe(true);
    s.inject(300 + pto, { flags: ".", seq: 1, ack: at(5) });
    expect(pcb.rack?.tlpOn).toBe(false);
    expect(s.stack.tcp.stats.tlpRepairs).toBe(0);
    expect(pcb.cc.ssthreshBytes).toBe(ssthresh);
    s.expectNothing(300 + pto + 1000);
  });

  it("RFC 8985 §7.4: an ACK beyond a retransmitted probe with no D-SACK means it repaired a loss: cwnd drops", () => {
    const s = tailLoss({}, isns);
    const pcb = s.mustPcb();
    // Only segment 4 was lost. With one segment in flight the PTO adds WCDelAckT (200 ms) and so reaches
    // the RTO's expiry: the probe goes instead of the timeout (§7.2).
    s.inject(200, { flags: ".", seq: 1, ack: at(4) });
    const probeAt = 200 + Math.min(Math.max(2 * pcb.rtt.srttMs, PTO_MIN_MS) + WC_DEL_ACK_MS, pcb.rtt.currentRtoMs);
    expect(probeAt).toBe(200 + pcb.rtt.currentRtoMs);
    s.expectSent(probeAt, { flags: ".", seq: at(4), len: MSS });
    const ssthresh = pcb.cc.ssthreshBytes;
    // The probe repairs the loss; more data follows and is acknowledged, with no D-SACK for the probe.
    s.inject(probeAt + 100, { flags: ".", seq: 1, ack: at(5) });
    s.write(MSS);
    s.expectSent(probeAt + 100, { flags: "P.", seq: at(5), len: MSS });
    s.inject(probeAt + 200, { flags: ".", seq: 1, ack: at(6) });
    expect(stats(s)).toMatchObject({ rto: 0, probes: 1 });
    expect(s.stack.tcp.stats.tlpRepairs).toBe(1);
    expect(pcb.cc.ssthreshBytes).toBeLessThan(ssthresh);
    s.expectNothing(probeAt + 2000);
  });
});
