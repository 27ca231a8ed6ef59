// SipHash-2-4 (Aumasson & Bernstein, "SipHash: a fast short-input PRF"): the stack's keyed hash for short
// inputs that peers must not be able to predict — RFC 6528 ISN offsets (tcp/isn) and SYN-cookie MACs
// (tcp/syncookie). A PRF on a 128-bit key, built for exactly this job (hash-flooding resistance with inputs of
// a few bytes), and an order of magnitude cheaper here than an HMAC through node:crypto, which costs a native
// call and an object per hash: a SYN flood pays it once per SYN.
// The 64-bit state is kept as pairs of u32 (JS numbers), so a hash allocates nothing; BigInt would.

/** A SipHash-2-4 instance on one 16-byte key. `hash` returns the low 32 bits; `hi` holds the high ones. */
export class SipHash24 {
  private readonly k0lo: number;
  private readonly k0hi: number;
  private readonly k1lo: number;
  private readonly k1hi: number;
  // The state v0..v3, each as (hi, lo).
  private v0h = 0;
  private v0l = 0;
  private v1h = 0;
  private v1l = 0;
  private v2h = 0;
  private v2l = 0;
  private v3h = 0;
  private v3l = 0;
  /** The high 32 bits of the last hash. */
  hi = 0;

  /** @param key 16 bytes; k0 = bytes 0..7 and k1 = bytes 8..15, each little-endian (the paper's convention). */
  constructor(key: Uint8Array) {
    if (key.length !== 16) throw new RangeError(`SipHash key must be 16 bytes, not ${key.length}`);
    this.k0lo = le32(key, 0);
    this.k0hi = le32(key, 4);
    this.k1lo = le32(key, 8);
    this.k1hi = le32(key, 12);
  }

  /** SipHash-2-4 of `bytes[0, length)`: the low 32 bits of the 64-bit result (the high ones in `hi`). */
  hash(bytes: Uint8Array, length = bytes.length): number {
    // Initialisation: "somepseudorandomlygeneratedbytes" xored into the key.
    this.v0h = (this.k0hi ^ 0x736f6d65) >>> 0;
    this.v0l = (this.k0lo ^ 0x70736575) >>> 0;
    this.v1h = (this.k1hi ^ 0x646f7261) >>> 0;
    this.v1l = (this.k1lo ^ 0x6e646f6d) >>> 0;
    this.v2h = (this.k0hi ^ 0x6c796765) >>> 0;
    this.v2l = (this.k0lo ^ 0x6e657261) >>> 0;
    this.v3h = (this.k1hi ^ 0x74656462) >>> 0;
    this.v3l = (this.k1lo ^ 0x79746573) >>> 0;
    const whole = length - (length % 8);
    for (let i = 0; i < whole; i += 8) this.compress(le32(bytes, i + 4), le32(bytes, i));
    // The last block: the remaining 0..7 bytes, and length mod 256 in its top byte.
    let lo = 0;
    let hi = (length & 0xff) << 24;
    for (let i = whole; i < length; i++) {
      const shift = 8 * (i - whole);
      const b = bytes[i] as number;
      if (shift < 32) lo |= b << shift;
      else hi |= b << (shift - 32);
    }
    this.compress(hi >>> 0, lo >>> 0);
    // Finalisation: v2 ^= 0xff, four rounds.
    this.v2l = (this.v2l ^ 0xff) >>> 0;
    this.rounds(4);
    this.hi = (this.v0h ^ this.v1h ^ this.v2h ^ this.v3h) >>> 0;
    return (this.v0l ^ this.v1l ^ this.v2l ^ this.v3l) >>> 0;
  }

  /** One message word m: v3 ^= m, two SipRounds (the "2" of 2-4), v0 ^= m. */
  private compress(mh: number, ml: number): void {
    this.v3h = (this.v3h ^ mh) >>> 0;
    this.v3l = (this.v3l ^ ml) >>> 0;
    this.rounds(2);
    this.v0h = (this.v0h ^ mh) >>> 0;
    this.v0l = (this.v0l ^ ml) >>> 0;
  }

  /** `n` SipRounds, on (hi, lo) pairs: add with carry, rotate, xor; the state in locals meanwhile. */
  private rounds(n: number): void {
    let v0h = this.v0h;
    let v0l = this.v0l;
    let v1h = this.v1h;
    let v1l = this.v1l;
    let v2h = this.v2h;
    let v2l = this.v2l;
    let v3h = this.v3h;
    let v3l = this.v3l;
    let l: number;
    let t: number;
    for (let r = 0; r < n; r++) {
      // v0 += v1; v1 <<<= 13; v1 ^= v0; v0 <<<= 32
      l = (v0l + v1l) >>> 0;
      v0h = (v0h + v1h + (l < v0l ? 1 : 0)) >>> 0;
      v0l = l;
      t = ((v1h << 13) | (v1l >>> 19)) >>> 0;
      v1l = ((v1l << 13) | (v1h >>> 19)) >>> 0;
      v1h = t;
      v1h = (v1h ^ v0h) >>> 0;
      v1l = (v1l ^ v0l) >>> 0;
      t = v0h;
      v0h = v0l;
      v0l = t;
      // v2 += v3; v3 <<<= 16; v3 ^= v2
      l = (v2l + v3l) >>> 0;
      v2h = (v2h + v3h + (l < v2l ? 1 : 0)) >>> 0;
      v2l = l;
      t = ((v3h << 16) | (v3l >>> 16)) >>> 0;
      v3l = ((v3l << 16) | (v3h >>> 16)) >>> 0;
      v3h = t;
      v3h = (v3h ^ v2h) >>> 0;
      v3l = (v3l ^ v2l) >>> 0;
      // v0 += v3; v3 <<<= 21; v3 ^= v0
      l = (v0l + v3l) >>> 0;
      v0h = (v0h + v3h + (l < v0l ? 1 : 0)) >>> 0;
      v0l = l;
      t = ((v3h << 21) | (v3l >>> 11)) >>> 0;
      v3l = ((v3l << 21) | (v3h >>> 11)) >>> 0;
      v3h = t;
      v3h = (v3h ^ v0h) >>> 0;
      v3l = (v3l ^ v0l) >>> 0;
      // v2 += v1; v1 <<<= 17; v1 ^= v2; v2 <<<= 32
      l = (v2l + v1l) >>> 0;
      v2h = (v2h + v1h + (l < v2l ? 1 : 0)) >>> 0;
      v2l = l;
      t = ((v1h << 17) | (v1l >>> 15)) >>> 0;
      v1l = ((v1l << 17) | (v1h >>> 15)) >>> 0;
      v1h = t;
      v1h = (v1h ^ v2h) >>> 0;
      v1l = (v1l ^ v2l) >>> 0;
      t = v2h;
      v2h = v2l;
      v2l = t;
    }
    this.v0h = v0h;
    this.v0l = v0l;
    this.v1h = v1h;
    this.v1l = v1l;
    this.v2h = v2h;
    this.v2l = v2l;
    this.v3h = v3h;
    this.v3l = v3l;
  }
}

function le32(b: Uint8Array, i: number): number {
  return ((b[i] as number) | ((b[i + 1] as number) << 8) | ((b[i + 2] as number) << 16) | ((b[i + 3] as number) << 24)) >>> 0;
}
