// Scenarios: keep-alive (RFC 1122 §4.2.3.6; Linux's probe form SEG.SEQ = SND.UNA − 1 with no data, its
// interval and count) — off by default, probes after the idle time, kept alive by answers, dropped after
// the probe count. Both ISN pairs.

import { describe, expect, it } from "vitest";
import { Err } from "../../../src/core/errors.js";
import { ISN_PAIRS, scriptFixture } from "../../helpers/tcpScript.js";

const script = scriptFixture();
const KEEPALIVE = { keepAliveIntervalMs: 1000, keepAliveProbes: 3 };

describe.each(ISN_PAIRS)("keep-alive ($name)", (isns) => {
  it("RFC 1122 §4.2.3.6: keep-alive is off by default — an idle connection sends nothing for hours", () => {
    const s = script({ isns });
    const pcb = s.established();
    s.expectNothing(3 * 3600_000);
    expect(s.state(pcb)).toBe("ESTABLISHED");
  });

  it("RFC 1122 §4.2.3.6: after the idle time a probe <SEQ=SND.UNA−1> with no data goes out; an answer keeps the connection", () => {
    const s = script({ isns, tcp: KEEPALIVE });
    const pcb = s.established({ pcb: { keepAliveIdleMs: 10_000 } });
    s.expectNothing(10_099);
    s.expectSent(10_100, { flags: ".", seq: 0, ack: 1, len: 0 });
    s.inject(10_150, { flags: ".", seq: 1, ack: 1 });
    // The answer restarts the idle period.
    s.expectNothing(20_149);
    s.expectSent(20_150, { flags: ".", seq: 0, ack: 1, len: 0 });
    s.inject(20_200, { flags: ".", seq: 1, ack: 1 });
    expect(s.state(pcb)).toBe("ESTABLISHED");
    expect(s.errors).toEqual([]);
  });

  it("RFC 1122 §4.2.3.6: unanswered probes repeat every interval; after the probe count the connection fails with Err.TIMEOUT", () => {
    const s = script({ isns, tcp: KEEPALIVE });
    const pcb = s.established({ pcb: { keepAliveIdleMs: 10_000 } });
    s.expectSent(10_100, { flags: ".", seq: 0, ack: 1 });
    s.expectSent(11_100, { flags: ".", seq: 0, ack: 1 });
    s.expectSent(12_100, { flags: ".", seq: 0, ack: 1 });
    s.expectNothing(13_099);
    expect(s.errors).toEqual([]);
    s.at(13_100);
    expect(s.errors).toEqual([Err.TIMEOUT]);
    expect(pcb.freed).toBe(true);
    s.expectNothing(20_000);
    s.expectNoConnections();
  });

  it("RFC 1122 §4.2.3.6: data received resets the idle clock", () => {
    const s = script({ isns, tcp: KEEPALIVE });
    s.established({ pcb: { keepAliveIdleMs: 10_000 } });
    s.inject(5000, { flags: "P.", seq: 1, ack: 1, data: 10 });
    s.expectSent(5040, { flags: ".", ack: 11 });
    s.expectNothing(14_999);
    s.expectSent(15_000, { flags: ".", seq: 0, ack: 11 });
  });

  it("setKeepAlive turns probing on for an established connection, and off again", () => {
    const s = script({ isns, tcp: KEEPALIVE });
    const pcb = s.established();
    s.stack.tcp.setKeepAlive(pcb, 2000);
    s.expectSent(2100, { flags: ".", seq: 0, ack: 1 });
    s.inject(2200, { flags: ".", seq: 1, ack: 1 });
    s.stack.tcp.setKeepAlive(pcb, 0);
    s.expectNothing(100_000);
  });
});
