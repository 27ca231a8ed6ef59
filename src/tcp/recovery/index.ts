// Loss recovery chosen per connection: with SACK agreed on the SYNs (RFC 2018 §2, pcb.sackOn) RACK-TLP
// (RFC 8985) when the layer's config asked for it (then tcp/negotiate made pcb.rack), else RFC 6675's
// DupThresh recovery; without SACK NewReno (RFC 6582). Call order: tcp/ack and tcp/output → lossRecovery(pcb)
// → the algorithm's hooks (./recovery.ts).

import type { TcpPcb } from "../pcb.js";
import { NEWRENO_RECOVERY } from "./newreno.js";
import type { LossRecovery } from "./recovery.js";
import { RACK_RECOVERY } from "./rack.js";
import { SACK_RECOVERY } from "./sack.js";

export type { AckSummary, LossRecovery, LossRecoveryName, RecoveryTx } from "./recovery.js";
export { NEWRENO_RECOVERY } from "./newreno.js";
export { SACK_RECOVERY } from "./sack.js";
export { RACK_RECOVERY, rackOnSend } from "./rack.js";

/** The algorithm a connection recovers with; it follows sackOn (and rack), which the SYN exchange settles. */
export function lossRecovery(pcb: TcpPcb): LossRecovery {
  if (!pcb.sackOn) return NEWRENO_RECOVERY;
  return pcb.rack !== null ? RACK_RECOVERY : SACK_RECOVERY;
}
