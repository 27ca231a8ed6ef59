// Scenarios: flow control — segment acceptability against our window (RFC 9293 §3.10.7.4 first step), the
// send window and its updates (SND.WL1/WL2), window scaling (RFC 7323 §2.3), zero windows and persist probes
// (RFC 9293 §3.8.6.1, RFC 1122 §4.2.2.17), window shrinking, and silly window syndrome avoidance on both
// sides (RFC 9293 §3.8.6.2). Both ISN pairs.

import { Err } from "../../../src/core/errors.js";
import { describe, expect, it } from "vitest";
import { ISN_PAIRS, pattern, scriptFixture } from "../../helpers/tcpScript.js";

const script = scriptFixture();

describe.each(ISN_PAIRS)("window ($name)", (isns) => {
  it("RFC 9293 §3.10.7.4 first step: data beyond the window we offered is not acceptable: ACK and drop", () => {
    const s = script({ isns });
    s.established();
    // Without scaling we offered 65535 bytes from RCV.NXT = 1.
    s.inject(200, { flags: "P.", seq: 70_001, ack: 1, data: 100 });
    s.expectSent(200, { flags: ".", seq: 1, ack: 1, win: 65535 });
    expect(s.read().length).toBe(0);
    expect(s.stack.tcp.stats.dropOutOfWindow).toBe(1);
  });

  it("RFC 9293 §3.10.7.4 first step: an old duplicate (all below RCV.NXT) is answered with an immediate ACK", () => {
    const s = script({ isns });
    s.established();
    s.inject(200, { flags: "P.", seq: 1, ack: 1, data: pattern(100) });
    s.expectSent(240, { flags: ".", seq: 1, ack: 101 });
    s.inject(300, { flags: "P.", seq: 1, ack: 1, data: pattern(100) });
    s.expectSent(300, { flags: ".", seq: 1, ack: 101 });
    expect(s.read().length).toBe(100);
  });

  it("RFC 9293 §3.10.7.4: a segment overlapping RCV.NXT is trimmed and only its new part delivered", () => {
    const s = script({ isns });
    s.established();
    s.inject(200, { flags: "P.", seq: 1, ack: 1, data: pattern(100) });
    s.inject(210, { flags: "P.", seq: 51, ack: 1, data: pattern(100, 50) });
    s.expectSent(210, { flags: ".", seq: 1, ack: 151 });
    expect(Array.from(s.read())).toEqual(Array.from(pattern(150)));
  });

  it("RFC 9293 §3.10.7.4: SND.WL1/SND.WL2 keep an older segment from changing the send window", () => {
    const s = script({ isns });
    const pcb = s.established();
    // The second segment overtakes the first: its window (3000) is the newer one.
    s.inject(200, { flags: "P.", seq: 101, ack: 1, data: 100, win: 3000 });
    s.expectSent(200, { flags: ".", seq: 1, ack: 1 });
    s.inject(210, { flags: "P.", seq: 1, ack: 1, data: 100, win: 0 });
    s.expectSent(210, { flags: ".", seq: 1, ack: 201 });
    // The late segment's SEQ (1) is below SND.WL1 (101): its zero window is not taken.
    expect(pcb.sndWnd).toBe(3000);
    s.write(10);
    s.expectSent(210, { flags: "P.", seq: 1, ack: 201, len: 10 });
  });

  it("RFC 7323 §2.3: the peer's window field is shifted left by its scale (the SYN-ACK's is not)", () => {
    const s = script({ isns });
    const pcb = s.connect();
    s.expectSent(0, { flags: "S", seq: 0 });
    // The SYN-ACK's window 730 is taken unscaled.
    s.inject(100, { flags: "S.", seq: 0, ack: 1, win: 730, options: { mss: 1460, wscale: 2 } });
    s.expectSent(100, { flags: ".", seq: 1, ack: 1 });
    expect(pcb.sndWnd).toBe(730);
    // Later fields are scaled: 730 << 2 = 2920 bytes, exactly two full segments.
    s.inject(110, { flags: ".", seq: 1, ack: 1, win: 730 });
    s.write(10_000);
    s.expectSent(110, { flags: ".", seq: 1, len: 1460 });
    s.expectSent(110, { flags: ".", seq: 1461, len: 1460 });
    s.expectNothing(200);
    s.inject(200, { flags: ".", seq: 1, ack: 2921, win: 730 });
    s.expectSent(200, { flags: ".", seq: 2921, len: 1460 });
    s.expectSent(200, { flags: ".", seq: 4381, len: 1460 });
    s.expectNothing(250);
  });

  it("RFC 9293 §3.8.6.1, RFC 1122 §4.2.2.17: a zero window is probed on the persist timer with back-off; reopening sends the data", () => {
    const s = script({ isns });
    s.established();
    s.inject(200, { flags: ".", seq: 1, ack: 1, win: 0 });
    s.write(pattern(100));
    s.expectNothing(499);
    // The persist timer starts at the RTO (300 ms) and doubles; a probe is SEG.SEQ = SND.UNA − 1 (Linux's).
    s.expectSent(500, { flags: ".", seq: 0, ack: 1, len: 0 });
    s.inject(510, { flags: ".", seq: 1, ack: 1, win: 0 });
    s.expectSent(1100, { flags: ".", seq: 0, ack: 1 });
    s.inject(1110, { flags: ".", seq: 1, ack: 1, win: 0 });
    s.expectSent(2300, { flags: ".", seq: 0, ack: 1 });
    // The window opens: the data goes at once.
    s.inject(2400, { flags: ".", seq: 1, ack: 1, win: 1000 });
    s.expectSent(2400, { flags: "P.", seq: 1, ack: 1, data: pattern(100) });
    s.inject(2450, { flags: ".", seq: 1, ack: 101, win: 1000 });
    s.expectNothing(10_000);
  });

  it("RFC 1122 §4.2.2.17: the persist timer never gives up while the peer answers its probes", () => {
    const s = script({ isns, tcp: { maxRetries: 3 } });
    const pcb = s.established();
    s.inject(200, { flags: ".", seq: 1, ack: 1, win: 0 });
    s.write(100);
    let probes = 0;
    for (let t = 300; t < 600_000; t += 1000) {
      s.at(t);
      for (const seg of s.drain()) {
        expect(seg.len).toBe(0);
        probes++;
        s.inject({ flags: ".", seq: 1, ack: 1, win: 0 });
      }
    }
    expect(probes).toBeGreaterThan(5);
    expect(s.state(pcb)).toBe("ESTABLISHED");
  });

  it("RFC 1122 §4.2.2.17: a peer that answers none of maxRetries zero-window probes is gone: Err.TIMEOUT", () => {
    const s = script({ isns, tcp: { maxRetries: 3 } });
    const pcb = s.established();
    s.inject(200, { flags: ".", seq: 1, ack: 1, win: 0 });
    s.write(100);
    let probes = 0;
    for (let t = 300; t < 600_000 && s.errors.length === 0; t += 1000) {
      s.at(t);
      for (const seg of s.drain()) {
        // Probes, then the reset of the give-up: the peer stays silent throughout.
        if (seg.flags === ".") probes++;
      }
    }
    expect(probes).toBe(3);
    expect(s.errors).toEqual([Err.TIMEOUT]);
    expect(s.state(pcb)).toBe("CLOSED");
  });

  it("RFC 1122 §4.2.2.16–17: a window shrunk to zero with data in flight is probed, and the connection is not timed out", () => {
    const s = script({ isns, tcp: { maxRetries: 3 } });
    const pcb = s.established();
    s.write(1000);
    s.expectSent(100, { flags: "P.", seq: 1, len: 1000 });
    // The peer takes 500 bytes and closes its window on the rest (it SHOULD NOT, but a sender MUST cope).
    s.inject(150, { flags: ".", seq: 1, ack: 501, win: 0 });
    let probes = 0;
    for (let t = 200; t < 300_000; t += 500) {
      s.at(t);
      for (const seg of s.drain()) {
        expect(seg.flags).toBe(".");
        probes++;
        s.inject({ flags: ".", seq: 1, ack: 501, win: 0 });
      }
    }
    expect(probes).toBeGreaterThan(3);
    expect(s.state(pcb)).toBe("ESTABLISHED");
    expect(s.errors).toEqual([]);
    // When the window reopens the rest is sent (retransmitted).
    s.inject(300_000, { flags: ".", seq: 1, ack: 501, win: 5000 });
    s.expectSent(300_000, { flags: "P.", seq: 501, len: 500 });
  });

  it("RFC 1122 §4.2.2.17: a window shrunk to zero with data in flight, then a silent peer: the connection times out", () => {
    const s = script({ isns, tcp: { maxRetries: 3 } });
    const pcb = s.established();
    s.write(1000);
    s.expectSent(100, { flags: "P.", seq: 1, len: 1000 });
    s.inject(150, { flags: ".", seq: 1, ack: 501, win: 0 });
    let probes = 0;
    for (let t = 200; t < 600_000 && s.errors.length === 0; t += 500) {
      s.at(t);
      // The peer says nothing more: its probes go unanswered (the final reset is counted too).
      probes += s.drain().length;
    }
    expect(probes).toBeGreaterThanOrEqual(3);
    expect(s.errors).toEqual([Err.TIMEOUT]);
    expect(s.state(pcb)).toBe("CLOSED");
  });

  it("RFC 9293 §3.8.6.2.2: receiver SWS avoidance — no window update until the window can grow by min(buffer/2, MSS)", () => {
    const s = script({ isns });
    s.established({ pcb: { recvBufferBytes: 4096 } });
    s.inject(200, { flags: ".", seq: 1, ack: 1, data: 1460 });
    s.inject(200, { flags: ".", seq: 1461, ack: 1, data: 1460 });
    s.expectSent(200, { flags: ".", ack: 2921, win: 4096 - 2920 });
    s.inject(210, { flags: "P.", seq: 2921, ack: 1, data: 1176 });
    s.expectSent(250, { flags: ".", ack: 4097, win: 0 });
    // Reading 100 bytes must not announce a 100-byte window, nor repeat the zero window.
    expect(s.read(100).length).toBe(100);
    s.expectNothing(400);
    expect(s.read(1300).length).toBe(1300);
    s.expectNothing(500);
    // 1460 bytes free (≥ min(4096/2, 1460)): now the update goes out.
    expect(s.read(60).length).toBe(60);
    s.expectSent(500, { flags: ".", ack: 4097, win: 1460 });
  });

  it("RFC 5681 §2, RFC 9293 §3.8.6.2.2: reading never sends an 'update' that repeats the window (a duplicate ACK to the peer)", () => {
    const s = script({ isns });
    s.established();
    s.inject(200, { flags: ".", seq: 1, ack: 1, data: 1460 });
    s.inject(200, { flags: ".", seq: 1461, ack: 1, data: 1460 });
    s.expectSent(200, { flags: ".", ack: 2921, win: 65535 });
    // The 256 KiB ring can offer more than 65535, but unscaled the field cannot say so.
    expect(s.read().length).toBe(2920);
    s.expectNothing(1000);
  });

  it("RFC 9293 §3.10.7.4: with our window closed, a data segment (or a 1-byte probe) is ACKed with window 0 and dropped", () => {
    const s = script({ isns });
    s.established({ pcb: { recvBufferBytes: 2000 } });
    s.inject(200, { flags: "P.", seq: 1, ack: 1, data: 2000 });
    s.expectSent(240, { flags: ".", ack: 2001, win: 0 });
    s.inject(300, { flags: "P.", seq: 2001, ack: 1, data: 1 });
    s.expectSent(300, { flags: ".", ack: 2001, win: 0 });
    s.inject(400, { flags: ".", seq: 2000, ack: 1 });
    s.expectSent(400, { flags: ".", ack: 2001, win: 0 });
    expect(s.read().length).toBe(2000);
    s.expectSent(400, { flags: ".", ack: 2001, win: 2000 });
  });

  it("RFC 9293 §3.8.6.2.1 (3): sender SWS avoidance holds a window-limited piece below half the largest window offered", () => {
    const s = script({ isns });
    s.established();
    s.inject(200, { flags: ".", seq: 1, ack: 1, win: 1000 });
    s.write(5000);
    // 1000 < 65535 / 2: not sent at once…
    s.expectNothing(250);
    // …but a window of one MSS is.
    s.inject(250, { flags: ".", seq: 1, ack: 1, win: 1460 });
    s.expectSent(250, { flags: ".", seq: 1, len: 1460 });
  });

  it("RFC 9293 §3.8.6.2.1 (4): the held piece goes out when the override (persist) timer fires", () => {
    const s = script({ isns });
    s.established();
    s.inject(200, { flags: ".", seq: 1, ack: 1, win: 1000 });
    s.write(5000);
    s.expectNothing(499);
    s.expectSent(500, { flags: ".", seq: 1, len: 1000 });
    s.inject(550, { flags: ".", seq: 1, ack: 1001, win: 1000 });
    s.expectNothing(s.now + 299);
    s.expectSent(s.now + 1, { flags: ".", seq: 1001, len: 1000 });
  });
});
