// Initial sequence numbers (RFC 6528 §3, RFC 9293 §3.4.1): ISN = M + F(localip, localport, remoteip,
// remoteport, secretkey), with M a clock ticking every 4 µs and F a keyed hash. Called once per connection
// by the active open (TcpLayer.connect in tcp/tcp) and by LISTEN when it answers a SYN (TcpInput.listenInput
// in tcp/input); nothing per segment.

import { createHmac, randomBytes } from "node:crypto";
import { type Seq, toSeq } from "./seq.js";

/** RFC 6528 §3 / RFC 9293 §3.4.1: M advances once every 4 µs, i.e. 250 ticks per millisecond. */
const TICKS_PER_MS = 250;
const TWO_POW_32 = 0x100000000;

export class IsnGenerator {
  private readonly secret: Uint8Array;
  /** Added to the stack's `nowMs` so M continues from wall-clock time rather than restarting at the stack's origin. */
  private readonly originMs: number;
  /** The 12 tuple bytes fed to F, reused for each call. */
  private readonly tuple = Buffer.alloc(12);

  /**
   * @param secret RFC 6528 §3 "secretkey": 16 random bytes unless given (give one for reproducible runs).
   * @param clockMs read once here to place M's origin; wall-clock time by default, so a restarted stack does
   *   not reuse the sequence space of its previous run (the reason M exists, RFC 9293 §3.4.1). Protocol code
   *   never reads it again: `next()` takes the stack's time.
   */
  constructor(secret: Uint8Array = randomBytes(16), clockMs: () => number = Date.now) {
    this.secret = secret;
    this.originMs = clockMs();
  }

  /** The ISN for a new connection on this 4-tuple (addresses u32, ports u16) at stack time `nowMs`. */
  next(localIp: number, localPort: number, remoteIp: number, remotePort: number, nowMs: number): Seq {
    const t = this.tuple;
    t.writeUInt32BE(localIp >>> 0, 0);
    t.writeUInt16BE(localPort & 0xffff, 4);
    t.writeUInt32BE(remoteIp >>> 0, 6);
    t.writeUInt16BE(remotePort & 0xffff, 10);
    // RFC 6528 §3: F must not be computable from outside; a keyed HMAC-SHA-256, first 32 bits.
    const f = createHmac("sha256", this.secret).update(t).digest().readUInt32BE(0);
    // M mod 2^32 without precision loss: the tick count stays far below 2^53.
    const m = Math.floor((this.originMs + nowMs) * TICKS_PER_MS) % TWO_POW_32;
    return toSeq(m + f);
  }
}
