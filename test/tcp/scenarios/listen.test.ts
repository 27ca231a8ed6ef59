// Scenarios: listeners — SYN cookies once the SYN queue is full (RFC 4987 §3.6), the accept-queue bound,
// and what a listener answers (RFC 9293 §3.10.7.2). Both ISN pairs.

import { describe, expect, it } from "vitest";
import { ISN_PAIRS, PEER_PORT, pattern, scriptFixture } from "../../helpers/tcpScript.js";

const script = scriptFixture();

describe.each(ISN_PAIRS)("listen ($name)", (isns) => {
  it("RFC 4987 §3.6: with the SYN queue full, a SYN is answered statelessly with a SYN cookie; its ACK makes the connection", () => {
    const s = script({ isns, tcp: { synBacklog: 1 } });
    s.listening();
    // The first SYN takes the one SYN-queue slot (it stays in SYN-RECEIVED).
    s.inject(0, { flags: "S", seq: 0, srcPort: 50000, options: { mss: 1460 } });
    s.expectSent(0, { flags: "S.", seq: 0, ack: 1, dstPort: 50000 });
    const before = s.stack.tcp.allPcbs().length;
    // The second gets a cookie: MSS only (no window scale, SACK or timestamps survive a cookie), no state.
    s.inject(10, { flags: "S", seq: 0, options: { mss: 1460, sackOk: true, wscale: 7, ts: [10, 0] } });
    const synAck = s.next(10);
    expect(synAck.flags).toBe("S.");
    expect(synAck.options).toMatchObject({ mss: 1460, sackOk: false, ts: null, wscale: null });
    expect(s.stack.tcp.allPcbs().length).toBe(before);
    expect(s.stack.tcp.stats.synCookiesSent).toBe(1);
    // From here on our sequence numbers are relative to the cookie.
    s.rebaseOurIsn(synAck.seqAbs);
    expect(synAck.ack).toBe(1);
    s.inject(20, { flags: "P.", seq: 1, ack: 1, data: pattern(10), options: { ts: null } });
    expect(s.stack.tcp.stats.synCookiesAccepted).toBe(1);
    expect(s.events).toContain("acceptable");
    const pcb = s.accept()!;
    expect(pcb.remotePort).toBe(PEER_PORT);
    expect(s.state(pcb)).toBe("ESTABLISHED");
    expect(Array.from(s.read())).toEqual(Array.from(pattern(10)));
    s.write(5);
    s.expectSent(20, { flags: "P.", seq: 1, ack: 11, len: 5, options: null });
  });

  it("RFC 4987 §3.6, RFC 9293 §3.10.7.4: a cookie connection accepts data up to the window its SYN-ACK offered", () => {
    const s = script({ isns, tcp: { synBacklog: 1 } });
    s.listening();
    s.inject(0, { flags: "S", seq: 0, srcPort: 50000, options: { mss: 1460 } });
    s.expectSent(0, { flags: "S.", seq: 0, ack: 1 });
    s.inject(10, { flags: "S", seq: 0, options: { mss: 1460 } });
    const synAck = s.next(10);
    s.rebaseOurIsn(synAck.seqAbs);
    // Our SYN-ACK offered its window; the peer's own (small) window has nothing to do with ours.
    s.inject(20, { flags: "P.", seq: 1, ack: 1, win: 10, data: 100 });
    s.inject(20, { flags: "P.", seq: 101, ack: 1, win: 10, data: 100 });
    s.expectSent(20, { flags: ".", seq: 1, ack: 201 });
    s.accept();
    expect(s.read().length).toBe(200);
  });

  it("RFC 4987 §3.6: an ACK carrying a forged cookie is refused with a reset", () => {
    const s = script({ isns, tcp: { synBacklog: 1 } });
    s.listening();
    s.inject(0, { flags: "S", seq: 0, srcPort: 50000, options: { mss: 1460 } });
    s.expectSent(0, { flags: "S.", seq: 0, ack: 1 });
    s.inject(10, { flags: "S", seq: 0, options: { mss: 1460 } });
    s.rebaseOurIsn(s.next(10).seqAbs);
    // ACK = cookie + 2: not the cookie we sent.
    s.inject(20, { flags: ".", seq: 1, ack: 2 });
    expect(s.stack.tcp.stats.synCookiesRejected).toBe(1);
    s.expectSent(20, { flags: "R", seq: 2 });
    expect(s.accept()).toBeNull();
  });

  it("Linux/lwIP accept-queue bound: with the accept queue full, a new SYN is dropped (the client retries)", () => {
    const s = script({ isns });
    s.listening(undefined, 1);
    s.inject(0, { flags: "S", seq: 0, options: { mss: 1460 } });
    s.expectSent(0, { flags: "S.", seq: 0, ack: 1 });
    s.inject(10, { flags: ".", seq: 1, ack: 1 });
    expect(s.listener!.acceptQueue.length).toBe(1);
    // A second client: its SYN meets a full accept queue.
    s.inject(20, { flags: "S", seq: 0, srcPort: 50001, options: { mss: 1460 } });
    s.expectNothing(500);
    expect(s.stack.tcp.stats.listenOverflows).toBe(1);
    // Once the application accepts, the retried SYN gets its SYN-ACK.
    s.accept();
    s.inject(1000, { flags: "S", seq: 0, srcPort: 50001, options: { mss: 1460 } });
    s.expectSent(1000, { flags: "S.", ack: 1, dstPort: 50001 });
  });

  it("RFC 9293 §3.10.7.2: a listener ignores a bare segment with neither SYN, ACK nor RST", () => {
    const s = script({ isns });
    s.listening();
    s.inject(0, { flags: "P", seq: 1, data: 10 });
    s.inject(10, { flags: "F", seq: 1 });
    s.expectNothing(1000);
    expect(s.stack.tcp.allPcbs()).toEqual([]);
  });

  it("RFC 9293 §3.10.7.2: a SYN-ACK to a listener is an unacceptable ACK: <SEQ=SEG.ACK><CTL=RST>", () => {
    const s = script({ isns });
    s.listening();
    s.inject(0, { flags: "S.", seq: 0, ack: 42, options: { mss: 1460 } });
    s.expectSent(0, { flags: "R", seq: 42 });
  });

  it("a listener serves several peers at once, one PCB per 4-tuple", () => {
    const s = script({ isns });
    s.listening();
    for (const port of [50001, 50002, 50003]) {
      s.inject(0, { flags: "S", seq: port, srcPort: port, options: { mss: 1460 } });
      s.expectSent(0, { flags: "S.", ack: port + 1, dstPort: port });
    }
    for (const port of [50001, 50002, 50003]) s.inject(10, { flags: ".", seq: port + 1, ack: 1, srcPort: port });
    expect(s.listener!.acceptQueue.map((p) => p.remotePort)).toEqual([50001, 50002, 50003]);
  });
});
