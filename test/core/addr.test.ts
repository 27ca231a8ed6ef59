// Address helpers at the stack's edges: dotted quads and CIDR through ip-num, masks and prefixes, multicast
// classification, MAC text and random locally administered MACs.

import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  IPV4_BROADCAST,
  formatIpv4,
  formatMac,
  isMulticastIpv4,
  macEquals,
  maskToPrefix,
  parseIpv4,
  parseIpv4Cidr,
  parseMac,
  prefixToMask,
  randomLocalMac,
  tryParseIpv4,
} from "../../src/core/addr.js";
import { Prng } from "../../src/core/prng.js";
import { FixedRandom } from "../helpers/random.js";

describe("IPv4 text", () => {
  it("parses dotted quads to u32", () => {
    expect(parseIpv4("10.0.0.1")).toBe(0x0a000001);
    expect(parseIpv4("192.168.50.66")).toBe(0xc0a83242);
    expect(parseIpv4("0.0.0.0")).toBe(0);
    expect(parseIpv4("255.255.255.255")).toBe(IPV4_BROADCAST);
  });

  it.each(["256.1.1.1", "1.2.3", "1.2.3.4.5", " 1.2.3.4", "a.b.c.d", "-1.2.3.4", "1.2.3.4/24", "01.2.3.4", ""])(
    "rejects %j with a message naming it",
    (text) => {
      expect(() => parseIpv4(text)).toThrow(`'${text}' is not an IPv4 address`);
    },
  );

  it("formats and parses back every u32", () => {
    expect(formatIpv4(0xc0a83242)).toBe("192.168.50.66");
    expect(formatIpv4(0xffffffff)).toBe("255.255.255.255");
    fc.assert(
      fc.property(fc.nat({ max: 0xffffffff }), (a) => {
        expect(parseIpv4(formatIpv4(a))).toBe(a);
      }),
      { seed: 42, numRuns: 500 },
    );
  });

  it("takes only canonical dotted quads as addresses; anything else is a name (-1)", () => {
    expect(tryParseIpv4("0.0.0.0")).toBe(0);
    expect(tryParseIpv4("255.255.255.255")).toBe(0xffffffff);
    expect(tryParseIpv4("192.168.50.66")).toBe(0xc0a83242);
    for (const text of ["256.1.1.1", "01.2.3.4", "1.2.3.00", "1.2.3", "1.2.3.4.", "1.2.3.4.5", " 1.2.3.4", "1.2.3.4 ", "a.b.c.d", "+1.2.3.4", "0x1.2.3.4", ""]) {
      expect(tryParseIpv4(text), text).toBe(-1);
    }
  });

  it("parses exactly what a canonical dotted-quad grammar accepts, and parseIpv4 throws on the rest", () => {
    // Reference: four octets 0 | [1-9][0-9]{0,2}, each at most 255, big-endian.
    const reference = (text: string): number => {
      const m = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/.exec(text);
      if (m === null) return -1;
      const octets = m.slice(1).map(Number);
      return octets.some((o) => o > 255) ? -1 : octets.reduce((a, o) => a * 256 + o, 0);
    };
    // Mostly well-formed octets, so that valid quads are common, mixed with near misses.
    const part = fc.oneof(
      { arbitrary: fc.nat({ max: 255 }).map(String), weight: 8 },
      { arbitrary: fc.nat({ max: 999 }).map(String), weight: 1 },
      { arbitrary: fc.stringMatching(/^[0-9]{1,4}$/), weight: 1 },
      { arbitrary: fc.constantFrom("", " 1", "1 ", "x", "-0", "00", "01", "+1"), weight: 1 },
    );
    const parts = fc.oneof(fc.array(part, { minLength: 4, maxLength: 4 }), fc.array(part, { minLength: 1, maxLength: 6 }));
    const text = parts.map((p) => p.join("."));
    fc.assert(
      fc.property(text, (t) => {
        const expected = reference(t);
        expect(tryParseIpv4(t)).toBe(expected);
        if (expected < 0) expect(() => parseIpv4(t)).toThrow(`'${t}' is not an IPv4 address`);
        else expect(parseIpv4(t)).toBe(expected);
      }),
      { seed: 7, numRuns: 2000 },
    );
  });

  it("parses CIDR and rejects bad prefix lengths", () => {
    expect(parseIpv4Cidr("192.168.50.66/24")).toEqual({ addr: 0xc0a83242, prefixLength: 24 });
    expect(parseIpv4Cidr("10.0.0.1/0")).toEqual({ addr: 0x0a000001, prefixLength: 0 });
    expect(parseIpv4Cidr("10.0.0.1/32").prefixLength).toBe(32);
    expect(() => parseIpv4Cidr("10.0.0.1")).toThrow(/needs a prefix length/);
    for (const bad of ["10.0.0.1/33", "10.0.0.1/", "10.0.0.1/-1", "10.0.0.1/2.5", "10.0.0.1/x"]) {
      expect(() => parseIpv4Cidr(bad)).toThrow(/bad prefix length/);
    }
    expect(() => parseIpv4Cidr("10.0.0/24")).toThrow(/not an IPv4 address/);
  });
});

describe("masks and prefixes", () => {
  it("converts both ways for every prefix length", () => {
    expect(prefixToMask(0)).toBe(0);
    expect(prefixToMask(24)).toBe(0xffffff00);
    expect(prefixToMask(31)).toBe(0xfffffffe);
    expect(prefixToMask(32)).toBe(0xffffffff);
    for (let n = 0; n <= 32; n++) expect(maskToPrefix(prefixToMask(n))).toBe(n);
  });

  it("counts only the leading ones of a non-contiguous mask", () => {
    expect(maskToPrefix(0xff00ff00)).toBe(8);
  });
});

describe("multicast", () => {
  it("is 224.0.0.0/4 exactly", () => {
    expect(isMulticastIpv4(parseIpv4("224.0.0.0"))).toBe(true);
    expect(isMulticastIpv4(parseIpv4("239.255.255.255"))).toBe(true);
    expect(isMulticastIpv4(parseIpv4("223.255.255.255"))).toBe(false);
    expect(isMulticastIpv4(parseIpv4("240.0.0.0"))).toBe(false);
    expect(isMulticastIpv4(IPV4_BROADCAST)).toBe(false);
  });
});

describe("MAC text", () => {
  it("parses colon or dash separated, one or two hex digits", () => {
    expect([...parseMac("02:00:00:12:34:56")]).toEqual([2, 0, 0, 0x12, 0x34, 0x56]);
    expect([...parseMac("AA-bb-C-d-0-f")]).toEqual([0xaa, 0xbb, 0xc, 0xd, 0, 0xf]);
  });

  it.each(["02:00:00:12:34", "02:00:00:12:34:56:78", "02:00:00:12:34:5g", "020:00:00:12:34:56", ""])("rejects %j", (t) => {
    expect(() => parseMac(t)).toThrow(/is not a MAC address/);
  });

  it("formats at an offset and round trips", () => {
    const b = new Uint8Array([9, 9, 0x02, 0, 0, 0xab, 0xcd, 0xef]);
    expect(formatMac(b, 2)).toBe("02:00:00:ab:cd:ef");
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 6, maxLength: 6 }), (m) => {
        expect(parseMac(formatMac(m))).toEqual(m);
      }),
      { seed: 42, numRuns: 200 },
    );
  });

  it("compares at offsets", () => {
    const a = new Uint8Array([0, 1, 2, 3, 4, 5, 6]);
    expect(macEquals(a, 1, new Uint8Array([1, 2, 3, 4, 5, 6]))).toBe(true);
    expect(macEquals(a, 0, new Uint8Array([1, 2, 3, 4, 5, 6]))).toBe(false);
    expect(macEquals(a, 1, new Uint8Array([7, 1, 2, 3, 4, 5, 6]), 1)).toBe(true);
  });

  it("makes locally administered unicast MACs (RFC 7042 §2.1)", () => {
    const rng = new Prng(7);
    for (let i = 0; i < 200; i++) {
      const m = randomLocalMac(rng);
      expect(m).toHaveLength(6);
      expect((m[0] as number) & 0x03).toBe(0x02);
    }
    expect((randomLocalMac(new FixedRandom(0.999999))[0] as number) & 0x03).toBe(0x02);
  });
});
