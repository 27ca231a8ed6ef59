// Congestion control chosen by name (TcpPcbOptions.congestionControl, for the stack or per PCB): one factory
// over the algorithms in this folder. Call order: PCB creation → createCongestionControl(name) → the PCB calls the
// returned CongestionControl from ack processing (tcp/ack) and reads cwndBytes in tcp/output.

import type { CongestionControl } from "./cc.js";
import { Cubic } from "./cubic.js";
import { NewReno } from "./newreno.js";

export type { CongestionControl } from "./cc.js";
export { Cubic, type CubicOptions } from "./cubic.js";
export { NewReno } from "./newreno.js";

export const CONGESTION_CONTROLS = ["newreno", "cubic"] as const;

export type CongestionControlName = (typeof CONGESTION_CONTROLS)[number];

/**
 * Whether `name` is one of CONGESTION_CONTROLS. TcpLayer checks every name it is configured with (the stack's
 * defaults, a listen or connect option), so creating a PCB, even for a SYN in LISTEN, never meets a bad one.
 */
export function isCongestionControlName(name: string): name is CongestionControlName {
  return (CONGESTION_CONTROLS as readonly string[]).includes(name);
}

/** The error for a name that is not one of CONGESTION_CONTROLS, listing those that are. */
export function unknownCongestionControl(name: string): Error {
  return new Error(`unknown congestion control '${name}' (${CONGESTION_CONTROLS.join(", ")})`);
}

/** A fresh algorithm instance; call init() when the connection is established. */
export function createCongestionControl(name: CongestionControlName): CongestionControl {
  switch (name) {
    case "newreno":
      return new NewReno();
    case "cubic":
      return new Cubic();
    default:
      // Only an untyped caller gets here: TcpLayer refuses unknown names when it is configured.
      throw unknownCongestionControl(name as string);
  }
}
