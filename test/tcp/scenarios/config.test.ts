// Scenarios: the congestion control a TCP layer is configured with. A name is checked where it is given — the
// stack's defaults when the layer is built, a listen or connect option when it is called — so creating a PCB,
// in particular for a SYN arriving in LISTEN, never meets an unknown one.

import { describe, expect, it } from "vitest";
import { Err } from "../../../src/core/errors.js";
import { CONGESTION_CONTROLS, Cubic, NewReno, type CongestionControlName } from "../../../src/tcp/cc/index.js";
import { DEFAULT_TCP_CONFIG } from "../../../src/tcp/tcp.js";
import { LOCAL_PORT, PEER_IP, PEER_PORT, scriptFixture } from "../../helpers/tcpScript.js";

const script = scriptFixture();

/** What untyped code (a JSON config, plain JavaScript) can hand over. */
const BBR = "bbr" as CongestionControlName;

const withDefault = (congestionControl: CongestionControlName) => ({ defaults: { ...DEFAULT_TCP_CONFIG.defaults, congestionControl } });

const classOf = (name: CongestionControlName): typeof NewReno | typeof Cubic => (name === "cubic" ? Cubic : NewReno);

describe("congestion control by name", () => {
  it("an unknown default is refused when the stack is built, naming the choices", () => {
    expect(() => script({ tcp: withDefault(BBR) })).toThrow(new Error("unknown congestion control 'bbr' (newreno, cubic)"));
  });

  it("an unknown name for one listener is refused with Err.VAL; a SYN to that port then finds nothing listening", () => {
    const s = script();
    expect(s.stack.tcp.listen(0, LOCAL_PORT, 16, {}, { congestionControl: BBR })).toBe(Err.VAL);
    expect(s.stack.tcp.activeListeners).toEqual([]);
    s.inject(0, { flags: "S", seq: 0, options: { mss: 1460 } });
    s.expectSent(0, { flags: "R.", ack: 1, len: 0 });
    expect(s.stack.tcp.allPcbs()).toEqual([]);
  });

  it("an unknown name for one connection is refused with Err.VAL before anything is sent", () => {
    const s = script();
    expect(s.stack.tcp.connect(PEER_IP, PEER_PORT, {}, { congestionControl: BBR })).toBe(Err.VAL);
    expect(s.stack.tcp.allPcbs()).toEqual([]);
    expect(s.stack.tcp.stats.activeOpens).toBe(0);
    s.expectNothing(1000);
  });

  it.each(CONGESTION_CONTROLS)("the stack's default %s is what a passive open runs, from its SYN on", (name) => {
    const s = script({ tcp: withDefault(name) });
    expect(s.synReceived().cc).toBeInstanceOf(classOf(name));
  });

  it.each(CONGESTION_CONTROLS)("the stack's default %s is what an active open runs", (name) => {
    const s = script({ tcp: withDefault(name) });
    expect(s.synSent().cc).toBeInstanceOf(classOf(name));
  });

  it("a listener's own choice overrides the stack's default", () => {
    const s = script({ tcp: withDefault("newreno") });
    expect(s.synReceived({ pcb: { congestionControl: "cubic" } }).cc).toBeInstanceOf(Cubic);
  });
});
