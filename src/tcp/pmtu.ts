// Path MTU discovery for TCP (RFC 1191): the numbers. Every TCP segment leaves with DF set (tcp/output), so a
// router whose next link is too small drops it and answers ICMP "fragmentation needed" with that link's MTU;
// TcpLayer.icmpError checks the quote (RFC 5927 §4.1) and lowers the connection's MSS to what these functions
// give, then re-sends from SND.UNA. Call order: ip/icmp → TcpLayer.icmpError → pathMtuFrom/mssForPathMtu.

/** RFC 791 §3.2 / RFC 1191 §3: every link carries 68-byte datagrams; no estimate goes below that. */
export const MIN_PATH_MTU = 68;

/** IPv4 and TCP headers without options (RFC 6691 §2: the MSS counts neither). */
export const TCP_IP_HEADER_BYTES = 40;

/** The timestamps option as we send it on every segment once negotiated: NOP, NOP, kind 8 (RFC 7323 §3). */
export const TS_OPTION_BYTES = 12;

/**
 * RFC 1191 §7's plateau table, for routers that predate RFC 1191 and send a next-hop MTU of 0: the estimate
 * is then the largest plateau below the size of the datagram that was too big (§5).
 */
const PLATEAUS = [32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, MIN_PATH_MTU] as const;

/**
 * The path MTU a "fragmentation needed" message tells: its next-hop MTU (bytes 6–7, RFC 1191 §4), or without
 * one the plateau below `quotedTotalLength`; never below 68.
 */
export function pathMtuFrom(nextHopMtu: number, quotedTotalLength: number): number {
  if (nextHopMtu > 0) return Math.max(nextHopMtu, MIN_PATH_MTU);
  for (const p of PLATEAUS) if (p < quotedTotalLength) return p;
  return MIN_PATH_MTU;
}

/**
 * Payload bytes per segment on a path of `pathMtu` (RFC 1191 §6.3, RFC 6691 §2): the MTU less the 40 header
 * bytes and the option bytes every segment carries (timestamps). The MSS in RFC 6691's sense (options
 * included) is therefore never below 68 − 40 = 28.
 */
export function mssForPathMtu(pathMtu: number, optionBytes: number): number {
  return Math.max(pathMtu, MIN_PATH_MTU) - TCP_IP_HEADER_BYTES - optionBytes;
}
