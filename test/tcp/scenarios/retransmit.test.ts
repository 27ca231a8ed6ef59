// Scenarios: the retransmission timer (RFC 6298 §2–§5), Karn's algorithm (RFC 6298 §3), RTT from timestamps
// (RFC 7323 §4), the loss window after a timeout (RFC 5681 §3.1), and giving up (RFC 9293 §3.8.3,
// RFC 1122 §4.2.3.5). Both ISN pairs. The factories' 100 ms handshake gives SRTT 100, RTTVAR 50, RTO 300.

import { describe, expect, it } from "vitest";
import { Err } from "../../../src/core/errors.js";
import { ISN_PAIRS, scriptFixture } from "../../helpers/tcpScript.js";

const script = scriptFixture();

describe.each(ISN_PAIRS)("retransmit ($name)", (isns) => {
  it("RFC 6298 §2.2–2.3, §5.5: RTO = SRTT + 4·RTTVAR (300 ms), doubling at each expiry: 300, 600, 1200, 2400", () => {
    const s = script({ isns });
    s.established();
    s.write(100);
    s.expectSent(100, { flags: "P.", seq: 1, len: 100 });
    s.expectNothing(399);
    s.expectSent(400, { flags: "P.", seq: 1, len: 100 });
    s.expectSent(1000, { flags: "P.", seq: 1, len: 100 });
    s.expectSent(2200, { flags: "P.", seq: 1, len: 100 });
    s.expectSent(4600, { flags: "P.", seq: 1, len: 100 });
    s.inject(4700, { flags: ".", seq: 1, ack: 101 });
    s.expectNothing(20_000);
  });

  it("RFC 6298 §5.2: when all outstanding data is acknowledged the timer stops", () => {
    const s = script({ isns });
    s.established();
    s.write(100);
    s.expectSent(100, { flags: "P.", seq: 1, len: 100 });
    s.inject(150, { flags: ".", seq: 1, ack: 101 });
    s.expectNothing(10_000);
    expect(s.scheduler.armedLabels()).not.toContain("tcp rtx");
  });

  it("RFC 6298 §5.3: an ACK of new data restarts the timer for what is still outstanding", () => {
    const s = script({ isns });
    s.established();
    s.write(2920);
    s.expectSent(100, { flags: ".", seq: 1, len: 1460 });
    s.expectSent(100, { flags: "P.", seq: 1461, len: 1460 });
    s.inject(350, { flags: ".", seq: 1, ack: 1461 });
    // Not at 400 (the first segment's deadline): 300 ms after the ACK. The sample (250 ms) raised the RTO:
    // SRTT 118.75, RTTVAR 75 → RTO 418.75.
    s.expectNothing(768);
    s.expectSent(768.75, { flags: "P.", seq: 1461, len: 1460 });
  });

  it("RFC 6298 §3 (Karn): the ACK of a retransmitted segment gives no RTT sample, and the backed-off RTO is kept", () => {
    const s = script({ isns });
    s.established();
    s.write(100);
    s.expectSent(100, { flags: "P.", seq: 1, len: 100 });
    s.expectSent(400, { flags: "P.", seq: 1, len: 100 });
    // Ambiguous ACK: from the first transmission (RTT 350) or the second (RTT 50)? Neither is used.
    s.inject(450, { flags: ".", seq: 1, ack: 101 });
    expect(s.stack.tcp.info(s.mustPcb()).srttMs).toBe(100);
    s.write(100);
    s.expectSent(450, { flags: "P.", seq: 101, len: 100 });
    // The RTO stays backed off (600 ms) until a valid sample.
    s.expectNothing(1049);
    s.expectSent(1050, { flags: "P.", seq: 101, len: 100 });
  });

  it("RFC 6298 §3: a segment never retransmitted is timed, and its sample ends the back-off", () => {
    const s = script({ isns });
    s.established();
    s.write(100);
    s.expectSent(100, { flags: "P.", seq: 1, len: 100 });
    s.expectSent(400, { flags: "P.", seq: 1, len: 100 });
    s.inject(450, { flags: ".", seq: 1, ack: 101 });
    s.write(100);
    s.expectSent(450, { flags: "P.", seq: 101, len: 100 });
    // Timed from 450; a 100 ms sample: SRTT 100, RTTVAR 37.5 → RTO 250, back-off cleared.
    s.inject(550, { flags: ".", seq: 1, ack: 201 });
    s.write(100);
    s.expectSent(550, { flags: "P.", seq: 201, len: 100 });
    s.expectSent(800, { flags: "P.", seq: 201, len: 100 });
  });

  it("RFC 7323 §4.1: with timestamps the echo times even a retransmission (TSecr names the transmission)", () => {
    const s = script({ isns });
    s.established({ peer: { mss: 1460, ts: true } });
    s.write(100);
    s.expectSent(100, { flags: "P.", seq: 1, len: 100, options: { ts: [100, undefined] } });
    s.expectSent(400, { flags: "P.", seq: 1, len: 100, options: { ts: [400, undefined] } });
    s.inject(500, { flags: ".", seq: 1, ack: 101, options: { ts: [500, 400] } });
    // Sample 100 ms: SRTT 100, RTTVAR 37.5, RTO 250 without back-off.
    s.write(100);
    s.expectSent(500, { flags: "P.", seq: 101, len: 100 });
    s.expectNothing(749);
    s.expectSent(750, { flags: "P.", seq: 101, len: 100 });
  });

  it("RFC 5681 §3.1: after a timeout cwnd is one segment; each ACK then grows it (slow start), resending from SND.UNA", () => {
    const s = script({ isns });
    s.established();
    s.write(5 * 1460);
    for (let i = 0; i < 5; i++) s.expectSent(100, { flags: i === 4 ? "P." : ".", seq: 1 + i * 1460, len: 1460 });
    // The timeout retransmits only the first segment (loss window LW = 1 SMSS).
    s.expectSent(400, { flags: ".", seq: 1, len: 1460 });
    s.expectNothing(440);
    s.inject(450, { flags: ".", seq: 1, ack: 1461 });
    // cwnd 2 SMSS: two more from SND.UNA.
    s.expectSent(450, { flags: ".", seq: 1461, len: 1460 });
    s.expectSent(450, { flags: ".", seq: 2921, len: 1460 });
    s.expectNothing(460);
    s.inject(500, { flags: ".", seq: 1, ack: 7301 });
    s.expectNothing(5000);
  });

  it("RFC 9293 §3.8.3, RFC 1122 §4.2.3.5: after maxRetries expiries the connection is reset and fails with Err.TIMEOUT", () => {
    const s = script({ isns, tcp: { maxRetries: 3 } });
    const pcb = s.established();
    s.write(100);
    s.expectSent(100, { flags: "P.", seq: 1, len: 100 });
    s.expectSent(400, { flags: "P.", seq: 1 });
    s.expectSent(1000, { flags: "P.", seq: 1 });
    s.expectSent(2200, { flags: "P.", seq: 1 });
    s.expectSent(4600, { flags: "R.", seq: 101, ack: 1 });
    expect(s.errors).toEqual([Err.TIMEOUT]);
    expect(pcb.freed).toBe(true);
    s.expectNoConnections();
  });

  it("RFC 6298 §5.7: when the SYN-ACK had to be retransmitted (and no RTT was sampled), the data RTO starts at 3 s", () => {
    const s = script({ isns });
    s.listening();
    s.inject(0, { flags: "S", seq: 0, options: { mss: 1460 } });
    s.expectSent(0, { flags: "S.", seq: 0, ack: 1 });
    s.expectSent(1000, { flags: "S.", seq: 0, ack: 1 });
    s.inject(1100, { flags: ".", seq: 1, ack: 1 });
    s.accept();
    s.write(100);
    s.expectSent(1100, { flags: "P.", seq: 1, len: 100 });
    s.expectNothing(4099);
    s.expectSent(4100, { flags: "P.", seq: 1, len: 100 });
  });
});
