// TCP's counters: one plain object per layer, incremented in place on the frame path (core/stats). Named here
// so that the layer (tcp/tcp), which owns the object, the modules it hands it to through TcpContext
// (tcp/context) and tcp/output agree on one type.

import type { Counters } from "../core/stats.js";

export const TCP_STAT_NAMES = [
  "rxSegments",
  "dropTruncated",
  "dropBadDataOffset",
  "dropBadChecksum",
  "dropBadOptions",
  "dropNonUnicast",
  "dropNoPcb",
  "dropOutOfWindow",
  "dropPaws",
  "dropBadAck",
  "dropOooFull",
  "dropRecvFull",
  "challengeAcks",
  "challengeAcksLimited",
  /** SYNs that reached a listener (answered from the SYN queue or by a cookie, or dropped). */
  "synsReceived",
  "synCookiesSent",
  "synCookiesAccepted",
  "synCookiesOverSynReceived",
  "synCookiesRejected",
  "dropAckAfterCookies",
  "listenOverflows",
  "dropAcceptQueueFull",
  "pcbLimit",
  "timeWaitRecycled",
  "activeOpens",
  "passiveOpens",
  "established",
  "resetsReceived",
  "timeouts",
  "rxGroSegments",
  "txSegments",
  "txTsoSegments",
  "txRetransmits",
  "txResets",
  "txAcks",
  "txDropLink",
  "fastRetransmits",
  "rtoFired",
  "icmpSoftErrors",
  "icmpHardErrors",
  /** RFC 1191: "fragmentation needed" that lowered a connection's MSS, and those that would not have. */
  "pmtuReductions",
  "pmtuIgnored",
  /** RFC 8985: segments RACK deemed lost, reorder-timer expiries, tail loss probes sent, and probes that repaired a loss. */
  "rackLost",
  "rackReorderTimeouts",
  "tlpProbes",
  "tlpRepairs",
  ] as const;

export type TcpStatName = (typeof TCP_STAT_NAMES)[number];

export type TcpStats = Counters<TcpStatName>;
