// Initial sequence numbers (RFC 6528 §3, RFC 9293 §3.4.1): ISN = M + F(localip, localport, remoteip,
// remoteport, secretkey), with M a clock ticking every 4 µs and F a keyed hash. Called once per connection
// by the active open (TcpLayer.connect in tcp/tcp) and by LISTEN when it answers a SYN (listenInput
// in tcp/listen); nothing per segment.

import { SipHash24 } from "../core/siphash.js";
import { type Seq, toSeq } from "./seq.js";

/** Where TCP takes the ISS of a new connection (RFC 9293 §3.4.1): `IsnGenerator` unless configured otherwise. */
export interface IsnSource {
  next(localIp: number, localPort: number, remoteIp: number, remotePort: number, nowMs: number): Seq;
}

/** RFC 6528 §3 / RFC 9293 §3.4.1: M advances once every 4 µs, i.e. 250 ticks per millisecond. */
const TICKS_PER_MS = 250;
const TWO_POW_32 = 0x100000000;

export class IsnGenerator implements IsnSource {
  /** F: SipHash-2-4 on the secret (core/siphash), a PRF as RFC 6528 §3 asks, cheap enough for a SYN flood. */
  private readonly f: SipHash24;
  /** M's value at stack time 0, in ticks. */
  private readonly originTicks: number;
  /** The 12 tuple bytes fed to F, reused for each call. */
  private readonly tuple = new Uint8Array(12);
  private readonly tupleView = new DataView(this.tuple.buffer);

  /**
   * @param secret RFC 6528 §3 "secretkey", drawn by the stack from its Random at start-up.
   * @param originTicks where M stands at stack time 0 (a random u32 from the same source). RFC 6528 leaves
   *   M's origin open; a fresh secret per start already keeps a restarted stack off its previous run's
   *   sequence space (F changes entirely), and no host clock is read, so a seeded stack replays exactly.
   */
  constructor(secret: Uint8Array, originTicks: number) {
    this.f = new SipHash24(secret);
    this.originTicks = originTicks >>> 0;
  }

  /** The ISN for a new connection on this 4-tuple (addresses u32, ports u16) at stack time `nowMs`. */
  next(localIp: number, localPort: number, remoteIp: number, remotePort: number, nowMs: number): Seq {
    const t = this.tupleView;
    t.setUint32(0, localIp >>> 0);
    t.setUint16(4, localPort & 0xffff);
    t.setUint32(6, remoteIp >>> 0);
    t.setUint16(10, remotePort & 0xffff);
    // RFC 6528 §3: F must not be computable from outside; keyed SipHash-2-4, low 32 bits.
    const f = this.f.hash(this.tuple);
    // M mod 2^32 without precision loss: the tick count stays far below 2^53.
    const m = (this.originTicks + Math.floor(nowMs * TICKS_PER_MS)) % TWO_POW_32;
    return toSeq(m + f);
  }
}
