// The IPv4 header (RFC 791 §3.1): the writer against scapy vectors (test/helpers/vectors.ts, cross-checked
// with scapy 2.x), the view's getters on headers with options and on fragments, every check() failure
// reason (RFC 1122 §3.2.1.1–3.2.1.2), the option-list walk (RFC 791 §3.1) and parse(emit(x)).

import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { IPV4, IpFlag, IpProto, Ipv4Check, Ipv4View, ipv4OptionsError, refreshIpv4Checksum, writeIpv4Header } from "../../src/ip/ipv4.js";
import { checksumNaive } from "../../src/core/checksum.js";
import { IP_A, IP_B, ipv4, prefilled } from "../helpers/wire.js";
import { ECHO_FRAGMENTS, ECHO_REQUEST, IPV4_WITH_OPTIONS, u8 } from "../helpers/vectors.js";

function view(bytes: Uint8Array, offset = 0, length = bytes.length - offset): Ipv4View {
  return new Ipv4View().point(bytes, offset, length);
}

describe("writeIpv4Header", () => {
  it("writes the scapy echo-request header, checksum included, and nothing else", () => {
    // scapy: IP(src=AI, dst=BI, id=0x1c46, ttl=64)/ICMP(id=1, seq=1)/b"abc" — header bytes 14..33 of ECHO_REQUEST
    const buf = prefilled(24);
    writeIpv4Header(buf, new DataView(buf.buffer), 2, { tos: 0, totalLength: 31, id: 0x1c46, flagsFragment: 0, ttl: 64, protocol: IpProto.ICMP, src: IP_A, dst: IP_B });
    expect(buf).toEqual(u8([0xa5, 0xa5, ...ECHO_REQUEST.slice(14, 34), 0xa5, 0xa5]));
  });

  it("writes each scapy fragment header (MF, offsets in 8-byte units)", () => {
    const headers = ECHO_FRAGMENTS.map((f) => f.slice(14, 34));
    const fields = [
      { totalLength: 68, flagsFragment: IpFlag.MF | 0 },
      { totalLength: 68, flagsFragment: IpFlag.MF | 6 },
      { totalLength: 32, flagsFragment: 12 },
    ];
    fields.forEach((f, i) => {
      const buf = prefilled(20);
      writeIpv4Header(buf, new DataView(buf.buffer), 0, { tos: 0, id: 0x8000, ttl: 64, protocol: IpProto.ICMP, src: IP_A, dst: IP_B, ...f });
      expect(buf).toEqual(u8(headers[i] as number[]));
    });
  });

  it("refreshIpv4Checksum recomputes a header with options (scapy checksum 0x100f)", () => {
    const bytes = u8(IPV4_WITH_OPTIONS);
    bytes[10] = 0xa5;
    bytes[11] = 0xa5;
    refreshIpv4Checksum(bytes, new DataView(bytes.buffer), 0, 24);
    expect(bytes).toEqual(u8(IPV4_WITH_OPTIONS));
  });
});

describe("Ipv4View getters", () => {
  it("reads the echo request header", () => {
    const ip = view(u8(ECHO_REQUEST), 14);
    expect(ip.check()).toBe(Ipv4Check.OK);
    expect(ip.headerLength).toBe(20);
    expect(ip.tos).toBe(0);
    expect(ip.totalLength).toBe(31);
    expect(ip.id).toBe(0x1c46);
    expect(ip.flagsFragment).toBe(0);
    expect(ip.isFragment).toBe(false);
    expect(ip.hasMoreFragments).toBe(false);
    expect(ip.fragmentOffsetBytes).toBe(0);
    expect(ip.ttl).toBe(64);
    expect(ip.protocol).toBe(IpProto.ICMP);
    expect(ip.src).toBe(IP_A);
    expect(ip.dst).toBe(IP_B);
  });

  it("reads a header with options (IHL 6)", () => {
    const ip = view(u8(IPV4_WITH_OPTIONS));
    expect(ip.check()).toBe(Ipv4Check.OK);
    expect(ip.headerLength).toBe(24);
    expect(ip.tos).toBe(0xc0);
    expect(ip.totalLength).toBe(32);
    expect(ip.id).toBe(7);
    expect(ip.ttl).toBe(1);
    expect(ip.protocol).toBe(IpProto.IGMP);
    expect(ip.src).toBe(IP_A);
    expect(ip.dst).toBe(IP_B);
  });

  it("reads fragment fields", () => {
    const got = ECHO_FRAGMENTS.map((f) => {
      const ip = view(u8(f), 14);
      expect(ip.check()).toBe(Ipv4Check.OK);
      return [ip.isFragment, ip.hasMoreFragments, ip.fragmentOffsetBytes, ip.totalLength, ip.id];
    });
    expect(got).toEqual([
      [true, true, 0, 68, 0x8000],
      [true, true, 48, 68, 0x8000],
      [true, false, 96, 32, 0x8000],
    ]);
  });

  it("a DF-only datagram is not a fragment", () => {
    const ip = view(ipv4({ src: IP_A, dst: IP_B, protocol: 17, payload: new Uint8Array(8), flags: IpFlag.DF }));
    expect(ip.check()).toBe(Ipv4Check.OK);
    expect(ip.isFragment).toBe(false);
    expect(ip.flagsFragment).toBe(IpFlag.DF);
  });
});

describe("Ipv4View.check()", () => {
  const good = (): Uint8Array => u8(ECHO_REQUEST.slice(14));

  it("accepts Ethernet padding after the datagram", () => {
    const padded = u8([...ECHO_REQUEST.slice(14), 0, 0, 0, 0, 0, 0]);
    expect(view(padded).check()).toBe(Ipv4Check.OK);
  });

  it("TRUNCATED below 20 bytes", () => {
    for (let len = 0; len < IPV4.minHeaderLength; len++) expect(view(good(), 0, len).check()).toBe(Ipv4Check.TRUNCATED);
  });

  it.each([
    ["6", 0x65],
    ["0", 0x05],
    ["11", 0xb5],
  ])("BAD_VERSION for version %s", (_v, vi) => {
    const b = good();
    b[0] = vi;
    expect(view(b).check()).toBe(Ipv4Check.BAD_VERSION);
  });

  it.each([0, 1, 4])("BAD_HEADER_LENGTH for IHL %i (< 5)", (ihl) => {
    const b = good();
    b[0] = 0x40 | ihl;
    expect(view(b).check()).toBe(Ipv4Check.BAD_HEADER_LENGTH);
  });

  it("BAD_HEADER_LENGTH for an IHL beyond the buffer", () => {
    // IHL 15 (60 bytes) in a 31-byte datagram; IHL 7 (28 bytes) in the first 24 bytes.
    const b = good();
    b[0] = 0x4f;
    expect(view(b).check()).toBe(Ipv4Check.BAD_HEADER_LENGTH);
    const c = good();
    c[0] = 0x47;
    expect(view(c, 0, 24).check()).toBe(Ipv4Check.BAD_HEADER_LENGTH);
  });

  it("BAD_TOTAL_LENGTH when total length < IHL or > the buffer", () => {
    for (const total of [0, 19, 32, 0xffff]) {
      const b = ipv4({ src: IP_A, dst: IP_B, protocol: 1, payload: new Uint8Array(11), totalLength: total });
      expect(view(b).check()).toBe(Ipv4Check.BAD_TOTAL_LENGTH);
    }
    // With options: total 22 < IHL 24.
    const o = ipv4({ src: IP_A, dst: IP_B, protocol: 1, payload: new Uint8Array(0), options: u8([1, 1, 1, 0]), totalLength: 22 });
    expect(view(o).check()).toBe(Ipv4Check.BAD_TOTAL_LENGTH);
    // Exactly the buffer is fine; the datagram shortened by one byte is not.
    expect(view(good()).check()).toBe(Ipv4Check.OK);
    expect(view(good(), 0, 30).check()).toBe(Ipv4Check.BAD_TOTAL_LENGTH);
  });

  it("BAD_CHECKSUM for any flipped header bit that keeps lengths valid", () => {
    for (const [byte, bit] of [[1, 0], [4, 7], [8, 3], [10, 0], [11, 7], [15, 1], [19, 0]] as const) {
      const b = good();
      b[byte] = (b[byte] as number) ^ (1 << bit);
      expect(view(b).check()).toBe(Ipv4Check.BAD_CHECKSUM);
    }
    const opts = u8(IPV4_WITH_OPTIONS);
    opts[21] = 0x05; // inside the options: covered by the checksum too
    expect(view(opts).check()).toBe(Ipv4Check.BAD_CHECKSUM);
  });

  it("never reads outside the window, wherever it points", () => {
    // The view only sees bytes [offset, offset + length): check() on a window over a longer buffer agrees with
    // check() on a copy of the window.
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.nat(), fc.nat(), (bytes, a, b) => {
        const offset = a % (bytes.length + 1);
        const length = b % (bytes.length - offset + 1);
        const copy = bytes.slice(offset, offset + length);
        expect(view(bytes, offset, length).check()).toBe(view(copy, 0, length).check());
      }),
      { seed: 42, numRuns: 1000 },
    );
  });
});

describe("ipv4OptionsError (RFC 791 §3.1 option formats)", () => {
  /** The options' offset from the header start of the error, for a header of 20 bytes plus `options`. */
  function errorAt(options: readonly number[], at = 3): number {
    const header = ipv4({ src: IP_A, dst: IP_B, protocol: IpProto.UDP, payload: new Uint8Array(0), options: Uint8Array.from(options) });
    const buf = prefilled(at + header.length + 4);
    buf.set(header, at);
    return ipv4OptionsError(buf, at, header.length);
  }

  it("accepts no options, NOPs, End of Option List with padding after it, and well-formed unknown options (RFC 1122 §3.2.1.8)", () => {
    expect(errorAt([])).toBe(-1);
    expect(errorAt([1, 1, 1, 1])).toBe(-1);
    // EOL ends the list: what follows is padding, never parsed.
    expect(errorAt([0, 7, 0, 9])).toBe(-1);
    // 0x9e: an unassigned option, type/length/2 data octets.
    expect(errorAt([0x9e, 4, 0x12, 0x34])).toBe(-1);
    // The smallest option with a length: type and length only.
    expect(errorAt([0x9e, 2, 0x9e, 2])).toBe(-1);
    // Record route (7) filling the whole option space, 40 octets.
    expect(errorAt([7, 39, 4, ...new Array<number>(36).fill(0), 0])).toBe(-1);
    expect(errorAt([1, 0x44, 3, 5])).toBe(-1);
  });

  it("points at the type octet of an option whose length is 0 or 1, as Linux (ip_options_compile)", () => {
    expect(errorAt([7, 0, 0, 0])).toBe(20);
    expect(errorAt([0x9e, 1, 0, 0])).toBe(20);
    expect(errorAt([1, 1, 0x44, 0])).toBe(22);
  });

  it("points at an option whose length runs past the header", () => {
    expect(errorAt([7, 9, 4, 0])).toBe(20);
    expect(errorAt([1, 0x9e, 4, 0])).toBe(21);
    expect(errorAt([0x9e, 4, 1, 2, 0x9e, 5, 0, 0])).toBe(24);
  });

  it("points at an option with no room left for its length octet", () => {
    expect(errorAt([1, 1, 1, 0x44])).toBe(23);
  });

  it("never reads beyond the header however the octets fall (fast-check)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 }), fc.uint8Array({ minLength: 40, maxLength: 40 }), (words, bytes) => {
        const options = [...bytes.subarray(0, words * 4)];
        const pointer = errorAt(options);
        // With the header followed by 0xa5, a read past it would see a length of 0xa5 and could only fail later.
        expect(pointer === -1 || (pointer >= 20 && pointer < 20 + options.length)).toBe(true);
        const header = ipv4({ src: IP_A, dst: IP_B, protocol: IpProto.UDP, payload: new Uint8Array(0), options: Uint8Array.from(options) });
        const exact = header.slice();
        expect(ipv4OptionsError(exact, 0, exact.length)).toBe(pointer);
      }),
      { seed: 7, numRuns: 2000 },
    );
  });
});

describe("parse(emit(x))", () => {
  it("round trips every field", () => {
    fc.assert(
      fc.property(
        fc.record({
          tos: fc.nat({ max: 255 }),
          id: fc.nat({ max: 0xffff }),
          flagsFragment: fc.nat({ max: 0xffff }),
          ttl: fc.nat({ max: 255 }),
          protocol: fc.nat({ max: 255 }),
          src: fc.nat({ max: 0xffffffff }),
          dst: fc.nat({ max: 0xffffffff }),
        }),
        fc.nat({ max: 100 }),
        (h, payload) => {
          const totalLength = 20 + payload;
          const buf = prefilled(totalLength + 1);
          writeIpv4Header(buf, new DataView(buf.buffer), 0, { ...h, totalLength });
          const ip = view(buf, 0, totalLength);
          expect(ip.check()).toBe(Ipv4Check.OK);
          expect(checksumNaive(buf, 0, 20)).toBe(0);
          expect({ tos: ip.tos, id: ip.id, flagsFragment: ip.flagsFragment, ttl: ip.ttl, protocol: ip.protocol, src: ip.src, dst: ip.dst }).toEqual(h);
          expect(ip.totalLength).toBe(totalLength);
          expect(ip.headerLength).toBe(20);
          expect(buf[20]).toBe(0xa5);
        },
      ),
      { seed: 42, numRuns: 500 },
    );
  });
});
