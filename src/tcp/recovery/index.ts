// Loss recovery chosen per connection: SACK-based (RFC 6675) when both ends agreed to SACK on the SYNs
// (RFC 2018 §2, pcb.sackOn), else NewReno (RFC 6582). Call order: tcp/ack and tcp/output → lossRecovery(pcb)
// → the algorithm's hooks (./recovery.ts).

import type { TcpPcb } from "../pcb.js";
import { NEWRENO_RECOVERY } from "./newreno.js";
import type { LossRecovery } from "./recovery.js";
import { SACK_RECOVERY } from "./sack.js";

export type { LossRecovery, LossRecoveryName, RecoveryTx } from "./recovery.js";
export { NEWRENO_RECOVERY } from "./newreno.js";
export { SACK_RECOVERY } from "./sack.js";

/** The algorithm a connection recovers with; it follows sackOn, which the SYN exchange settles. */
export function lossRecovery(pcb: TcpPcb): LossRecovery {
  return pcb.sackOn ? SACK_RECOVERY : NEWRENO_RECOVERY;
}
