// UDP header view and writer (src/udp/header.ts, RFC 768): byte-exact vectors, the zero checksum ("none")
// accepted and a computed zero sent as 0xffff, truncated and impossible lengths, write → check round trips,
// and random bytes that never make check() throw or read outside the datagram.

import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { UDP, UDP_CHECK_NAMES, UdpCheck, UdpView, writeUdpHeader } from "../../src/udp/header.js";
import { checksumNaive, pseudoHeaderSum } from "../../src/core/checksum.js";

const SEED = 0x0d9;

function ip(a: number, b: number, c: number, d: number): number {
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

/** Joins hex fields (one per line in the vectors below) into bytes. */
function hex(...fields: string[]): Uint8Array {
  const text = fields.join("").replace(/\s+/g, "");
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const A = ip(10, 0, 0, 1);
const B = ip(10, 0, 0, 2);

// ---- Vectors, cross-checked with scapy 2.5.0: bytes(IP(src=…, dst=…)/UDP(…)/data)[20:].hex() ----

// IP(src="10.0.0.1", dst="10.0.0.2")/UDP(sport=49152, dport=7)/b"hello"
const HELLO = hex(
  "c000", // source port 49152
  "0007", // destination port 7 (echo)
  "000d", // length 13 = 8 + 5
  "e7f7", // checksum over pseudo-header, header and data
  "68656c6c6f", // "hello"
);

// IP(src="192.168.50.1", dst="192.168.50.66")/UDP(sport=5000, dport=53)/b"abc" — odd length: the last
// byte is padded with a zero for the sum (RFC 768).
const ABC_SRC = ip(192, 168, 50, 1);
const ABC_DST = ip(192, 168, 50, 66);
const ABC = hex(
  "1388", // source port 5000
  "0035", // destination port 53
  "000b", // length 11
  "4224", // checksum
  "616263", // "abc"
);

// IP(src="10.0.0.1", dst="10.0.0.2")/UDP(sport=1234, dport=5678)/b"\xd0\xd7" — the data was chosen so the
// checksum computes to 0; RFC 768 sends it as all ones (scapy too), since 0 means "no checksum".
const ZERO_SUM = hex(
  "04d2", // source port 1234
  "162e", // destination port 5678
  "000a", // length 10
  "ffff", // computed 0, sent as 0xffff
  "d0d7", // data
);

// IP(src="10.0.0.1", dst="10.0.0.2")/UDP(sport=9, dport=9) — no data.
const EMPTY = hex(
  "0009", // source port 9 (discard)
  "0009", // destination port 9
  "0008", // length 8: header only
  "ebc9", // checksum
);

/** Writes a datagram the way UdpLayer does: data placed first, then the header, into a 0xa5-filled buffer. */
function build(at: number, srcPort: number, dstPort: number, data: Uint8Array, src: number, dst: number, extra = 3): Uint8Array {
  const buf = new Uint8Array(at + UDP.headerLength + data.length + extra).fill(0xa5);
  buf.set(data, at + UDP.headerLength);
  writeUdpHeader(buf, new DataView(buf.buffer), at, srcPort, dstPort, data.length, src, dst);
  return buf;
}

describe("writeUdpHeader (scapy vectors)", () => {
  it.each([
    { name: "hello", bytes: HELLO, src: A, dst: B },
    { name: "odd length", bytes: ABC, src: ABC_SRC, dst: ABC_DST },
    { name: "computed zero", bytes: ZERO_SUM, src: A, dst: B },
    { name: "no data", bytes: EMPTY, src: A, dst: B },
  ])("writes the $name datagram byte for byte, touching nothing else", ({ bytes, src, dst }) => {
    const v = new UdpView().point(bytes, 0, bytes.length);
    const out = build(5, v.srcPort, v.dstPort, bytes.subarray(8), src, dst);
    expect([...out.subarray(0, 5)]).toEqual([0xa5, 0xa5, 0xa5, 0xa5, 0xa5]);
    expect(out.subarray(5, 5 + bytes.length)).toEqual(bytes);
    expect([...out.subarray(5 + bytes.length)]).toEqual([0xa5, 0xa5, 0xa5]);
  });

  it("sends a computed zero checksum as 0xffff (RFC 768), and that value verifies", () => {
    const out = build(0, 1234, 5678, hex("d0d7"), A, B, 0);
    expect([out[6], out[7]]).toEqual([0xff, 0xff]);
    expect(new UdpView().point(out, 0, out.length).check(A, B)).toBe(UdpCheck.OK);
  });
});

describe("UdpView", () => {
  it("reads every field of a vector", () => {
    const v = new UdpView().point(HELLO, 0, HELLO.length);
    expect(v.check(A, B)).toBe(UdpCheck.OK);
    expect({ src: v.srcPort, dst: v.dstPort, len: v.udpLength, sum: v.checksum }).toEqual({ src: 49152, dst: 7, len: 13, sum: 0xe7f7 });
    expect([v.dataOffset, v.dataLength]).toEqual([8, 5]);
  });

  it("verifies at an offset inside a bigger buffer", () => {
    const buf = new Uint8Array(40).fill(0xa5);
    buf.set(ABC, 17);
    expect(new UdpView().point(buf, 17, ABC.length).check(ABC_SRC, ABC_DST)).toBe(UdpCheck.OK);
  });

  it("accepts a zero checksum as 'none' whatever the data (RFC 768, RFC 1122 §4.1.3.4)", () => {
    const d = HELLO.slice();
    d[6] = 0;
    d[7] = 0;
    d[10] = (d[10] ?? 0) ^ 0xff;
    expect(new UdpView().point(d, 0, d.length).check(A, B)).toBe(UdpCheck.OK);
  });

  it("rejects a wrong checksum: data, header, or the pseudo-header's addresses", () => {
    const v = new UdpView();
    const d = HELLO.slice();
    d[12] = (d[12] ?? 0) ^ 0x01;
    expect(v.point(d, 0, d.length).check(A, B)).toBe(UdpCheck.BAD_CHECKSUM);
    const h = HELLO.slice();
    h[1] = (h[1] ?? 0) ^ 0x80;
    expect(v.point(h, 0, h.length).check(A, B)).toBe(UdpCheck.BAD_CHECKSUM);
    expect(v.point(HELLO, 0, HELLO.length).check(A, ip(10, 0, 0, 3))).toBe(UdpCheck.BAD_CHECKSUM);
    expect(UDP_CHECK_NAMES[UdpCheck.BAD_CHECKSUM]).toBe("dropBadChecksum");
  });

  it("skips the checksum the link vouches for (NEEDS_CSUM or DATA_VALID, IpRx.isChecksumTrusted), never the length checks", () => {
    const v = new UdpView();
    const d = HELLO.slice();
    d[12] = (d[12] ?? 0) ^ 0x01;
    expect(v.point(d, 0, d.length).check(A, B, true)).toBe(UdpCheck.OK);
    expect(v.point(d, 0, 7).check(A, B, true)).toBe(UdpCheck.TRUNCATED);
    expect(v.point(d, 0, d.length - 1).check(A, B, true)).toBe(UdpCheck.BAD_LENGTH);
  });

  it("rejects fewer than 8 bytes as truncated", () => {
    const v = new UdpView();
    for (let n = 0; n < 8; n++) expect(v.point(HELLO, 0, n).check(A, B)).toBe(UdpCheck.TRUNCATED);
  });

  it("rejects a length field below 8 or beyond the IP payload", () => {
    const v = new UdpView();
    for (const len of [0, 1, 7, 14, 0xffff]) {
      const d = HELLO.slice();
      d[4] = len >>> 8;
      d[5] = len & 0xff;
      d[6] = 0; // no checksum, so only the length is judged
      d[7] = 0;
      expect(v.point(d, 0, d.length).check(A, B), `length ${len}`).toBe(UdpCheck.BAD_LENGTH);
    }
    // Cut off by the IP payload: the length field says 13, only 12 bytes arrived.
    expect(v.point(HELLO, 0, 12).check(A, B)).toBe(UdpCheck.BAD_LENGTH);
  });

  it("ignores IP payload bytes past the length field (the checksum covers only `length` bytes)", () => {
    const padded = new Uint8Array(HELLO.length + 4).fill(0x5a);
    padded.set(HELLO);
    const v = new UdpView().point(padded, 0, padded.length);
    expect(v.check(A, B)).toBe(UdpCheck.OK);
    expect(v.dataLength).toBe(5);
  });
});

describe("properties", () => {
  const u16 = fc.integer({ min: 0, max: 0xffff });
  const u32 = fc.integer({ min: 0, max: 0xffffffff });

  it("check(write(x)) is OK and reads x back; the sum matches the reference checksum", () => {
    fc.assert(
      fc.property(u16, u16, u32, u32, fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 9 }), (sp, dp, src, dst, data, at) => {
        const out = build(at, sp, dp, data, src, dst);
        const len = UDP.headerLength + data.length;
        const v = new UdpView().point(out, at, len);
        expect(v.check(src, dst)).toBe(UdpCheck.OK);
        expect([v.srcPort, v.dstPort, v.udpLength, v.dataLength]).toEqual([sp, dp, len, data.length]);
        expect(out.subarray(v.dataOffset, v.dataOffset + v.dataLength)).toEqual(data);
        expect(v.checksum).not.toBe(0);
        // Independent reference: the pseudo-header sum folded in by the naive 16-bit implementation.
        expect(checksumNaive(out, at, len, pseudoHeaderSum(src, dst, 17, len))).toBe(0);
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it("check() never throws on random bytes, and an OK datagram lies inside the buffer", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), u32, u32, fc.integer({ min: 0, max: 8 }), (bytes, src, dst, skip) => {
        const off = Math.min(skip, bytes.length);
        const v = new UdpView().point(bytes, off, bytes.length - off);
        const r = v.check(src, dst);
        expect(r).toBeGreaterThanOrEqual(0);
        expect(r).toBeLessThan(UDP_CHECK_NAMES.length);
        if (r === UdpCheck.OK) expect(v.dataOffset + v.dataLength).toBeLessThanOrEqual(bytes.length);
      }),
      { seed: SEED, numRuns: 3000 },
    );
  });
});
