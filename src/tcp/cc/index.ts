// Congestion control chosen by name (TcpPcbOptions.congestionControl, for the stack or per PCB): one factory
// over the algorithms in this folder. Call order: PCB creation → createCongestionControl(name) → the PCB calls the
// returned CongestionControl from ack processing (tcp/input) and reads cwndBytes in tcp/output.

import type { CongestionControl } from "./cc.js";
import { Cubic } from "./cubic.js";
import { NewReno } from "./newreno.js";

export type { CongestionControl } from "./cc.js";
export { Cubic, type CubicOptions } from "./cubic.js";
export { NewReno } from "./newreno.js";

export const CONGESTION_CONTROLS = ["newreno", "cubic"] as const;

export type CongestionControlName = (typeof CONGESTION_CONTROLS)[number];

/** A fresh algorithm instance; call init() when the connection is established. Throws on an unknown name. */
export function createCongestionControl(name: string): CongestionControl {
  switch (name) {
    case "newreno":
      return new NewReno();
    case "cubic":
      return new Cubic();
    default:
      throw new Error(`unknown congestion control '${name}' (${CONGESTION_CONTROLS.join(", ")})`);
  }
}
