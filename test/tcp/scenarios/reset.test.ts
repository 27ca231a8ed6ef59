// Scenarios: resets sent and received (RFC 9293 §3.5.2–3.5.3, §3.10.7.1–4; RFC 5961 §3; RFC 1337;
// RFC 1122 §4.2.2.13), in each state. Both ISN pairs.

import { describe, expect, it } from "vitest";
import { Err } from "../../../src/core/errors.js";
import { ISN_PAIRS, LOCAL_PORT, pattern, scriptFixture } from "../../helpers/tcpScript.js";

const script = scriptFixture();

describe.each(ISN_PAIRS)("reset ($name)", (isns) => {
  // ---- CLOSED (no connection) ----

  it("RFC 9293 §3.10.7.1: a SYN to a closed port draws <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>", () => {
    const s = script({ isns });
    s.inject(0, { flags: "S", seq: 0, options: { mss: 1460 } });
    s.expectSent(0, { flags: "R.", ack: 1, win: 0, len: 0, options: null });
    expect(s.history.at(-1)?.seqAbs).toBe(0);
  });

  it("RFC 9293 §3.10.7.1: a segment with ACK to a closed port draws <SEQ=SEG.ACK><CTL=RST>", () => {
    const s = script({ isns });
    s.inject(0, { flags: "P.", seq: 5, ack: 77, data: 10 });
    s.expectSent(0, { flags: "R", seq: 77, len: 0 });
  });

  it("RFC 9293 §3.10.7.1: without ACK the reset acknowledges data and FIN too (SEG.SEQ + SEG.LEN)", () => {
    const s = script({ isns });
    s.inject(0, { flags: "FP", seq: 5, data: 10 });
    s.expectSent(0, { flags: "R.", ack: 16 });
  });

  it("RFC 9293 §3.10.7.1: a reset to a closed port is discarded, never answered", () => {
    const s = script({ isns });
    s.inject(0, { flags: "R", seq: 5 });
    s.inject(10, { flags: "R.", seq: 5, ack: 9 });
    s.expectNothing(1000);
  });

  // ---- LISTEN ----

  it("RFC 9293 §3.10.7.2: an ACK to a listening port draws <SEQ=SEG.ACK><CTL=RST>; a RST is ignored", () => {
    const s = script({ isns });
    s.listening();
    s.inject(0, { flags: ".", seq: 1, ack: 1234 });
    s.expectSent(0, { flags: "R", seq: 1234 });
    s.inject(10, { flags: "R", seq: 1 });
    s.expectNothing(1000);
  });

  // ---- SYN-SENT ----

  it("RFC 9293 §3.10.7.3: in SYN-SENT a RST with an acceptable ACK refuses the connection (Err.RST)", () => {
    const s = script({ isns });
    const pcb = s.synSent();
    s.inject(10, { flags: "R.", seq: 0, ack: 1 });
    expect(s.errors).toEqual([Err.RST]);
    expect(pcb.freed).toBe(true);
    s.expectNothing(5000);
    s.expectNoConnections();
  });

  it("RFC 9293 §3.10.7.3, RFC 5961 §3.2: in SYN-SENT a RST whose ACK is not acceptable is dropped", () => {
    const s = script({ isns });
    const pcb = s.synSent();
    s.inject(10, { flags: "R.", seq: 0, ack: 5 });
    s.inject(20, { flags: "R.", seq: 0, ack: 0 });
    expect(s.errors).toEqual([]);
    expect(s.state(pcb)).toBe("SYN-SENT");
    // The SYN is still retransmitted on its timer.
    s.expectSent(1000, { flags: "S", seq: 0 });
  });

  it("RFC 9293 §3.10.7.3: in SYN-SENT a RST without ACK is dropped", () => {
    const s = script({ isns });
    const pcb = s.synSent();
    s.inject(10, { flags: "R", seq: 0 });
    expect(s.state(pcb)).toBe("SYN-SENT");
    s.expectNothing(999);
  });

  it("RFC 9293 §3.10.7.3: in SYN-SENT an ACK outside (ISS, SND.NXT] draws <SEQ=SEG.ACK><CTL=RST> and the open goes on", () => {
    const s = script({ isns });
    const pcb = s.synSent();
    s.inject(10, { flags: "S.", seq: 0, ack: 1000, options: { mss: 1460 } });
    s.expectSent(10, { flags: "R", seq: 1000 });
    s.inject(20, { flags: ".", seq: 0, ack: 0 });
    s.expectSent(20, { flags: "R", seq: 0 });
    expect(s.state(pcb)).toBe("SYN-SENT");
    s.inject(30, { flags: "S.", seq: 0, ack: 1, options: { mss: 1460 } });
    s.expectSent(30, { flags: ".", seq: 1, ack: 1 });
    expect(s.state(pcb)).toBe("ESTABLISHED");
  });

  // ---- SYN-RECEIVED ----

  it("RFC 9293 §3.10.7.4 second step: a RST in SYN-RECEIVED (passive) returns quietly to LISTEN", () => {
    const s = script({ isns });
    s.synReceived();
    s.inject(10, { flags: "R", seq: 1 });
    expect(s.stack.tcp.allPcbs()).toEqual([]);
    expect(s.listener!.synQueueLength).toBe(0);
    s.expectNothing(5000);
    // The listener still serves a new SYN.
    s.inject(5000, { flags: "S", seq: 1000, options: { mss: 1460 } });
    s.expectSent(5000, { flags: "S.", seq: 0, ack: 1001 });
  });

  it("RFC 9293 §3.10.7.4 fifth step: in SYN-RECEIVED an unacceptable ACK draws <SEQ=SEG.ACK><CTL=RST>", () => {
    const s = script({ isns });
    const pcb = s.synReceived();
    s.inject(10, { flags: ".", seq: 1, ack: 50 });
    s.expectSent(10, { flags: "R", seq: 50 });
    expect(s.state(pcb)).toBe("SYN-RECEIVED");
  });

  // ---- synchronized states ----

  it("RFC 9293 §3.10.7.4, RFC 5961 §3.2: a RST with SEG.SEQ = RCV.NXT resets an ESTABLISHED connection (Err.RST)", () => {
    const s = script({ isns });
    const pcb = s.established();
    s.inject(200, { flags: "R", seq: 1 });
    expect(s.errors).toEqual([Err.RST]);
    expect(pcb.freed).toBe(true);
    s.expectNothing(1000);
    s.expectNoConnections();
  });

  it("RFC 5961 §3.2: a RST inside the window but not at RCV.NXT draws a challenge ACK and resets nothing", () => {
    const s = script({ isns });
    const pcb = s.established();
    s.inject(200, { flags: "R", seq: 1000 });
    s.expectSent(200, { flags: ".", seq: 1, ack: 1 });
    expect(s.state(pcb)).toBe("ESTABLISHED");
    expect(s.stack.tcp.stats.challengeAcks).toBe(1);
    // The challenge worked: the genuine RST then carries the exact sequence number.
    s.inject(210, { flags: "R", seq: 1 });
    expect(s.errors).toEqual([Err.RST]);
  });

  it("RFC 5961 §3.2, RFC 9293 §3.10.7.4: a RST outside the window is dropped silently", () => {
    const s = script({ isns });
    const pcb = s.established();
    s.inject(200, { flags: "R", seq: 1_000_000 });
    s.inject(210, { flags: "R", seq: -5 });
    s.expectNothing(1000);
    expect(s.state(pcb)).toBe("ESTABLISHED");
  });

  it("RFC 7323 §5.3: a RST is exempt from PAWS (its old timestamp does not stop it)", () => {
    const s = script({ isns });
    const pcb = s.established({ peer: { mss: 1460, ts: true } });
    s.inject(200, { flags: "P.", seq: 1, ack: 1, data: 10, options: { ts: [500, 100] } });
    s.inject(210, { flags: "R", seq: 11, options: { ts: [400, 100] } });
    expect(s.errors).toEqual([Err.RST]);
    expect(pcb.freed).toBe(true);
  });

  it("RFC 9293 §3.10.7.4 second step: a RST in CLOSE-WAIT resets the connection", () => {
    const s = script({ isns });
    const pcb = s.closeWait();
    s.inject(300, { flags: "R", seq: 2 });
    expect(s.errors).toEqual([Err.RST]);
    expect(pcb.freed).toBe(true);
  });

  it("RFC 9293 §3.10.7.4 second step: a RST in LAST-ACK or CLOSING just closes (nobody to tell)", () => {
    const s = script({ isns });
    const pcb = s.lastAck();
    s.inject(300, { flags: "R", seq: 2 });
    expect(pcb.freed).toBe(true);
    expect(s.errors).toEqual([]);
    s.expectNoConnections();
    const s2 = script({ isns });
    const pcb2 = s2.closing();
    s2.inject(300, { flags: "R", seq: 2 });
    expect(pcb2.freed).toBe(true);
    s2.expectNoConnections();
  });

  it("RFC 9293 §3.10.7.4 second step: a RST in FIN-WAIT-2 resets the connection", () => {
    const s = script({ isns });
    const pcb = s.finWait2();
    s.inject(300, { flags: "R", seq: 1 });
    expect(s.errors).toEqual([Err.RST]);
    expect(pcb.freed).toBe(true);
  });

  it("RFC 1337: a RST in TIME-WAIT is ignored (no TIME-WAIT assassination)", () => {
    const s = script({ isns });
    const pcb = s.timeWait();
    s.inject(1000, { flags: "R", seq: 2 });
    s.inject(1010, { flags: "R.", seq: 2, ack: 2 });
    s.expectNothing(2000);
    expect(s.state(pcb)).toBe("TIME-WAIT");
  });

  // ---- resets we send ----

  it("RFC 9293 §3.10.5: abort sends <SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST,ACK> and frees at once", () => {
    const s = script({ isns });
    const pcb = s.established();
    s.inject(150, { flags: "P.", seq: 1, ack: 1, data: 20 });
    s.write(30);
    s.expectSent(150, { flags: "P.", seq: 1, ack: 21, len: 30 });
    s.stack.tcp.abort(pcb);
    s.expectSent(150, { flags: "R.", seq: 31, ack: 21 });
    s.expectNothing(5000);
    s.expectNoConnections();
  });

  it("RFC 1122 §4.2.2.13, RFC 9293 §3.10.4: close() with unread received data sends a RST instead of a FIN", () => {
    const s = script({ isns });
    const pcb = s.established();
    s.inject(150, { flags: "P.", seq: 1, ack: 1, data: pattern(40) });
    s.stack.tcp.close(pcb);
    s.expectSent(150, { flags: "R.", seq: 1, ack: 41 });
    s.expectNoConnections();
    // The peer's retransmission now meets a closed port.
    s.inject(400, { flags: "P.", seq: 1, ack: 1, data: 40 });
    s.expectSent(400, { flags: "R", seq: 1 });
  });

  it("RFC 1122 §4.2.2.13: new data arriving after close() (FIN-WAIT-2, nobody to read it) draws a RST", () => {
    const s = script({ isns });
    const pcb = s.finWait2({ how: "close" });
    s.inject(300, { flags: "P.", seq: 1, ack: 2, data: 100 });
    s.expectSent(300, { flags: "R.", seq: 2 });
    expect(pcb.freed).toBe(true);
    s.expectNoConnections();
  });

  it("RFC 1122 §4.2.2.13: after close() a retransmission of data already received is only ACKed", () => {
    const s = script({ isns });
    const pcb = s.established();
    s.inject(150, { flags: "P.", seq: 1, ack: 1, data: 100 });
    expect(s.read().length).toBe(100);
    s.stack.tcp.close(pcb);
    s.expectSent(150, { flags: "F.", seq: 1, ack: 101 });
    // Wholly below RCV.NXT: not acceptable (RFC 9293 §3.10.7.4), so an ACK, and no reset.
    s.inject(200, { flags: "P.", seq: 1, ack: 2, data: 100 });
    s.expectSent(200, { flags: ".", seq: 2, ack: 101 });
    expect(pcb.freed).toBe(false);
  });

  it("RFC 9293 §3.10.5, RFC 5961 §3.2: an abort after a retransmission timeout resets at SND.MAX, where the peer's RCV.NXT may be", () => {
    const s = script({ isns });
    const pcb = s.established();
    s.write(3 * 1460);
    s.drain();
    // The timeout rewinds SND.NXT and resends the first segment; the peer may hold all three already.
    s.expectSent(400, { flags: ".", seq: 1, len: 1460 });
    s.stack.tcp.abort(pcb);
    s.expectSent(400, { flags: "R.", seq: 1 + 3 * 1460, ack: 1 });
  });

  it("RFC 1122 §4.2.2.13: close() after reading everything closes gracefully with a FIN", () => {
    const s = script({ isns });
    const pcb = s.established();
    s.inject(150, { flags: "P.", seq: 1, ack: 1, data: pattern(40) });
    expect(s.read().length).toBe(40);
    s.stack.tcp.close(pcb);
    s.expectSent(150, { flags: "F.", seq: 1, ack: 41 });
  });

  it("closing a listener resets the connections it had not handed out", () => {
    const s = script({ isns });
    const l = s.listening(LOCAL_PORT);
    s.inject(0, { flags: "S", seq: 0, options: { mss: 1460 } });
    s.expectSent(0, { flags: "S.", seq: 0, ack: 1 });
    s.inject(10, { flags: ".", seq: 1, ack: 1 });
    s.stack.tcp.closeListener(l);
    s.expectSent(10, { flags: "R.", seq: 1, ack: 1 });
    s.expectNoConnections();
    s.inject(20, { flags: "S", seq: 100, options: { mss: 1460 } });
    s.expectSent(20, { flags: "R.", ack: 101 });
  });
});
