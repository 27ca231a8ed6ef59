// Scenarios: opening connections (RFC 9293 §3.5, §3.7.1, §3.10.7.2–3; RFC 7323 §2–3; RFC 2018 §2; RFC 6298
// §5 for SYN retransmission). Each runs with both ISN pairs (mid-space and just below 2^32).

import { describe, expect, it } from "vitest";
import { Err, Errno, errnoOf } from "../../../src/core/errors.js";
import { ISN_PAIRS, PEER_PORT, LOCAL_PORT, pattern, scriptFixture } from "../../helpers/tcpScript.js";
import { A_IP, B_IP, twoStacks } from "../../helpers/twoStacks.js";
import type { TcpPcb } from "../../../src/tcp/pcb.js";

const script = scriptFixture();

describe.each(ISN_PAIRS)("handshake ($name)", (isns) => {
  it("RFC 9293 §3.7.1, RFC 7323 §2.2/§3.2, RFC 2018 §2: our SYN offers MSS 1460, SACK-permitted, timestamps and window scale", () => {
    const s = script({ isns });
    s.connect();
    const syn = s.expectSent(0, {
      flags: "S",
      seq: 0,
      // RFC 7323 §2.2: the window of a SYN is never scaled.
      win: 65535,
      len: 0,
      options: { mss: 1460, sackOk: true, wscale: 3, ts: [0, undefined] },
    });
    // RFC 7323 §3.2: TSecr is 0 when the ACK bit is off.
    expect(syn.options.tsEcrAbs).toBe(0);
    expect(s.state()).toBe("SYN-SENT");
  });

  it("RFC 9293 §3.10.7.3: an active open completes on the SYN-ACK with an ACK of SEG.SEQ+1, and the application hears `connected`", () => {
    const s = script({ isns });
    s.connect();
    s.expectSent(0, { flags: "S", seq: 0 });
    s.inject(50, { flags: "S.", seq: 0, ack: 1, options: { mss: 1460 } });
    s.expectSent(50, { flags: ".", seq: 1, ack: 1, len: 0, options: null });
    expect(s.state()).toBe("ESTABLISHED");
    expect(s.events).toContain("connected");
  });

  it("RFC 9293 §3.10.7.2: a passive open answers the SYN with SYN-ACK <SEQ=ISS><ACK=SEG.SEQ+1> and completes on the ACK", () => {
    const s = script({ isns });
    s.listening();
    s.inject(0, { flags: "S", seq: 0, options: { mss: 1460 } });
    s.expectSent(0, { flags: "S.", seq: 0, ack: 1, win: 65535 });
    expect(s.stack.tcp.accept(s.listener!)).toBeNull();
    s.inject(30, { flags: ".", seq: 1, ack: 1 });
    expect(s.events).toContain("acceptable");
    const pcb = s.accept();
    expect(s.state(pcb)).toBe("ESTABLISHED");
    s.expectNothing(1000);
  });

  it("RFC 7323 §1.3/§2.2, RFC 2018 §2: a passive open offers window scaling, timestamps and SACK only when the SYN did", () => {
    const s = script({ isns });
    s.listening();
    s.inject(0, { flags: "S", seq: 0, options: { mss: 1460 } });
    s.expectSent(0, { flags: "S.", seq: 0, ack: 1, options: { mss: 1460, wscale: null, sackOk: false, ts: null } });
    expect(s.history.at(-1)?.options.count).toBe(1);
  });

  it("RFC 7323 §2.2/§3.2, RFC 2018 §2: a passive open answers a SYN offering everything with everything, echoing its TSval", () => {
    const s = script({ isns });
    s.listening();
    s.inject(0, { flags: "S", seq: 0, options: { mss: 1400, sackOk: true, wscale: 7, ts: [5, 0] } });
    s.expectSent(0, { flags: "S.", seq: 0, ack: 1, win: 65535, options: { mss: 1460, sackOk: true, wscale: 3, ts: [0, 5] } });
    s.inject(40, { flags: ".", seq: 1, ack: 1, win: 100, options: { ts: [45, 0] } });
    const pcb = s.accept()!;
    // RFC 7323 §2.3: the peer's window fields after the SYN are scaled by its shift (100 << 7).
    expect(pcb.sndWnd).toBe(12800);
    // RFC 9293 §3.7.1: the send MSS is the peer's MSS less the 12 bytes of timestamps on every segment.
    expect(pcb.mssBytes).toBe(1400 - 12);
  });

  it("RFC 7323 §1.3/§3.2: an active open uses window scaling and timestamps only if the SYN-ACK carries them too", () => {
    const s = script({ isns });
    const pcb = s.connect();
    s.expectSent(0, { flags: "S", seq: 0, options: { wscale: 3, sackOk: true } });
    s.inject(20, { flags: "S.", seq: 0, ack: 1, win: 5000, options: { mss: 1460 } });
    // Without scaling our window field is the unscaled 16-bit window; without timestamps no TS option.
    s.expectSent(20, { flags: ".", seq: 1, ack: 1, win: 65535, options: null });
    s.inject(40, { flags: ".", seq: 1, ack: 1, win: 3000 });
    // The peer's window is taken as it stands, not shifted.
    expect(pcb.sndWnd).toBe(3000);
    s.write(10);
    s.expectSent(40, { flags: "P.", seq: 1, ack: 1, len: 10, options: null });
  });

  it("RFC 7323 §2.2: with scaling negotiated our window fields are shifted right by our shift (3 for a 256 KiB ring)", () => {
    const s = script({ isns });
    s.connect();
    s.expectSent(0, { flags: "S", seq: 0, options: { wscale: 3 } });
    s.inject(20, { flags: "S.", seq: 0, ack: 1, options: { mss: 1460, wscale: 2 } });
    s.expectSent(20, { flags: ".", seq: 1, ack: 1, win: (256 * 1024) >> 3 });
  });

  it("RFC 7323 §3.2, §4.3: with timestamps negotiated every segment carries TSval = our clock and TSecr = TS.Recent", () => {
    const s = script({ isns });
    s.connect();
    s.expectSent(0, { flags: "S", seq: 0, options: { ts: [0, undefined] } });
    s.inject(20, { flags: "S.", seq: 0, ack: 1, options: { mss: 1460, ts: [700, 0] } });
    s.expectSent(20, { flags: ".", seq: 1, ack: 1, options: { ts: [20, 700] } });
    s.inject(60, { flags: "P.", seq: 1, ack: 1, data: 10, options: { ts: [740, 20] } });
    // Delayed ACK (40 ms) echoes the newest TSval.
    s.expectSent(100, { flags: ".", seq: 1, ack: 11, options: { ts: [100, 740] } });
  });

  it("RFC 9293 §3.10.7.3: data on the SYN-ACK is delivered and acknowledged", () => {
    const s = script({ isns });
    s.connect();
    s.expectSent(0, { flags: "S", seq: 0 });
    s.inject(20, { flags: "S.", seq: 0, ack: 1, data: pattern(5), options: { mss: 1460 } });
    s.expectSent(20, { flags: ".", seq: 1, ack: 6 });
    expect(Array.from(s.read())).toEqual(Array.from(pattern(5)));
  });

  it("RFC 9293 §3.10.7.4: a retransmitted SYN-ACK after the handshake (our ACK was lost) is answered with an ACK", () => {
    const s = script({ isns });
    const pcb = s.established();
    s.inject(1100, { flags: "S.", seq: 0, ack: 1, options: { mss: 1460 } });
    s.expectSent(1100, { flags: ".", seq: 1, ack: 1 });
    expect(s.state(pcb)).toBe("ESTABLISHED");
  });

  it("RFC 9293 §3.10.7.4: data riding on the handshake's final ACK is delivered (passive open)", () => {
    const s = script({ isns });
    s.listening();
    s.inject(0, { flags: "S", seq: 0, options: { mss: 1460 } });
    s.expectSent(0, { flags: "S.", seq: 0, ack: 1 });
    s.inject(10, { flags: "P.", seq: 1, ack: 1, data: pattern(30) });
    const pcb = s.accept();
    expect(s.state(pcb)).toBe("ESTABLISHED");
    expect(Array.from(s.read())).toEqual(Array.from(pattern(30)));
    s.expectSent(50, { flags: ".", seq: 1, ack: 31 });
  });

  it("RFC 9293 §3.10.7.4: a FIN on the handshake's final ACK takes the new connection to CLOSE-WAIT", () => {
    const s = script({ isns });
    s.listening();
    s.inject(0, { flags: "S", seq: 0, options: { mss: 1460 } });
    s.expectSent(0, { flags: "S.", seq: 0, ack: 1 });
    s.inject(10, { flags: "F.", seq: 1, ack: 1 });
    s.expectSent(10, { flags: ".", seq: 1, ack: 2 });
    expect(s.state(s.accept())).toBe("CLOSE-WAIT");
  });

  it("RFC 9293 §3.10.4–5: closing or aborting in SYN-SENT deletes the connection and sends nothing", () => {
    const s = script({ isns });
    const pcb = s.synSent();
    s.stack.tcp.close(pcb);
    expect(pcb.freed).toBe(true);
    const s2 = script({ isns });
    const pcb2 = s2.synSent();
    s2.stack.tcp.abort(pcb2);
    expect(pcb2.freed).toBe(true);
    s.expectNothing(5000);
    s2.expectNothing(5000);
    s.expectNoConnections();
    s2.expectNoConnections();
    // A SYN-ACK arriving late finds no connection: reset.
    s.inject(5000, { flags: "S.", seq: 0, ack: 1, options: { mss: 1460 } });
    s.expectSent(5000, { flags: "R", seq: 1 });
  });

  it("RFC 9293 §3.5 figure 8: simultaneous open — SYN in SYN-SENT → SYN-ACK from SYN-RECEIVED; the peer's SYN-ACK establishes", () => {
    const s = script({ isns });
    s.connect();
    s.expectSent(0, { flags: "S", seq: 0 });
    s.inject(10, { flags: "S", seq: 0, options: { mss: 1460 } });
    s.expectSent(10, { flags: "S.", seq: 0, ack: 1 });
    expect(s.state()).toBe("SYN-RECEIVED");
    // The peer's SYN-ACK (line 6 of figure 8): its SYN is old (SEQ = IRS), its ACK acknowledges our SYN.
    s.inject(20, { flags: "S.", seq: 0, ack: 1, options: { mss: 1460 } });
    expect(s.state()).toBe("ESTABLISHED");
    expect(s.events).toContain("connected");
    // Nothing to answer: in particular no second SYN-ACK (which the peer would answer with its own: a loop).
    s.expectNothing(500);
    s.write(10);
    s.expectSent(500, { flags: "P.", seq: 1, ack: 1, len: 10 });
    s.inject(510, { flags: ".", seq: 1, ack: 11 });
    s.expectNothing(5000);
  });

  it("RFC 9293 §3.10.4: CLOSE in SYN-RECEIVED (simultaneous open) queues the FIN until the handshake completes", () => {
    const s = script({ isns });
    const pcb = s.connect();
    s.expectSent(0, { flags: "S", seq: 0 });
    s.inject(10, { flags: "S", seq: 0, options: { mss: 1460 } });
    s.expectSent(10, { flags: "S.", seq: 0, ack: 1 });
    s.stack.tcp.shutdownWrite(pcb);
    // No FIN behind the unacknowledged SYN; the SYN-ACK is retransmitted on its timer as before.
    s.expectSent(1010, { flags: "S.", seq: 0, ack: 1 });
    s.inject(1100, { flags: ".", seq: 1, ack: 1 });
    s.expectSent(1100, { flags: "F.", seq: 1, ack: 1 });
    expect(s.state(pcb)).toBe("FIN-WAIT-1");
    s.inject(1150, { flags: "F.", seq: 1, ack: 2 });
    s.expectSent(1150, { flags: ".", seq: 2, ack: 2 });
    expect(s.state(pcb)).toBe("TIME-WAIT");
  });

  it("RFC 9293 §3.10.7.2, RFC 7323 §2.2: the SYN-ACK offers the receive buffer we have (2000 bytes), not more", () => {
    const s = script({ isns });
    s.listening(LOCAL_PORT, 16, { recvBufferBytes: 2000 });
    s.inject(0, { flags: "S", seq: 0, options: { mss: 1460 } });
    s.expectSent(0, { flags: "S.", seq: 0, ack: 1, win: 2000 });
    s.inject(10, { flags: ".", seq: 1, ack: 1 });
    s.accept();
    // Data beyond the 2000 bytes offered is not taken.
    s.inject(20, { flags: "P.", seq: 1, ack: 1, data: 1460 });
    s.inject(20, { flags: "P.", seq: 1461, ack: 1, data: 1460 });
    s.expectSent(20, { flags: ".", seq: 1, ack: 2001, win: 0 });
  });

  it("RFC 6298 §2.1/§5.5, RFC 9293 §3.8.1: SYN retransmissions at 1, 3, 7, 15, 31, 63 s; at 127 s the open fails with Err.ABRT", () => {
    const s = script({ isns });
    s.connect();
    s.expectSent(0, { flags: "S", seq: 0 });
    for (const t of [1000, 3000, 7000, 15000, 31000, 63000]) {
      s.expectSent(t, { flags: "S", seq: 0, options: { mss: 1460 } });
    }
    s.expectNothing(126_999);
    expect(s.errors).toEqual([]);
    s.at(127_000);
    // lwIP's ERR_ABRT, which errno maps to ECONNABORTED; no reset (nothing was synchronized).
    expect(s.errors).toEqual([Err.ABRT]);
    expect(errnoOf(Err.ABRT)).toBe(Errno.ECONNABORTED);
    s.expectNothing(130_000);
    s.expectNoConnections();
  });

  it("RFC 6298 §2.1/§5.5: SYN-ACK retransmissions back off 1, 2, 4 s; a retransmitted SYN is answered with the SYN-ACK again", () => {
    const s = script({ isns });
    s.listening();
    s.inject(0, { flags: "S", seq: 0, options: { mss: 1460 } });
    s.expectSent(0, { flags: "S.", seq: 0, ack: 1 });
    s.expectSent(1000, { flags: "S.", seq: 0, ack: 1 });
    s.expectSent(3000, { flags: "S.", seq: 0, ack: 1 });
    s.inject(4000, { flags: "S", seq: 0, options: { mss: 1460 } });
    s.expectSent(4000, { flags: "S.", seq: 0, ack: 1 });
    s.inject(4100, { flags: ".", seq: 1, ack: 1 });
    expect(s.state(s.accept())).toBe("ESTABLISHED");
    s.expectNothing(20_000);
  });

  it("Linux tcp_synack_retries: after the last SYN-ACK retransmission the embryonic connection is freed silently; a late ACK is reset", () => {
    const s = script({ isns });
    s.listening();
    s.inject(0, { flags: "S", seq: 0, options: { mss: 1460 } });
    s.expectSent(0, { flags: "S.", seq: 0, ack: 1 });
    for (const t of [1000, 3000, 7000, 15000, 31000, 63000]) s.expectSent(t, { flags: "S.", seq: 0, ack: 1 });
    s.expectNothing(127_000);
    expect(s.stack.tcp.allPcbs()).toEqual([]);
    expect(s.listener!.synQueueLength).toBe(0);
    // RFC 9293 §3.10.7.2: an ACK arriving at a LISTEN socket draws <SEQ=SEG.ACK><CTL=RST>.
    s.inject(128_000, { flags: ".", seq: 1, ack: 1 });
    s.expectSent(128_000, { flags: "R", seq: 1 });
  });

  it("RFC 9293 §3.7.1, RFC 6691: the MSS we announce is the MTU less 40 (MTU 1280 → 1240), and it bounds what we send", () => {
    const s = script({ isns, mtu: 1280 });
    s.connect();
    s.expectSent(0, { flags: "S", seq: 0, options: { mss: 1240 } });
    s.inject(20, { flags: "S.", seq: 0, ack: 1, options: { mss: 1460 } });
    s.expectSent(20, { flags: ".", seq: 1, ack: 1 });
    s.write(3000);
    s.expectSent(20, { flags: ".", seq: 1, len: 1240 });
    s.expectSent(20, { flags: ".", seq: 1241, len: 1240 });
    // The 520-byte tail waits for the ACK (Nagle), then goes.
    s.inject(30, { flags: ".", seq: 1, ack: 2481 });
    s.expectSent(30, { flags: "P.", seq: 2481, len: 520 });
  });

  it("RFC 9293 §3.7.1: a SYN without an MSS option means a send MSS of 536", () => {
    const s = script({ isns });
    s.listening();
    s.inject(0, { flags: "S", seq: 0 });
    s.expectSent(0, { flags: "S.", seq: 0, ack: 1, options: { mss: 1460 } });
    s.inject(10, { flags: ".", seq: 1, ack: 1 });
    s.accept();
    s.write(1000);
    s.expectSent(10, { flags: ".", seq: 1, len: 536 });
    s.inject(20, { flags: ".", seq: 1, ack: 537 });
    s.expectSent(20, { flags: "P.", seq: 537, len: 464 });
  });
});

describe("handshake between two walnut stacks", () => {
  it("RFC 9293 §3.5 figure 8: a simultaneous open between two stacks converges without a SYN-ACK loop", () => {
    const net = twoStacks({ latencyMs: 5 });
    try {
      const log: string[] = [];
      const ev = (name: string) => ({ connected: () => void log.push(`${name} connected`), error: (_p: TcpPcb, e: number) => void log.push(`${name} error ${e}`) });
      const a = net.a.tcp.connect(B_IP, PEER_PORT, ev("a"), {}, LOCAL_PORT);
      const b = net.b.tcp.connect(A_IP, LOCAL_PORT, ev("b"), {}, PEER_PORT);
      if (typeof a === "number" || typeof b === "number") throw new Error("connect failed");
      net.scheduler.advance(2000);
      expect(log.sort()).toEqual(["a connected", "b connected"]);
      // A handful of segments, not thousands.
      expect(net.a.tcp.stats.txSegments + net.b.tcp.stats.txSegments).toBeLessThan(10);
    } finally {
      net.stop();
    }
    expect(net.scheduler.armedLabels()).toEqual([]);
  });
});
