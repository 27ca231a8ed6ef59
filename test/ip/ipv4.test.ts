// The IPv4 header (RFC 791 §3.1): the writer against scapy vectors (test/helpers/vectors.ts, cross-checked
// with scapy 2.x), the view's getters on headers with options and on fragments, every check() failure
// reason (RFC 1122 §3.2.1.1–3.2.1.2), and parse(emit(x)).

import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { IPV4, IpFlag, IpProto, Ipv4Check, Ipv4View, refreshIpv4Checksum, writeIpv4Header } from "../../src/ip/ipv4.js";
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
