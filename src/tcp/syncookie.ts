// SYN cookies (RFC 4987 §3.6): when a listener's SYN queue is full, listenInput (tcp/listen) answers
// a SYN with a SYN-ACK whose ISS encodes the connection instead of keeping state, and rebuilds it from the
// ACK that completes the handshake. Only the MSS survives: like Linux without timestamps, window scale,
// SACK-permitted and timestamps offered on the SYN are lost in cookie mode (the connection runs without them).

import { SipHash24 } from "../core/siphash.js";
import { type Seq, toSeq } from "./seq.js";

/**
 * MSS values a cookie can carry (3 bits). A peer's MSS rounds down to the nearest entry; below 536 it is 536
 * (RFC 9293 §3.7.1's default, which Linux's msstab also uses as its floor). Common path MSS values: default,
 * tunnels/VPNs, PPPoE (1452), Ethernet (1460), jumbo frames (8960).
 */
export const SYNCOOKIE_MSS_TABLE: readonly number[] = [536, 1200, 1360, 1400, 1440, 1452, 1460, 8960];

/** RFC 4987 §3.6: `t` is a counter that advances every 64 seconds; its low 5 bits are sent. */
const COUNTER_PERIOD_MS = 64_000;
/** A cookie is accepted while its counter is the current one or one of the 2 before it (as Linux's MAX_SYNCOOKIE_AGE). */
const MAX_AGE = 2;
const MSS_INDEX_BITS = 3;
const MAC_BITS = 24;
const MAC_MASK = (1 << MAC_BITS) - 1;

export class SynCookies {
  /** The MAC: SipHash-2-4 (core/siphash) on the secret, a PRF built for short inputs like this one. */
  private readonly prf: SipHash24;
  /** MAC input, reused: local IP, local port, remote IP, remote port, client ISN, t, MSS index. */
  private readonly input = new Uint8Array(21);
  private readonly inputView = new DataView(this.input.buffer);

  /** @param secret the MAC key: 16 bytes the stack draws from its Random at start-up. */
  constructor(secret: Uint8Array) {
    this.prf = new SipHash24(secret);
  }

  /**
   * The ISS to send in the SYN-ACK: t mod 32 in the top 5 bits, the MSS index in the next 3, and a 24-bit
   * keyed MAC over the 4-tuple, the client's ISN, the full counter t and the MSS index (RFC 4987 §3.6; the
   * MAC also covers the index so a peer cannot raise its MSS by editing those bits).
   */
  encode(
    localIp: number,
    localPort: number,
    remoteIp: number,
    remotePort: number,
    clientIsn: Seq,
    mss: number,
    nowMs: number,
  ): Seq {
    const t = counterAt(nowMs);
    let index = SYNCOOKIE_MSS_TABLE.length - 1;
    while (index > 0 && (SYNCOOKIE_MSS_TABLE[index] ?? 0) > mss) index--;
    const mac = this.mac(localIp, localPort, remoteIp, remotePort, clientIsn, t, index);
    return toSeq(((t & 0x1f) << (MSS_INDEX_BITS + MAC_BITS)) | (index << MAC_BITS) | mac);
  }

  /**
   * Checks the cookie returned by the handshake's final ACK: `cookie` = SEG.ACK − 1 and `clientIsn` =
   * SEG.SEQ − 1 (RFC 4987 §3.6). Returns the MSS to use, or 0 when the cookie is forged, for another
   * connection, or older than two counter periods.
   */
  decode(
    localIp: number,
    localPort: number,
    remoteIp: number,
    remotePort: number,
    clientIsn: Seq,
    cookie: Seq,
    nowMs: number,
  ): number {
    const value: number = cookie;
    const now = counterAt(nowMs);
    const age = (now - (value >>> (MSS_INDEX_BITS + MAC_BITS))) & 0x1f;
    if (age > MAX_AGE || age > now) return 0;
    const index = (value >>> MAC_BITS) & ((1 << MSS_INDEX_BITS) - 1);
    // The MAC covers the full counter, so a cookie 32 periods old (same 5 bits) still fails.
    const mac = this.mac(localIp, localPort, remoteIp, remotePort, clientIsn, now - age, index);
    if ((value & MAC_MASK) !== mac) return 0;
    return SYNCOOKIE_MSS_TABLE[index] ?? 0;
  }

  private mac(
    localIp: number,
    localPort: number,
    remoteIp: number,
    remotePort: number,
    clientIsn: Seq,
    t: number,
    index: number,
  ): number {
    const b = this.inputView;
    b.setUint32(0, localIp >>> 0);
    b.setUint16(4, localPort & 0xffff);
    b.setUint32(6, remoteIp >>> 0);
    b.setUint16(10, remotePort & 0xffff);
    b.setUint32(12, clientIsn >>> 0);
    b.setUint32(16, t >>> 0);
    b.setUint8(20, index);
    // One hash per cookie SYN and per returning ACK: under a flood, once per SYN, so it must be cheap.
    return this.prf.hash(this.input) & MAC_MASK;
  }
}

function counterAt(nowMs: number): number {
  return Math.floor(nowMs / COUNTER_PERIOD_MS);
}
