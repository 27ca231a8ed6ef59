// Scenarios: how we cut and send data — Nagle's algorithm and TCP_NODELAY (RFC 9293 §3.7.4, RFC 1122
// §4.2.3.4), segmentation at the send MSS, the initial window (RFC 6928) and the send window limit.
// Both ISN pairs.

import { describe, expect, it } from "vitest";
import { ISN_PAIRS, pattern, scriptFixture } from "../../helpers/tcpScript.js";

const script = scriptFixture();

describe.each(ISN_PAIRS)("send ($name)", (isns) => {
  it("RFC 9293 §3.7.4 (Nagle): a small segment is held while earlier data is unacknowledged, and sent on the ACK", () => {
    const s = script({ isns });
    s.established();
    s.write(pattern(100));
    s.expectSent(100, { flags: "P.", seq: 1, len: 100, data: pattern(100) });
    s.write(pattern(50, 100));
    s.write(pattern(50, 150));
    s.expectNothing(150);
    s.inject(150, { flags: ".", seq: 1, ack: 101 });
    // The held bytes go as one segment.
    s.expectSent(150, { flags: "P.", seq: 101, len: 100, data: pattern(100, 100) });
  });

  it("RFC 1122 §4.2.3.4: TCP_NODELAY sends small segments at once", () => {
    const s = script({ isns });
    s.established({ pcb: { noDelay: true } });
    s.write(100);
    s.expectSent(100, { flags: "P.", seq: 1, len: 100 });
    s.write(50);
    s.expectSent(100, { flags: "P.", seq: 101, len: 50 });
  });

  it("RFC 1122 §4.2.3.4: setting TCP_NODELAY releases a segment Nagle was holding", () => {
    const s = script({ isns });
    const pcb = s.established();
    s.write(100);
    s.expectSent(100, { flags: "P.", seq: 1, len: 100 });
    s.write(50);
    s.expectNothing(120);
    s.stack.tcp.setNoDelay(pcb, true);
    s.expectSent(120, { flags: "P.", seq: 101, len: 50 });
  });

  it("RFC 9293 §3.7.4: Nagle never holds a full-sized segment; only the sub-MSS tail waits", () => {
    const s = script({ isns });
    s.established();
    s.write(100);
    s.expectSent(100, { flags: "P.", seq: 1, len: 100 });
    s.write(1460 + 200);
    s.expectSent(100, { flags: ".", seq: 101, len: 1460 });
    s.expectNothing(150);
    s.inject(150, { flags: ".", seq: 1, ack: 1561 });
    s.expectSent(150, { flags: "P.", seq: 1561, len: 200 });
  });

  it("RFC 6928: the initial window is 10 segments; the 11th waits for an ACK (slow start then grows cwnd)", () => {
    const s = script({ isns });
    s.established();
    s.write(12 * 1460);
    for (let i = 0; i < 10; i++) s.expectSent(100, { flags: ".", seq: 1 + i * 1460, len: 1460 });
    s.expectNothing(150);
    s.inject(200, { flags: ".", seq: 1, ack: 1 + 1460 });
    // One segment acknowledged: cwnd + 1 MSS (RFC 5681 §3.1), so two more segments.
    s.expectSent(200, { flags: ".", seq: 1 + 10 * 1460, len: 1460 });
    s.expectSent(200, { flags: "P.", seq: 1 + 11 * 1460, len: 1460 });
  });

  it("RFC 9293 §3.8.6.2.1: we never send beyond the peer's offered window", () => {
    const s = script({ isns });
    s.established({ win: 3000 });
    s.inject(100, { flags: ".", seq: 1, ack: 1, win: 2920 });
    s.write(5000);
    s.expectSent(100, { flags: ".", seq: 1, len: 1460 });
    s.expectSent(100, { flags: ".", seq: 1461, len: 1460 });
    s.expectNothing(150);
    s.inject(150, { flags: ".", seq: 1, ack: 2921, win: 2920 });
    s.expectSent(150, { flags: ".", seq: 2921, len: 1460 });
    // The 620-byte tail fits the window but Nagle holds it behind the unacknowledged segment.
    s.expectNothing(250);
    s.inject(250, { flags: ".", seq: 1, ack: 4381, win: 1460 });
    s.expectSent(250, { flags: "P.", seq: 4381, len: 620 });
  });

  it("RFC 9293 §3.10.2: data written in SYN-SENT is queued and sent once the connection is established", () => {
    const s = script({ isns });
    s.connect();
    s.expectSent(0, { flags: "S", seq: 0 });
    expect(s.write(pattern(100))).toBe(100);
    s.expectNothing(50);
    s.inject(50, { flags: "S.", seq: 0, ack: 1, options: { mss: 1460 } });
    // The data carries the handshake's final ACK.
    s.expectSent(50, { flags: "P.", seq: 1, ack: 1, data: pattern(100) });
    s.expectNothing(60);
  });

  it("RFC 9293 §3.8.3: data is delivered to the application in order and intact", () => {
    const s = script({ isns });
    s.established();
    const data = pattern(3000, 7);
    s.inject(200, { flags: ".", seq: 1, ack: 1, data: data.slice(0, 1460) });
    s.inject(201, { flags: ".", seq: 1461, ack: 1, data: data.slice(1460, 2920) });
    s.inject(202, { flags: "P.", seq: 2921, ack: 1, data: data.slice(2920) });
    s.drain();
    expect(s.events).toContain("readable");
    expect(Array.from(s.read())).toEqual(Array.from(data));
  });
});
