// Scenarios: TIME-WAIT (RFC 9293 §3.6, §3.10.7.4; RFC 1337; RFC 6191 reuse) and recycling it under PCB
// pressure (as lwIP does). Both ISN pairs.

import { describe, expect, it } from "vitest";
import { ISN_PAIRS, scriptFixture } from "../../helpers/tcpScript.js";

const script = scriptFixture();

describe.each(ISN_PAIRS)("time-wait ($name)", (isns) => {
  it("RFC 9293 §3.6: TIME-WAIT lasts 2·MSL (MSL 1 s here), then the PCB is freed", () => {
    const s = script({ isns, tcp: { mslMs: 1000 } });
    const pcb = s.timeWait();
    const entered = s.now;
    s.expectNothing(entered + 1999);
    expect(s.state(pcb)).toBe("TIME-WAIT");
    s.at(entered + 2000);
    expect(pcb.freed).toBe(true);
    s.expectNoConnections();
    // Afterwards the 4-tuple is closed: a late segment draws a reset.
    s.inject(entered + 2500, { flags: "F.", seq: 1, ack: 2 });
    s.expectSent(entered + 2500, { flags: "R", seq: 2 });
  });

  it("RFC 9293 §3.10.7.4: a retransmitted FIN in TIME-WAIT is ACKed again and restarts the 2·MSL timer", () => {
    const s = script({ isns });
    const pcb = s.timeWait();
    s.inject(30_000, { flags: "F.", seq: 1, ack: 2 });
    s.expectSent(30_000, { flags: ".", seq: 2, ack: 2 });
    s.expectNothing(89_999);
    expect(s.state(pcb)).toBe("TIME-WAIT");
    s.at(90_000);
    s.expectNoConnections();
  });

  it("RFC 9293 §3.10.7.4: any other segment in TIME-WAIT just draws an ACK", () => {
    const s = script({ isns });
    const pcb = s.timeWait();
    s.inject(1000, { flags: "P.", seq: 2, ack: 2, data: 10 });
    s.expectSent(1000, { flags: ".", seq: 2, ack: 2 });
    expect(s.state(pcb)).toBe("TIME-WAIT");
  });

  it("RFC 9293 §3.10.7.4 (note), RFC 6191: a new SYN above the old sequence space reopens the connection from TIME-WAIT", () => {
    const s = script({ isns });
    const old = s.timeWait({ passive: true });
    // Same 4-tuple, SEG.SEQ far above the old RCV.NXT (2).
    s.inject(5000, { flags: "S", seq: 100_000, options: { mss: 1460 } });
    s.expectSent(5000, { flags: "S.", seq: 0, ack: 100_001 });
    expect(old.freed).toBe(true);
    s.inject(5010, { flags: ".", seq: 100_001, ack: 1 });
    const pcb = s.accept();
    expect(s.state(pcb)).toBe("ESTABLISHED");
    expect(s.stack.tcp.stats.timeWaitRecycled).toBe(1);
  });

  it("RFC 9293 §3.10.7.4, RFC 5961 §4: a SYN at or below the old sequence space does not reopen; it is ACKed", () => {
    const s = script({ isns });
    const pcb = s.timeWait({ passive: true });
    s.inject(5000, { flags: "S", seq: 0, options: { mss: 1460 } });
    s.expectSent(5000, { flags: ".", seq: 2, ack: 2 });
    expect(s.state(pcb)).toBe("TIME-WAIT");
  });

  it("RFC 6191 §2: with timestamps, a SYN with a newer TSval reopens even with a lower sequence number", () => {
    const s = script({ isns });
    const old = s.timeWait({ passive: true, peer: { mss: 1460, ts: true } });
    s.inject(5000, { flags: "S", seq: -100, options: { mss: 1460, ts: [5000, 0] } });
    s.expectSent(5000, { flags: "S.", seq: 0, ack: -99 });
    expect(old.freed).toBe(true);
  });

  it("RFC 1337: a RST does not cut TIME-WAIT short", () => {
    const s = script({ isns, tcp: { mslMs: 1000 } });
    const pcb = s.timeWait();
    s.inject(s.now + 100, { flags: "R", seq: 2 });
    expect(s.state(pcb)).toBe("TIME-WAIT");
    s.expectNothing(s.now + 1000);
    expect(s.state(pcb)).toBe("TIME-WAIT");
  });

  it("lwIP's PCB-limit policy: when no PCB is free, the oldest TIME-WAIT one is recycled for a new connection", () => {
    const s = script({ isns, tcp: { maxPcbs: 1 } });
    const old = s.timeWait();
    s.listening(9090);
    s.inject(1000, { flags: "S", seq: 0, srcPort: 50000, dstPort: 9090, options: { mss: 1460 } });
    s.expectSent(1000, { flags: "S.", seq: 0, ack: 1, srcPort: 9090 });
    expect(old.freed).toBe(true);
    expect(s.stack.tcp.stats.timeWaitRecycled).toBe(1);
  });
});
