// SipHash-2-4 (src/core/siphash.ts): the reference test vectors of the SipHash paper (key 00..0f, message
// 00..n-1; n = 15 is Appendix A's worked example) and agreement with a plain BigInt model on random inputs.

import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { SipHash24 } from "../../src/core/siphash.js";

const KEY = Uint8Array.from({ length: 16 }, (_, i) => i);
const MESSAGE = Uint8Array.from({ length: 24 }, (_, i) => i);

/** SipHash-2-4(KEY, 00 01 .. n-1) for n = 0..23, from the paper's reference vectors. */
const VECTORS = [
  0x726fdb47dd0e0e31n, 0x74f839c593dc67fdn, 0x0d6c8009d9a94f5an, 0x85676696d7fb7e2dn,
  0xcf2794e0277187b7n, 0x18765564cd99a68dn, 0xcbc9466e58fee3cen, 0xab0200f58b01d137n,
  0x93f5f5799a932462n, 0x9e0082df0ba9e4b0n, 0x7a5dbbc594ddb9f3n, 0xf4b32f46226bada7n,
  0x751e8fbc860ee5fbn, 0x14ea5627c0843d90n, 0xf723ca908e7af2een, 0xa129ca6149be45e5n,
  0x3f2acc7f57c29bdbn, 0x699ae9f52cbe4794n, 0x4bc1b3f0968dd39cn, 0xbb6dc91da77961bdn,
  0xbed65cf21aa2ee98n, 0xd0f2cbb02e3b67c7n, 0x93536795e3a33e88n, 0xa80c038ccd5ccec8n,
];

function full(h: SipHash24, bytes: Uint8Array): bigint {
  const lo = h.hash(bytes);
  return (BigInt(h.hi) << 32n) | BigInt(lo);
}

/** The algorithm written directly from the paper on 64-bit BigInts: slow, but independent of the u32 pairs. */
function model(key: Uint8Array, m: Uint8Array): bigint {
  const M = (1n << 64n) - 1n;
  const rotl = (x: bigint, b: bigint): bigint => ((x << b) | (x >> (64n - b))) & M;
  const word = (b: Uint8Array, i: number, n: number): bigint => {
    let w = 0n;
    for (let j = 0; j < n; j++) w |= BigInt(b[i + j] as number) << BigInt(8 * j);
    return w;
  };
  const k0 = word(key, 0, 8);
  const k1 = word(key, 8, 8);
  let v0 = k0 ^ 0x736f6d6570736575n;
  let v1 = k1 ^ 0x646f72616e646f6dn;
  let v2 = k0 ^ 0x6c7967656e657261n;
  let v3 = k1 ^ 0x7465646279746573n;
  const round = (): void => {
    v0 = (v0 + v1) & M; v1 = rotl(v1, 13n); v1 ^= v0; v0 = rotl(v0, 32n);
    v2 = (v2 + v3) & M; v3 = rotl(v3, 16n); v3 ^= v2;
    v0 = (v0 + v3) & M; v3 = rotl(v3, 21n); v3 ^= v0;
    v2 = (v2 + v1) & M; v1 = rotl(v1, 17n); v1 ^= v2; v2 = rotl(v2, 32n);
  };
  const whole = m.length - (m.length % 8);
  const blocks: bigint[] = [];
  for (let i = 0; i < whole; i += 8) blocks.push(word(m, i, 8));
  blocks.push(word(m, whole, m.length - whole) | (BigInt(m.length & 0xff) << 56n));
  for (const b of blocks) {
    v3 ^= b;
    round();
    round();
    v0 ^= b;
  }
  v2 ^= 0xffn;
  for (let i = 0; i < 4; i++) round();
  return v0 ^ v1 ^ v2 ^ v3;
}

describe("SipHash24", () => {
  it("gives the paper's reference vectors for messages of 0..23 bytes (every tail length, 1..3 blocks)", () => {
    const h = new SipHash24(KEY);
    VECTORS.forEach((want, n) => expect(full(h, MESSAGE.subarray(0, n)), `n=${n}`).toBe(want));
  });

  it("hashes a prefix of a longer buffer when given a length", () => {
    const h = new SipHash24(KEY);
    const lo = h.hash(MESSAGE, 15);
    expect((BigInt(h.hi) << 32n) | BigInt(lo)).toBe(0xa129ca6149be45e5n);
  });

  it("agrees with a BigInt model for random keys and messages", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ maxLength: 40 }), (key, m) => {
        expect(full(new SipHash24(key), m)).toBe(model(key, m));
      }),
      { seed: 0x5195, numRuns: 300 },
    );
  });

  it("refuses a key that is not 16 bytes", () => {
    expect(() => new SipHash24(new Uint8Array(8))).toThrow(RangeError);
  });
});
