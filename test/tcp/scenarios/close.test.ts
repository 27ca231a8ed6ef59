// Scenarios: closing connections (RFC 9293 §3.6 figures 12–14, §3.10.4, §3.10.7.4 eighth step), half-close
// with data still flowing, FIN retransmission, and FIN-WAIT-2's orphan timeout. Both ISN pairs.

import { describe, expect, it } from "vitest";
import { Err } from "../../../src/core/errors.js";
import { ISN_PAIRS, pattern, scriptFixture } from "../../helpers/tcpScript.js";

const script = scriptFixture();

describe.each(ISN_PAIRS)("close ($name)", (isns) => {
  it("RFC 9293 §3.6 figure 12: active close — FIN-WAIT-1 → FIN-WAIT-2 on the ACK → TIME-WAIT on the FIN → CLOSED after 2·MSL", () => {
    const s = script({ isns });
    const pcb = s.established();
    s.stack.tcp.close(pcb);
    s.expectSent(100, { flags: "F.", seq: 1, ack: 1 });
    expect(s.state(pcb)).toBe("FIN-WAIT-1");
    s.inject(150, { flags: ".", seq: 1, ack: 2 });
    expect(s.state(pcb)).toBe("FIN-WAIT-2");
    s.inject(200, { flags: "F.", seq: 1, ack: 2 });
    s.expectSent(200, { flags: ".", seq: 2, ack: 2 });
    expect(s.state(pcb)).toBe("TIME-WAIT");
    // 2·MSL with the default MSL of 30 s.
    s.expectNothing(60_199);
    expect(s.state(pcb)).toBe("TIME-WAIT");
    s.at(60_200);
    s.expectNoConnections();
  });

  it("RFC 9293 §3.6 figure 12: passive close — the peer's FIN is ACKed at once (CLOSE-WAIT); our FIN → LAST-ACK; its ACK → CLOSED", () => {
    const s = script({ isns });
    const pcb = s.established();
    s.inject(150, { flags: "F.", seq: 1, ack: 1 });
    s.expectSent(150, { flags: ".", seq: 1, ack: 2 });
    expect(s.state(pcb)).toBe("CLOSE-WAIT");
    expect(s.events).toContain("readable");
    // read returns 0 at end of stream.
    expect(s.read().length).toBe(0);
    expect(pcb.finReceived).toBe(true);
    s.stack.tcp.close(pcb);
    s.expectSent(150, { flags: "F.", seq: 1, ack: 2 });
    expect(s.state(pcb)).toBe("LAST-ACK");
    s.inject(200, { flags: ".", seq: 2, ack: 2 });
    expect(pcb.freed).toBe(true);
    s.expectNoConnections();
    s.expectNothing(5000);
  });

  it("RFC 9293 §3.6 figure 13: simultaneous close — the peer's FIN in FIN-WAIT-1 → CLOSING; the ACK of our FIN → TIME-WAIT", () => {
    const s = script({ isns });
    const pcb = s.closing();
    s.inject(s.now + 10, { flags: ".", seq: 2, ack: 2 });
    expect(s.state(pcb)).toBe("TIME-WAIT");
    s.expectNothing(s.now + 60_000);
    s.expectNoConnections();
  });

  it("RFC 9293 §3.10.7.4 eighth step: a FIN that also acknowledges our FIN in FIN-WAIT-1 goes straight to TIME-WAIT", () => {
    const s = script({ isns });
    const pcb = s.finWait1();
    s.inject(150, { flags: "F.", seq: 1, ack: 2 });
    s.expectSent(150, { flags: ".", seq: 2, ack: 2 });
    expect(s.state(pcb)).toBe("TIME-WAIT");
  });

  it("RFC 9293 §3.10.4: half-close — after our FIN is acknowledged the peer's data still arrives and is ACKed in FIN-WAIT-2", () => {
    const s = script({ isns });
    const pcb = s.finWait2();
    s.inject(200, { flags: "P.", seq: 1, ack: 2, data: pattern(300) });
    s.inject(210, { flags: "P.", seq: 301, ack: 2, data: pattern(200, 300) });
    // Every second segment is ACKed at once (RFC 9293 §3.8.6.3).
    s.expectSent(210, { flags: ".", seq: 2, ack: 501 });
    expect(Array.from(s.read())).toEqual(Array.from(pattern(500)));
    s.inject(220, { flags: "F.", seq: 501, ack: 2 });
    s.expectSent(220, { flags: ".", seq: 2, ack: 502 });
    expect(s.state(pcb)).toBe("TIME-WAIT");
  });

  it("RFC 9293 §3.10.4: half-close the other way — in CLOSE-WAIT we keep sending until we close", () => {
    const s = script({ isns });
    const pcb = s.closeWait();
    expect(s.write(pattern(100))).toBe(100);
    s.expectSent(110, { flags: "P.", seq: 1, ack: 2, data: pattern(100) });
    s.inject(150, { flags: ".", seq: 2, ack: 101 });
    s.write(pattern(50, 100));
    s.expectSent(150, { flags: "P.", seq: 101, ack: 2, len: 50 });
    s.stack.tcp.shutdownWrite(pcb);
    s.expectSent(150, { flags: "F.", seq: 151, ack: 2 });
    expect(s.state(pcb)).toBe("LAST-ACK");
    s.inject(200, { flags: ".", seq: 2, ack: 152 });
    s.expectNoConnections();
  });

  it("RFC 9293 §3.10.4: the FIN follows queued data (on its last segment); write after shutdown fails", () => {
    const s = script({ isns });
    const pcb = s.established();
    // Data held back by the peer's zero window, so that it is still queued when the FIN is.
    s.inject(100, { flags: ".", seq: 1, ack: 1, win: 0 });
    s.write(100);
    s.stack.tcp.shutdownWrite(pcb);
    s.expectNothing(150);
    s.inject(150, { flags: ".", seq: 1, ack: 1, win: 1000 });
    s.expectSent(150, { flags: "FP.", seq: 1, ack: 1, len: 100 });
    expect(s.stack.tcp.write(pcb, new Uint8Array(10), 0, 10)).toBe(Err.CONN);
    s.inject(150, { flags: ".", seq: 1, ack: 102 });
    expect(s.state(pcb)).toBe("FIN-WAIT-2");
  });

  it("RFC 6298 §5.4, RFC 9293 §3.10.4: an unacknowledged FIN is retransmitted on the RTO with back-off", () => {
    const s = script({ isns });
    s.finWait1();
    // RTO 300 ms after the 100 ms handshake sample (SRTT 100 + 4·RTTVAR 50).
    s.expectSent(400, { flags: "F.", seq: 1, ack: 1 });
    s.expectSent(1000, { flags: "F.", seq: 1, ack: 1 });
    s.inject(1050, { flags: ".", seq: 1, ack: 2 });
    expect(s.state()).toBe("FIN-WAIT-2");
    s.expectNothing(10_000);
  });

  it("Linux tcp_fin_timeout: an orphaned connection in FIN-WAIT-2 is freed after finWait2TimeoutMs", () => {
    const s = script({ isns, tcp: { finWait2TimeoutMs: 5000 } });
    const pcb = s.finWait2({ how: "close" });
    s.expectNothing(5109);
    expect(s.state(pcb)).toBe("FIN-WAIT-2");
    s.at(5110);
    s.expectNoConnections();
  });

  it("RFC 9293 §3.10.7.4: a connection the application still holds stays in FIN-WAIT-2 as long as the peer likes", () => {
    const s = script({ isns, tcp: { finWait2TimeoutMs: 5000 } });
    const pcb = s.finWait2();
    s.expectNothing(50_000);
    expect(s.state(pcb)).toBe("FIN-WAIT-2");
  });

  it("RFC 9293 §3.10.7.4 seventh/eighth steps: a FIN beyond a hole waits until the hole is filled", () => {
    const s = script({ isns });
    const pcb = s.established();
    // Data 101..200 and the FIN arrive before 1..100.
    s.inject(110, { flags: "FP.", seq: 101, ack: 1, data: pattern(100, 100) });
    s.expectSent(110, { flags: ".", seq: 1, ack: 1 });
    expect(s.state(pcb)).toBe("ESTABLISHED");
    s.inject(120, { flags: "P.", seq: 1, ack: 1, data: pattern(100) });
    s.expectSent(120, { flags: ".", seq: 1, ack: 202 });
    expect(s.state(pcb)).toBe("CLOSE-WAIT");
    expect(Array.from(s.read())).toEqual(Array.from(pattern(200)));
  });

  it("RFC 9293 §3.10.7.4: a retransmitted FIN in CLOSE-WAIT is acknowledged again", () => {
    const s = script({ isns });
    const pcb = s.closeWait();
    s.inject(500, { flags: "F.", seq: 1, ack: 1 });
    s.expectSent(500, { flags: ".", seq: 1, ack: 2 });
    expect(s.state(pcb)).toBe("CLOSE-WAIT");
  });
});
