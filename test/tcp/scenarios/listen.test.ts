// Scenarios: listeners — SYN cookies once the SYN queue is full (RFC 4987 §3.6), the accept-queue bound
// (a full queue drops the SYN, and drops the handshake's final ACK without a reset, as Linux with
// tcp_abort_on_overflow = 0, so a retransmission completes it later), the PCB limit (no SYN-ACK that could
// not become a connection), when `acceptable` fires, and what a listener answers (RFC 9293 §3.10.7.2).
// Both ISN pairs.

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

  it("a client synchronized on a cookie whose retransmitted SYN found room keeps its connection: the cookie's ACK wins over the new SYN-RECEIVED PCB", () => {
    const s = script({ isns, tcp: { synBacklog: 1 } });
    s.listening();
    s.inject(0, { flags: "S", seq: 0, srcPort: 50000, options: { mss: 1460 } });
    s.expectSent(0, { flags: "S.", dstPort: 50000 });
    // The client's SYN gets a cookie; the SYN-ACK is slow, so the client retransmits its SYN.
    s.inject(10, { flags: "S", seq: 0, options: { mss: 1460 } });
    const cookieSynAck = s.next(10);
    // Meanwhile the first connection completes and leaves the SYN queue.
    s.inject(15, { flags: ".", seq: 1, ack: 1, srcPort: 50000 });
    // The retransmitted SYN now finds room: an ordinary SYN-RECEIVED PCB with its own ISN.
    s.inject(1010, { flags: "S", seq: 0, options: { mss: 1460 } });
    const secondSynAck = s.next(1010);
    expect(secondSynAck.flags).toBe("S.");
    expect(secondSynAck.seqAbs).not.toBe(cookieSynAck.seqAbs);
    // The client had taken the cookie SYN-ACK: it acknowledges the cookie and sends data.
    s.rebaseOurIsn(cookieSynAck.seqAbs);
    s.inject(1020, { flags: "P.", seq: 1, ack: 1, data: pattern(10) });
    expect(s.stack.tcp.stats).toMatchObject({ synCookiesOverSynReceived: 1, synCookiesAccepted: 1, txResets: 0 });
    s.accept(); // the first connection
    const pcb = s.accept()!;
    expect(pcb.remotePort).toBe(PEER_PORT);
    expect(s.state(pcb)).toBe("ESTABLISHED");
    expect(Array.from(s.read(1 << 20, pcb))).toEqual(Array.from(pattern(10)));
  });

  it("RFC 4987 §3.6: an ACK carrying a forged cookie makes no connection: dropped shortly after cookies went out, then refused with a reset", () => {
    const s = script({ isns, tcp: { synBacklog: 1 } });
    s.listening();
    s.inject(0, { flags: "S", seq: 0, srcPort: 50000, options: { mss: 1460 } });
    s.expectSent(0, { flags: "S.", seq: 0, ack: 1 });
    s.inject(10, { flags: "S", seq: 0, options: { mss: 1460 } });
    s.rebaseOurIsn(s.next(10).seqAbs);
    // ACK = cookie + 2: not the cookie we sent. Within COOKIE_GRACE_MS of the cookie it is dropped silently
    // (it could be a cookie connection's later segment, whose SEQ no longer decodes the cookie).
    s.inject(20, { flags: ".", seq: 1, ack: 2 });
    expect(s.stack.tcp.stats).toMatchObject({ synCookiesRejected: 1, dropAckAfterCookies: 1 });
    s.expectNothing(30);
    // Once the grace time is over: RFC 9293 §3.10.7.2's reset (the first connection's SYN-ACK
    // retransmissions meanwhile are not what this test is about).
    s.inject(10_011, { flags: ".", seq: 1, ack: 2 });
    const sent = s.drain();
    expect(sent.filter((seg) => seg.flags === "R").map((seg) => [seg.t, seg.seq])).toEqual([[10_011, 2]]);
    expect(sent.filter((seg) => seg.flags !== "R").every((seg) => seg.flags === "S." && seg.dstPort === 50000)).toBe(true);
    expect(s.stack.tcp.stats.synCookiesRejected).toBe(2);
    expect(s.accept()).toBeNull();
  });

  it("RFC 4987 §3.6: a cookie connection whose first ACK was lost survives: later segments are dropped, not reset, until its first segment's retransmission decodes", () => {
    const s = script({ isns, tcp: { synBacklog: 1 } });
    s.listening();
    s.inject(0, { flags: "S", seq: 0, srcPort: 50000, options: { mss: 1460 } });
    s.expectSent(0, { flags: "S.", dstPort: 50000 });
    s.inject(10, { flags: "S", seq: 0, options: { mss: 1460 } });
    s.rebaseOurIsn(s.next(10).seqAbs);
    // The segment carrying bytes 1-100 is lost; bytes 101-200 and the FIN arrive first.
    s.inject(20, { flags: "P.", seq: 101, ack: 1, data: pattern(100, 100) });
    s.inject(20, { flags: "F.", seq: 201, ack: 1 });
    s.expectNothing(300);
    expect(s.stack.tcp.stats).toMatchObject({ dropAckAfterCookies: 2, txResets: 0, synCookiesAccepted: 0 });
    s.inject(400, { flags: "P.", seq: 1, ack: 1, data: pattern(100) });
    expect(s.stack.tcp.stats.synCookiesAccepted).toBe(1);
    const pcb = s.accept()!;
    expect(pcb.remotePort).toBe(PEER_PORT);
    expect(Array.from(s.read(1000, pcb))).toEqual(Array.from(pattern(100)));
    s.drain();
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

  it("Linux tcp_abort_on_overflow=0: a final ACK meeting a full accept queue is dropped, not reset; the SYN-ACK retransmission completes it later", () => {
    const s = script({ isns });
    s.listening(undefined, 1);
    // Two handshakes half done: both SYNs arrive while the accept queue is still empty.
    s.inject(0, { flags: "S", seq: 0, srcPort: 50000, options: { mss: 1460 } });
    s.expectSent(0, { flags: "S.", seq: 0, ack: 1, dstPort: 50000 });
    s.inject(0, { flags: "S", seq: 0, srcPort: 50001, options: { mss: 1460 } });
    s.expectSent(0, { flags: "S.", seq: 0, ack: 1, dstPort: 50001 });
    s.inject(10, { flags: ".", seq: 1, ack: 1, srcPort: 50000 });
    expect(s.listener!.acceptQueue.length).toBe(1);
    // The second final ACK finds the queue full: dropped — no RST, no ACK — and counted.
    s.inject(20, { flags: ".", seq: 1, ack: 1, srcPort: 50001 });
    expect(s.stack.tcp.stats.dropAcceptQueueFull).toBe(1);
    expect(s.stack.tcp.stats.txResets).toBe(0);
    const waiting = s.stack.tcp.lookup(8080, s.stack.tcp.allPcbs()[0]!.remoteIp, 50001)!;
    expect(s.state(waiting)).toBe("SYN-RECEIVED");
    expect(s.listener!.acceptQueue.length).toBe(1);
    s.expectNothing(999);
    s.accept();
    // RFC 6298 §2.1: 1 s after the SYN-ACK it goes out again; the client's ACK of it now completes the handshake.
    s.expectSent(1000, { flags: "S.", seq: 0, ack: 1, dstPort: 50001 });
    s.inject(1000, { flags: ".", seq: 1, ack: 1, srcPort: 50001 });
    expect(s.state(waiting)).toBe("ESTABLISHED");
    expect(s.listener!.acceptQueue).toEqual([waiting]);
    expect(s.stack.tcp.stats).toMatchObject({ dropAcceptQueueFull: 1, established: 2, txResets: 0 });
  });

  it("Linux tcp_abort_on_overflow=0: data on the dropped final ACK is dropped with it, and its retransmission completes the connection", () => {
    const s = script({ isns });
    s.listening(undefined, 1);
    s.inject(0, { flags: "S", seq: 0, srcPort: 50000, options: { mss: 1460 } });
    s.expectSent(0, { flags: "S.", dstPort: 50000 });
    s.inject(0, { flags: "S", seq: 0, srcPort: 50001, options: { mss: 1460 } });
    s.expectSent(0, { flags: "S.", dstPort: 50001 });
    s.inject(10, { flags: ".", seq: 1, ack: 1, srcPort: 50000 });
    // The client believes it is connected and sends data at once: nothing is acknowledged.
    s.inject(20, { flags: "P.", seq: 1, ack: 1, srcPort: 50001, data: pattern(10) });
    s.expectNothing(300);
    s.accept();
    // The client's retransmission (its RTO, before our SYN-ACK timer) meets room: connection and data.
    s.inject(400, { flags: "P.", seq: 1, ack: 1, srcPort: 50001, data: pattern(10) });
    // A single data segment: its ACK waits the delayed-ACK time (40 ms).
    s.expectSent(440, { flags: ".", seq: 1, ack: 11, dstPort: 50001 });
    const second = s.accept()!;
    expect(second.remotePort).toBe(50001);
    expect(Array.from(s.read(100, second))).toEqual(Array.from(pattern(10)));
    expect(s.stack.tcp.stats.dropAcceptQueueFull).toBe(1);
  });

  it("RFC 4987 §3.6 with Linux's overflow rule: a cookie ACK meeting a full accept queue is dropped, not reset; the client's next segment completes it", () => {
    const s = script({ isns, tcp: { synBacklog: 1 } });
    s.listening(undefined, 1);
    // The first SYN fills the SYN queue; the second is answered with a cookie.
    s.inject(0, { flags: "S", seq: 0, srcPort: 50000, options: { mss: 1460 } });
    s.expectSent(0, { flags: "S.", dstPort: 50000 });
    s.inject(0, { flags: "S", seq: 0, srcPort: 50001, options: { mss: 1460 } });
    const cookieSynAck = s.next(0);
    expect(s.stack.tcp.stats.synCookiesSent).toBe(1);
    s.inject(10, { flags: ".", seq: 1, ack: 1, srcPort: 50000 });
    expect(s.listener!.acceptQueue.length).toBe(1);
    s.rebaseOurIsn(cookieSynAck.seqAbs);
    s.inject(20, { flags: "P.", seq: 1, ack: 1, srcPort: 50001, data: pattern(5) });
    expect(s.stack.tcp.stats).toMatchObject({ dropAcceptQueueFull: 1, synCookiesAccepted: 1, txResets: 0 });
    // The proven cookie became a SYN-RECEIVED PCB (the segment itself was dropped), outside the SYN queue.
    const held = s.stack.tcp.allPcbs().find((p) => p.remotePort === 50001)!;
    expect(s.state(held)).toBe("SYN-RECEIVED");
    expect(s.listener!.synQueueLength).toBe(0);
    // The client's FIN, at a sequence number that could not decode the cookie, is no reason for a reset.
    s.inject(30, { flags: "F.", seq: 6, ack: 1, srcPort: 50001 });
    expect(s.stack.tcp.stats.txResets).toBe(0);
    s.expectNothing(300);
    s.accept();
    s.inject(400, { flags: "P.", seq: 1, ack: 1, srcPort: 50001, data: pattern(5) });
    // The FIN was dropped with the rest while the queue was full: the data is acknowledged (delayed ACK),
    // then the client's retransmitted FIN is.
    s.expectSent(440, { flags: ".", seq: 1, ack: 6, dstPort: 50001 });
    expect(s.state(held)).toBe("ESTABLISHED");
    expect(s.accept()).toBe(held);
    expect(Array.from(s.read(100, held))).toEqual(Array.from(pattern(5)));
    s.inject(600, { flags: "F.", seq: 6, ack: 1, srcPort: 50001 });
    s.expectSent(600, { flags: ".", seq: 1, ack: 7, dstPort: 50001 });
    expect(s.state(held)).toBe("CLOSE-WAIT");
  });

  it("at the PCB limit a SYN gets no SYN-ACK, on the SYN-queue path and on the cookie path, and is counted", () => {
    const s = script({ isns, tcp: { maxPcbs: 1, synBacklog: 1 } });
    s.listening();
    s.inject(0, { flags: "S", seq: 0, srcPort: 50000, options: { mss: 1460 } });
    s.expectSent(0, { flags: "S.", dstPort: 50000 });
    // The SYN queue (1) is full, so this SYN would get a cookie; but no PCB could be made for its ACK.
    s.inject(10, { flags: "S", seq: 0, srcPort: 50001, options: { mss: 1460 } });
    s.expectNothing(20);
    expect(s.stack.tcp.stats).toMatchObject({ pcbLimit: 1, synCookiesSent: 0 });
    // The first connection completes and is accepted: the SYN queue is empty again, the table still full.
    s.inject(30, { flags: ".", seq: 1, ack: 1, srcPort: 50000 });
    s.accept();
    s.inject(40, { flags: "S", seq: 0, srcPort: 50002, options: { mss: 1460 } });
    s.expectNothing(50);
    expect(s.stack.tcp.stats).toMatchObject({ pcbLimit: 2, synCookiesSent: 0, passiveOpens: 1 });
    expect(s.stack.tcp.allPcbs().length).toBe(1);
  });

  it("at the PCB limit a cookie is still sent while a TIME-WAIT PCB can be recycled for its ACK", () => {
    const s = script({ isns, tcp: { maxPcbs: 2, synBacklog: 1 } });
    s.timeWait({ passive: true });
    s.inject(1000, { flags: "S", seq: 0, srcPort: 50000, options: { mss: 1460 } });
    s.expectSent(1000, { flags: "S.", dstPort: 50000 });
    expect(s.stack.tcp.allPcbs().length).toBe(2);
    s.inject(1010, { flags: "S", seq: 0, srcPort: 50001, options: { mss: 1460 } });
    const synAck = s.next(1010);
    expect(synAck.flags).toBe("S.");
    expect(s.stack.tcp.stats).toMatchObject({ synCookiesSent: 1, pcbLimit: 0 });
    s.rebaseOurIsn(synAck.seqAbs);
    s.inject(1020, { flags: ".", seq: 1, ack: 1, srcPort: 50001 });
    expect(s.stack.tcp.stats).toMatchObject({ synCookiesAccepted: 1, timeWaitRecycled: 1 });
  });

  it("acceptable fires right after the segment that completed a handshake, so a listener drains a queue of 1 within one batch", () => {
    const s = script({ isns });
    const tcp = s.stack.tcp;
    const accepted: number[] = [];
    const l = tcp.listen(0, 8080, 1, {
      acceptable: (listener) => {
        for (let pcb = tcp.accept(listener); pcb !== null; pcb = tcp.accept(listener)) {
          accepted.push(pcb.remotePort);
          pcb.events = {};
        }
      },
    });
    expect(typeof l).not.toBe("number");
    const ports = [50000, 50001, 50002, 50003];
    for (const port of ports) {
      s.inject(0, { flags: "S", seq: 0, srcPort: port, options: { mss: 1460 } });
      s.expectSent(0, { flags: "S.", dstPort: port });
    }
    // All four final ACKs in one batch (frames due at the same instant arrive together over a MemLink):
    // the inject calls are captured, then sent at once. The queue of 1 never overflows, because each
    // connection is accepted right after its ACK, not at the batch end.
    const frames: Uint8Array[] = [];
    const realTransmit = s.peer.transmit.bind(s.peer);
    s.peer.transmit = (bytes: Uint8Array, offset: number, length: number): boolean => {
      frames.push(bytes.slice(offset, offset + length));
      return true;
    };
    for (const port of ports) s.inject(10, { flags: ".", seq: 1, ack: 1, srcPort: port });
    s.peer.transmit = realTransmit;
    let batches = 0;
    const endBatch = tcp.endBatch.bind(tcp);
    tcp.endBatch = (nowMs: number): void => {
      batches++;
      endBatch(nowMs);
    };
    for (const f of frames) realTransmit(f, 0, f.length);
    s.at(10);
    s.scheduler.advance(0);
    expect(batches).toBe(1);
    expect(accepted).toEqual(ports);
    expect(tcp.stats.dropAcceptQueueFull).toBe(0);
    for (const pcb of tcp.allPcbs()) tcp.abort(pcb);
    s.drain();
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
