// The Internet checksum (RFC 1071): the fast 32-bit `sumWords`/`checksum` against the 16-bit reference
// `checksumNaive`, the RFC's own numeric example, chaining, folding of large sums and the pseudo-header.

import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { checksum, checksumNaive, finishChecksum, foldSum, pseudoHeaderSum, sumWords } from "../../src/core/checksum.js";

/** `foldSum`'s contract: the value ≡ sum (mod 2^16 − 1), in 1..0xffff unless the sum is 0. */
function foldReference(sum: number): number {
  if (sum === 0) return 0;
  const r = Number(BigInt(sum) % 0xffffn);
  return r === 0 ? 0xffff : r;
}

describe("RFC 1071 §3 numeric example", () => {
  // Bytes 00 01 f2 03 f4 f5 f6 f7: the 16-bit sum is 2ddf0, folded ddf2, checksum ~ddf2 = 220d.
  const bytes = new Uint8Array([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);

  it("folds to ddf2 and complements to 220d", () => {
    expect(sumWords(bytes, 0, 8)).toBe(0x0001f203 + 0xf4f5f6f7);
    expect(foldSum(sumWords(bytes, 0, 8))).toBe(0xddf2);
    expect(checksum(bytes, 0, 8)).toBe(0x220d);
    expect(checksumNaive(bytes, 0, 8)).toBe(0x220d);
  });

  it("yields 0 over data that carries its correct checksum", () => {
    const withSum = new Uint8Array([...bytes, 0x22, 0x0d]);
    expect(checksum(withSum, 0, withSum.length)).toBe(0);
    expect(checksumNaive(withSum, 0, withSum.length)).toBe(0);
  });
});

describe("a stored-correct checksum yields 0", () => {
  it("over an IPv4 header (scapy's echo-request vector, checksum 0x4a96)", () => {
    // 45 00 001f 1c46 0000 40 01 [4a96] 0a000001 0a000002 — cross-checked with scapy 2.5.0:
    // bytes(IP(src="10.0.0.1", dst="10.0.0.2", id=0x1c46, ttl=64)/ICMP(id=1, seq=1)/b"abc")[:20]
    const h = new Uint8Array([0x45, 0x00, 0x00, 0x1f, 0x1c, 0x46, 0x00, 0x00, 0x40, 0x01, 0x4a, 0x96, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02]);
    expect(checksum(h, 0, 20)).toBe(0);
    h[10] = 0;
    h[11] = 0;
    expect(checksum(h, 0, 20)).toBe(0x4a96);
  });

  it("for any data once its checksum is appended (even length)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }).filter((b) => b.length % 2 === 0), (data) => {
        const sum = checksum(data, 0, data.length);
        const withSum = new Uint8Array([...data, sum >>> 8, sum & 0xff]);
        // Even for all-zero data (sum 0, checksum 0xffff) the receiver's sum folds to 0xffff, so its check is 0.
        expect(checksum(withSum, 0, withSum.length)).toBe(0);
      }),
      { seed: 42, numRuns: 300 },
    );
  });
});

describe("fast checksum equals the reference", () => {
  it("for random bytes, offsets, odd lengths, sub-arrays and initial sums", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 2000 }),
        fc.nat(),
        fc.nat(),
        fc.nat({ max: 16 }),
        fc.nat({ max: 0xffffffff }),
        (data, a, b, shift, initial) => {
          // A view at a non-zero byteOffset, as frames sliced from a slab are.
          const bytes = data.subarray(Math.min(shift, data.length));
          const offset = bytes.length === 0 ? 0 : a % (bytes.length + 1);
          const length = b % (bytes.length - offset + 1);
          expect(checksum(bytes, offset, length)).toBe(checksumNaive(bytes, offset, length));
          expect(checksum(bytes, offset, length, initial)).toBe(checksumNaive(bytes, offset, length, initial));
          expect(foldSum(sumWords(bytes, offset, length))).toBe(foldReference(sumWords(bytes, offset, length)));
        },
      ),
      { seed: 42, numRuns: 1000 },
    );
  });

  it("alternating between two buffers (the cached DataView follows the argument)", () => {
    const x = new Uint8Array([1, 2, 3, 4, 5, 6]);
    const y = new Uint8Array([0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa]);
    for (let i = 0; i < 3; i++) {
      expect(checksum(x, 1, 5)).toBe(checksumNaive(x, 1, 5));
      expect(checksum(y, 1, 5)).toBe(checksumNaive(y, 1, 5));
    }
  });

  it("over the largest datagram of 0xff bytes", () => {
    const big = new Uint8Array(65535).fill(0xff);
    expect(checksum(big, 0, big.length)).toBe(checksumNaive(big, 0, big.length));
    expect(checksum(big, 1, 65534)).toBe(checksumNaive(big, 1, 65534));
  });

  it("for chained sums of even-length pieces then a last piece of any length", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1500 }), fc.array(fc.nat({ max: 400 }), { maxLength: 6 }), (bytes, cuts) => {
        let sum = 0;
        let at = 0;
        for (const c of cuts) {
          const piece = Math.min(c & ~1, bytes.length - at);
          sum = sumWords(bytes, at, piece, sum);
          at += piece;
        }
        sum = sumWords(bytes, at, bytes.length - at, sum);
        expect(finishChecksum(sum)).toBe(checksumNaive(bytes, 0, bytes.length));
      }),
      { seed: 42, numRuns: 500 },
    );
  });
});

describe("foldSum", () => {
  it("keeps every carry of sums up to 2^53 (one step can leave more than 32 bits)", () => {
    expect(foldSum(0)).toBe(0);
    expect(foldSum(0xffff)).toBe(0xffff);
    expect(foldSum(0x1fffe)).toBe(0xffff);
    // 2^53 − 1 ≡ 2^5 − 1 = 31 (mod 2^16 − 1), since 2^16 ≡ 1.
    expect(foldSum(Number.MAX_SAFE_INTEGER)).toBe(31);
    fc.assert(
      fc.property(fc.maxSafeNat(), (sum) => {
        expect(foldSum(sum)).toBe(foldReference(sum));
      }),
      { seed: 42, numRuns: 1000 },
    );
  });
});

describe("pseudoHeaderSum", () => {
  it("equals summing the 12-byte pseudo-header (RFC 768) word by word", () => {
    fc.assert(
      fc.property(fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff }), fc.nat({ max: 255 }), fc.nat({ max: 0xffff }), (src, dst, proto, len) => {
        const p = new Uint8Array(12);
        const v = new DataView(p.buffer);
        v.setUint32(0, src);
        v.setUint32(4, dst);
        v.setUint8(9, proto);
        v.setUint16(10, len);
        expect(finishChecksum(pseudoHeaderSum(src, dst, proto, len))).toBe(checksumNaive(p, 0, 12));
      }),
      { seed: 42, numRuns: 500 },
    );
  });
});
