// SYN option negotiation: applies the peer's SYN options (MSS, window scale, timestamps, SACK-permitted) to a
// PCB, for a passive open (tcp/listen, answering a SYN) and an active one (tcp/input, SYN-SENT receiving the
// SYN-ACK). RFC 9293 §3.7.1, RFC 7323 §2.2/§3.2, RFC 2018 §2.

import type { TcpContext } from "./context.js";
import type { TcpPcb } from "./pcb.js";
import type { TcpSegment } from "./segment.js";
import { TS_OPTION_BYTES } from "./pmtu.js";
import { RackState } from "./recovery/rackState.js";

/** RFC 9293 §3.7.1: the MSS assumed when a SYN carries none. */
export const DEFAULT_MSS = 536;

/** Applies the peer's SYN options (RFC 9293 §3.7.1, RFC 7323 §2.2/§3.2, RFC 2018 §2). */
export function negotiate(tcp: TcpContext, pcb: TcpPcb, seg: TcpSegment, passive: boolean): void {
  const o = seg.options;
  const cfg = tcp.config;
  pcb.peerMssBytes = o.mss > 0 ? o.mss : DEFAULT_MSS;
  // Window scaling needs both sides' option; a passive side offers it only when the peer did.
  const scale = o.windowScale >= 0 && cfg.windowScaling && (passive || pcb.windowScaleOn);
  pcb.windowScaleOn = scale;
  pcb.sndWndShift = scale ? o.windowScale : 0;
  if (!scale) pcb.rcvWndShift = 0;
  pcb.timestampsOn = o.hasTimestamps && cfg.timestamps && (passive || pcb.timestampsOn);
  if (pcb.timestampsOn) pcb.tsRecent = o.tsVal;
  pcb.sackOn = o.sackPermitted && cfg.sack && (passive || pcb.sackOn);
  pcb.rack = pcb.sackOn && cfg.rack ? (pcb.rack ?? new RackState(tcp.stats)) : null;
  const ourMss = tcp.interfaceMssBytes();
  pcb.mssBytes = Math.max(64, Math.min(pcb.peerMssBytes, ourMss) - (pcb.timestampsOn ? TS_OPTION_BYTES : 0));
}
