// TCP header view, option parser and writer (src/tcp/header.ts): byte-exact vectors, malformed lengths,
// parse(write(x)) round trips and random bytes.

import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  TCP,
  TCP_CHECK_NAMES,
  TcpCheck,
  TcpFlag,
  TcpOptions,
  type TcpOptionsOut,
  type TcpSegmentFields,
  TcpView,
  finishTcpChecksum,
  parseTcpOptions,
  tcpOptionsLength,
  writeTcpHeader,
} from "../../src/tcp/header.js";
import { toSeq } from "../../src/tcp/seq.js";

const SEED = 0x7c9;

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

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function noOptions(): TcpOptionsOut {
  return {
    mss: 0,
    windowScale: -1,
    sackPermitted: false,
    timestamps: false,
    tsVal: 0,
    tsEcr: 0,
    sackBlocks: null,
    sackCount: 0,
  };
}

// ---- Vectors, cross-checked with scapy 2.5.0: bytes(IP(src=…, dst=…)/TCP(…))[20:].hex() ----

// IP(src="192.168.50.1", dst="192.168.50.66")/TCP(sport=49152, dport=80, seq=0x01020304, ack=0, flags="S",
//   window=64240, options=[("MSS",1460),("SAckOK",b""),("Timestamp",(1,0)),("NOP",None),("WScale",7)])
const SYN_SRC = ip(192, 168, 50, 1);
const SYN_DST = ip(192, 168, 50, 66);
const SYN = hex(
  "c000", // source port 49152
  "0050", // destination port 80
  "01020304", // sequence number
  "00000000", // acknowledgment number
  "a0", // data offset 10 words (40 bytes), reserved 0
  "02", // flags SYN
  "faf0", // window 64240
  "a323", // checksum
  "0000", // urgent pointer
  "020405b4", // MSS 1460
  "0402080a", // SACK-permitted (kind 4 len 2), timestamps kind 8 len 10 …
  "00000001", // … TSval 1
  "00000000", // … TSecr 0
  "01030307", // NOP, window scale 7
);
const SYN_FIELDS: TcpSegmentFields = {
  srcPort: 49152,
  dstPort: 80,
  seq: toSeq(0x01020304),
  ack: toSeq(0),
  flags: TcpFlag.SYN,
  window: 64240,
  urgent: 0,
};
const SYN_OPTIONS: TcpOptionsOut = {
  ...noOptions(),
  mss: 1460,
  windowScale: 7,
  sackPermitted: true,
  timestamps: true,
  tsVal: 1,
};

// IP(src="192.168.50.66", dst="192.168.50.1")/TCP(sport=80, dport=49152, seq=0xfffffff0, ack=0x01020305,
//   flags="SA", window=65535, options=[("MSS",1460),("NOP",None),("NOP",None),("SAckOK",b""),("NOP",None),
//   ("WScale",0)])
// The sequence number sits just below the 2^32 wrap.
const SYNACK = hex(
  "0050", // source port 80
  "c000", // destination port 49152
  "fffffff0", // sequence number, 16 below the wrap
  "01020305", // acknowledgment number
  "80", // data offset 8 words (32 bytes)
  "12", // flags SYN|ACK
  "ffff", // window 65535
  "c52b", // checksum
  "0000", // urgent pointer
  "020405b4", // MSS 1460
  "01010402", // NOP, NOP, SACK-permitted (no timestamps)
  "01030300", // NOP, window scale 0
);
const SYNACK_FIELDS: TcpSegmentFields = {
  srcPort: 80,
  dstPort: 49152,
  seq: toSeq(0xfffffff0),
  ack: toSeq(0x01020305),
  flags: TcpFlag.SYN | TcpFlag.ACK,
  window: 65535,
  urgent: 0,
};
const SYNACK_OPTIONS: TcpOptionsOut = { ...noOptions(), mss: 1460, windowScale: 0, sackPermitted: true };

// IP(src="10.0.0.1", dst="10.0.0.2")/TCP(sport=5000, dport=6000, seq=0x80000000, ack=0x7fffffff, flags="PA",
//   window=502, options=[("NOP",None),("NOP",None),("Timestamp",(0xdeadbeef,0x01020304)),("NOP",None),
//   ("NOP",None),("SAck",(1000,2000,3000,4000))])/Raw(b"hello")
const DATA_SRC = ip(10, 0, 0, 1);
const DATA_DST = ip(10, 0, 0, 2);
const DATA = hex(
  "1388", // source port 5000
  "1770", // destination port 6000
  "80000000", // sequence number
  "7fffffff", // acknowledgment number
  "d0", // data offset 13 words (52 bytes)
  "18", // flags PSH|ACK
  "01f6", // window 502
  "d312", // checksum
  "0000", // urgent pointer
  "0101080a", // NOP, NOP, timestamps kind 8 len 10 …
  "deadbeef", // … TSval
  "01020304", // … TSecr
  "01010512", // NOP, NOP, SACK kind 5 len 18 (2 blocks)
  "000003e8", // block 1 left 1000
  "000007d0", // block 1 right 2000
  "00000bb8", // block 2 left 3000
  "00000fa0", // block 2 right 4000
  "68656c6c6f", // payload "hello"
);
const DATA_FIELDS: TcpSegmentFields = {
  srcPort: 5000,
  dstPort: 6000,
  seq: toSeq(0x80000000),
  ack: toSeq(0x7fffffff),
  flags: TcpFlag.PSH | TcpFlag.ACK,
  window: 502,
  urgent: 0,
};
const DATA_OPTIONS: TcpOptionsOut = {
  ...noOptions(),
  timestamps: true,
  tsVal: 0xdeadbeef,
  tsEcr: 0x01020304,
  sackBlocks: Uint32Array.of(1000, 2000, 3000, 4000),
  sackCount: 2,
};

// IP(src="10.0.0.1", dst="10.0.0.2")/TCP(sport=5000, dport=6000, seq=1, ack=2, flags="RA", window=0)
const RST = hex(
  "1388", // source port 5000
  "1770", // destination port 6000
  "00000001", // sequence number
  "00000002", // acknowledgment number
  "50", // data offset 5 words (no options)
  "14", // flags RST|ACK
  "0000", // window 0
  "70d3", // checksum
  "0000", // urgent pointer
);
const RST_FIELDS: TcpSegmentFields = {
  srcPort: 5000,
  dstPort: 6000,
  seq: toSeq(1),
  ack: toSeq(2),
  flags: TcpFlag.RST | TcpFlag.ACK,
  window: 0,
  urgent: 0,
};

const VECTORS = [
  { name: "SYN with MSS, SACK-permitted+TS, WS", bytes: SYN, src: SYN_SRC, dst: SYN_DST, f: SYN_FIELDS, o: SYN_OPTIONS, payload: 0 },
  { name: "SYN-ACK near the wrap, no TS", bytes: SYNACK, src: SYN_DST, dst: SYN_SRC, f: SYNACK_FIELDS, o: SYNACK_OPTIONS, payload: 0 },
  { name: "data with TS and 2 SACK blocks", bytes: DATA, src: DATA_SRC, dst: DATA_DST, f: DATA_FIELDS, o: DATA_OPTIONS, payload: 5 },
  { name: "RST|ACK without options", bytes: RST, src: DATA_SRC, dst: DATA_DST, f: RST_FIELDS, o: null, payload: 0 },
] as const;

function viewOf(bytes: Uint8Array, offset = 0, length = bytes.length - offset): TcpView {
  return new TcpView().point(bytes, offset, length);
}

describe("TcpView", () => {
  it("reads every field of the SYN vector", () => {
    const v = viewOf(SYN);
    expect(v.check(SYN_SRC, SYN_DST, true)).toBe(TcpCheck.OK);
    expect(v.srcPort).toBe(49152);
    expect(v.dstPort).toBe(80);
    expect(v.seq).toBe(0x01020304);
    expect(v.ack).toBe(0);
    expect(v.headerLength).toBe(40);
    expect(v.flags).toBe(TcpFlag.SYN);
    expect(v.window).toBe(64240);
    expect(v.checksum).toBe(0xa323);
    expect(v.urgent).toBe(0);
    expect(v.payloadOffset).toBe(40);
    expect(v.payloadLength).toBe(0);
  });

  it("reads sequence numbers near the wrap as u32", () => {
    const v = viewOf(SYNACK);
    expect(v.check(SYN_DST, SYN_SRC, true)).toBe(TcpCheck.OK);
    expect(v.seq).toBe(0xfffffff0);
    expect(v.ack).toBe(0x01020305);
    expect(v.flags).toBe(TcpFlag.SYN | TcpFlag.ACK);
  });

  it("locates the payload inside a larger frame", () => {
    const frame = new Uint8Array(100).fill(0xa5);
    frame.set(DATA, 34);
    const v = viewOf(frame, 34, DATA.length);
    expect(v.check(DATA_SRC, DATA_DST, true)).toBe(TcpCheck.OK);
    expect(v.payloadOffset).toBe(34 + 52);
    expect(v.payloadLength).toBe(5);
    expect(new TextDecoder().decode(frame.subarray(v.payloadOffset, v.payloadOffset + v.payloadLength))).toBe("hello");
  });

  it("rejects segments shorter than 20 bytes as truncated", () => {
    for (let length = 0; length < 20; length++) {
      expect(viewOf(RST, 0, length).check(DATA_SRC, DATA_DST, false)).toBe(TcpCheck.TRUNCATED);
    }
  });

  it("rejects a data offset below 5 words", () => {
    for (let words = 0; words < 5; words++) {
      const b = RST.slice();
      b[TCP.dataOffset] = words << 4;
      expect(viewOf(b).check(DATA_SRC, DATA_DST, false)).toBe(TcpCheck.BAD_DATA_OFFSET);
    }
  });

  it("rejects a data offset past the end of the segment", () => {
    // SYN says 40 bytes of header; hand it only 36.
    expect(viewOf(SYN, 0, 36).check(SYN_SRC, SYN_DST, false)).toBe(TcpCheck.BAD_DATA_OFFSET);
    const b = RST.slice();
    b[TCP.dataOffset] = 0xf0; // 60 bytes in a 20-byte segment
    expect(viewOf(b).check(DATA_SRC, DATA_DST, false)).toBe(TcpCheck.BAD_DATA_OFFSET);
  });

  it("verifies the checksum over the pseudo-header only when asked", () => {
    const b = DATA.slice();
    b[b.length - 1] = (b[b.length - 1] ?? 0) ^ 0x01; // flip a payload bit
    expect(viewOf(b).check(DATA_SRC, DATA_DST, true)).toBe(TcpCheck.BAD_CHECKSUM);
    expect(viewOf(b).check(DATA_SRC, DATA_DST, false)).toBe(TcpCheck.OK);
    // The pseudo-header counts: the right bytes from another source address fail.
    expect(viewOf(DATA).check(ip(10, 0, 0, 3), DATA_DST, true)).toBe(TcpCheck.BAD_CHECKSUM);
  });

  it("names every check reason for the counters", () => {
    expect(TCP_CHECK_NAMES[TcpCheck.TRUNCATED]).toBe("dropTruncated");
    expect(TCP_CHECK_NAMES[TcpCheck.BAD_DATA_OFFSET]).toBe("dropBadDataOffset");
    expect(TCP_CHECK_NAMES[TcpCheck.BAD_CHECKSUM]).toBe("dropBadChecksum");
    expect(TCP_CHECK_NAMES).toHaveLength(Object.keys(TcpCheck).length);
  });
});

/** A segment with the given option bytes (padded with EOL to a multiple of 4). */
function withOptions(...optionHex: string[]): TcpView {
  const opts = hex(...optionHex);
  const padded = (opts.length + 3) & ~3;
  const b = new Uint8Array(20 + padded);
  b.set(RST.subarray(0, 20));
  b[TCP.dataOffset] = ((20 + padded) >>> 2) << 4;
  b.set(opts, 20);
  return viewOf(b);
}

describe("parseTcpOptions", () => {
  const out = new TcpOptions();

  it("reads MSS, SACK-permitted, timestamps and window scale from the SYN vector", () => {
    expect(parseTcpOptions(viewOf(SYN), out)).toBe(true);
    expect(out.mss).toBe(1460);
    expect(out.sackPermitted).toBe(true);
    expect(out.hasTimestamps).toBe(true);
    expect(out.tsVal).toBe(1);
    expect(out.tsEcr).toBe(0);
    expect(out.windowScale).toBe(7);
    expect(out.sackCount).toBe(0);
  });

  it("reads timestamps and SACK blocks from the data vector", () => {
    expect(parseTcpOptions(viewOf(DATA), out)).toBe(true);
    expect(out.mss).toBe(0);
    expect(out.windowScale).toBe(-1);
    expect(out.sackPermitted).toBe(false);
    expect(out.hasTimestamps).toBe(true);
    expect(out.tsVal).toBe(0xdeadbeef);
    expect(out.tsEcr).toBe(0x01020304);
    expect(out.sackCount).toBe(2);
    expect(Array.from(out.sackBlocks.subarray(0, 4))).toEqual([1000, 2000, 3000, 4000]);
  });

  it("resets the previous segment's options", () => {
    parseTcpOptions(viewOf(SYN), out);
    expect(parseTcpOptions(viewOf(RST), out)).toBe(true);
    expect(out.mss).toBe(0);
    expect(out.windowScale).toBe(-1);
    expect(out.sackPermitted).toBe(false);
    expect(out.hasTimestamps).toBe(false);
    expect(out.sackCount).toBe(0);
  });

  it("clamps a window scale above 14 to 14 (RFC 7323 §2.3)", () => {
    expect(parseTcpOptions(withOptions("03030f"), out)).toBe(true);
    expect(out.windowScale).toBe(14);
    expect(parseTcpOptions(withOptions("0303ff"), out)).toBe(true);
    expect(out.windowScale).toBe(14);
  });

  it("ignores known options with the wrong length but keeps parsing", () => {
    expect(
      parseTcpOptions(
        withOptions(
          "020305", // MSS with length 3: ignored
          "03040701", // WS with length 4: ignored
          "0403aa", // SACK-permitted with length 3: ignored
          "080600000001", // timestamps with length 6: ignored
          "050e000000010000000200000003", // SACK with length 14 (not 2 + 8n): ignored
          "020405dc", // a good MSS after them is still read
        ),
        out,
      ),
    ).toBe(true);
    expect(out.mss).toBe(1500);
    expect(out.windowScale).toBe(-1);
    expect(out.sackPermitted).toBe(false);
    expect(out.hasTimestamps).toBe(false);
    expect(out.sackCount).toBe(0);
  });

  it("skips unknown kinds by their length", () => {
    // kind 30 (MPTCP) length 4, kind 254 (experimental) length 6, then MSS.
    expect(parseTcpOptions(withOptions("1e04abcd", "fe06deadbeef", "020405b4"), out)).toBe(true);
    expect(out.mss).toBe(1460);
  });

  it("stops at End of Option List", () => {
    // After EOL, bytes that would be a malformed option are padding.
    expect(parseTcpOptions(withOptions("020405b4", "00", "0800ffff"), out)).toBe(true);
    expect(out.mss).toBe(1460);
  });

  it("reads four SACK blocks", () => {
    expect(
      parseTcpOptions(withOptions("0101", "0522", "00000001", "00000002", "00000003", "00000004", "00000005", "00000006", "fffffff0", "00000010"), out),
    ).toBe(true);
    expect(out.sackCount).toBe(4);
    expect(Array.from(out.sackBlocks)).toEqual([1, 2, 3, 4, 5, 6, 0xfffffff0, 0x10]);
  });

  const MALFORMED: readonly [string, string][] = [
    ["length 0", "0200"],
    ["length 1", "0201"],
    ["unknown kind with length 0", "fe00"],
    ["kind without a length byte at the end", "010101fe"],
    ["MSS running past the header", "020805b4"],
    ["timestamps truncated by the data offset", "0101080a00000001"],
    ["SACK running past the header", "0101051200000001"],
  ];
  for (const [name, opts] of MALFORMED) {
    it(`returns false on ${name}`, () => {
      let result = true;
      expect(() => {
        result = parseTcpOptions(withOptions(opts), out);
      }).not.toThrow();
      expect(result).toBe(false);
    });
  }

  it("returns false for a timestamps option cut by the segment end when the header claims more", () => {
    // Header says 32 bytes but the view holds 28: check() fails, and parse still neither throws nor overreads.
    const v = viewOf(hex(toHex(RST.subarray(0, 12)), "80", toHex(RST.subarray(13, 20)), "0101080a00000001"));
    expect(v.check(0, 0, false)).toBe(TcpCheck.BAD_DATA_OFFSET);
    expect(parseTcpOptions(v, out)).toBe(false);
  });
});

describe("writeTcpHeader", () => {
  for (const vec of VECTORS) {
    it(`writes the scapy vector: ${vec.name}`, () => {
      const offset = 34; // where TCP sits after Ethernet and IPv4
      const frame = new Uint8Array(offset + vec.bytes.length + 16).fill(0xa5);
      const view = new DataView(frame.buffer);
      const headerLength = writeTcpHeader(frame, view, offset, vec.f, vec.o);
      expect(headerLength).toBe(vec.bytes.length - vec.payload);
      expect(headerLength - 20).toBe(vec.o === null ? 0 : tcpOptionsLength(vec.o));
      frame.set(vec.bytes.subarray(headerLength), offset + headerLength); // the payload
      finishTcpChecksum(frame, view, offset, vec.bytes.length, vec.src, vec.dst);
      expect(toHex(frame.subarray(offset, offset + vec.bytes.length))).toBe(toHex(vec.bytes));
      // Nothing outside the segment was touched.
      expect(frame.subarray(0, offset).every((b) => b === 0xa5)).toBe(true);
      expect(frame.subarray(offset + vec.bytes.length).every((b) => b === 0xa5)).toBe(true);
    });
  }

  it("writes options in a reused buffer without leaving stale bytes", () => {
    const frame = new Uint8Array(80).fill(0xa5);
    const view = new DataView(frame.buffer);
    writeTcpHeader(frame, view, 0, SYN_FIELDS, SYN_OPTIONS);
    const n = writeTcpHeader(frame, view, 0, RST_FIELDS, null);
    finishTcpChecksum(frame, view, 0, n, DATA_SRC, DATA_DST);
    expect(toHex(frame.subarray(0, n))).toBe(toHex(RST));
  });

  it("fits 3 SACK blocks beside timestamps and 4 without (RFC 2018 §3, as Linux)", () => {
    const blocks = Uint32Array.of(1, 2, 3, 4, 5, 6, 7, 8);
    const withTs: TcpOptionsOut = { ...noOptions(), timestamps: true, sackBlocks: blocks, sackCount: 4 };
    expect(tcpOptionsLength(withTs)).toBe(12 + 4 + 3 * 8);
    const without: TcpOptionsOut = { ...noOptions(), sackBlocks: blocks, sackCount: 4 };
    expect(tcpOptionsLength(without)).toBe(4 + 4 * 8);
    const frame = new Uint8Array(60).fill(0xa5);
    const n = writeTcpHeader(frame, new DataView(frame.buffer), 0, DATA_FIELDS, withTs);
    expect(n).toBe(60);
    const parsed = new TcpOptions();
    expect(parseTcpOptions(viewOf(frame, 0, n), parsed)).toBe(true);
    expect(parsed.sackCount).toBe(3);
    expect(Array.from(parsed.sackBlocks.subarray(0, 6))).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("writes the empty option set as a bare 20-byte header", () => {
    expect(tcpOptionsLength(noOptions())).toBe(0);
    const frame = new Uint8Array(24).fill(0xa5);
    expect(writeTcpHeader(frame, new DataView(frame.buffer), 0, RST_FIELDS, noOptions())).toBe(20);
    expect(frame[TCP.dataOffset]).toBe(0x50);
    expect(frame.subarray(20).every((b) => b === 0xa5)).toBe(true);
  });
});

// ---- properties ----

const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });

const fieldsArb: fc.Arbitrary<TcpSegmentFields> = fc.record({
  srcPort: u16,
  dstPort: u16,
  seq: u32.map(toSeq),
  ack: u32.map(toSeq),
  flags: fc.integer({ min: 0, max: 0xff }),
  window: u16,
  urgent: u16,
});

const optionsArb: fc.Arbitrary<TcpOptionsOut> = fc
  .record({
    mss: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 0xffff })),
    windowScale: fc.integer({ min: -1, max: 14 }),
    sackPermitted: fc.boolean(),
    timestamps: fc.boolean(),
    tsVal: u32,
    tsEcr: u32,
    blocks: fc.array(u32, { minLength: 0, maxLength: 8 }),
  })
  .map(({ blocks, ...rest }) => {
    const pairs = blocks.length >>> 1;
    return { ...rest, sackBlocks: pairs > 0 ? Uint32Array.from(blocks.slice(0, 2 * pairs)) : null, sackCount: pairs };
  });

describe("round trips", () => {
  it("parse(write(fields, options)) gives back what was written", () => {
    const frame = new Uint8Array(8 + 60 + 32);
    const view = new DataView(frame.buffer);
    const tcp = new TcpView();
    const parsed = new TcpOptions();
    fc.assert(
      fc.property(fieldsArb, fc.option(optionsArb, { nil: null }), u32, u32, fc.integer({ min: 0, max: 32 }), (f, o, src, dst, payload) => {
        frame.fill(0xa5);
        const offset = 8;
        const headerLength = writeTcpHeader(frame, view, offset, f, o);
        const optionsLength = o === null ? 0 : tcpOptionsLength(o);
        expect(headerLength).toBe(20 + optionsLength);
        expect(optionsLength % 4).toBe(0);
        expect(optionsLength).toBeLessThanOrEqual(40);
        finishTcpChecksum(frame, view, offset, headerLength + payload, src, dst);

        tcp.point(frame, offset, headerLength + payload);
        expect(tcp.check(src, dst, true)).toBe(TcpCheck.OK);
        expect(tcp.srcPort).toBe(f.srcPort);
        expect(tcp.dstPort).toBe(f.dstPort);
        expect(tcp.seq).toBe(f.seq);
        expect(tcp.ack).toBe(f.ack);
        expect(tcp.flags).toBe(f.flags);
        expect(tcp.window).toBe(f.window);
        expect(tcp.urgent).toBe(f.urgent);
        expect(tcp.headerLength).toBe(headerLength);
        expect(tcp.payloadLength).toBe(payload);

        expect(parseTcpOptions(tcp, parsed)).toBe(true);
        const want = o ?? noOptions();
        expect(parsed.mss).toBe(want.mss);
        expect(parsed.windowScale).toBe(want.windowScale);
        expect(parsed.sackPermitted).toBe(want.sackPermitted);
        expect(parsed.hasTimestamps).toBe(want.timestamps);
        if (want.timestamps) {
          expect(parsed.tsVal).toBe(want.tsVal);
          expect(parsed.tsEcr).toBe(want.tsEcr);
        }
        // SACK blocks are trimmed to the room the other options leave (at least one: 24 + 4 + 8 ≤ 40).
        const fixed = (want.mss !== 0 ? 4 : 0) + (want.timestamps ? 12 : want.sackPermitted ? 4 : 0) + (want.windowScale >= 0 ? 4 : 0);
        expect(parsed.sackCount).toBe(Math.min(want.sackCount, Math.floor((40 - fixed - 4) / 8)));
        if (want.sackBlocks !== null) {
          expect(Array.from(parsed.sackBlocks.subarray(0, 2 * parsed.sackCount))).toEqual(
            Array.from(want.sackBlocks.subarray(0, 2 * parsed.sackCount)),
          );
        }
      }),
      { seed: SEED, numRuns: 500 },
    );
  });
});

describe("robustness", () => {
  it("check() and parseTcpOptions() never throw on random bytes", () => {
    const tcp = new TcpView();
    const out = new TcpOptions();
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 80 }), u32, u32, fc.boolean(), (bytes, src, dst, verify) => {
        tcp.point(bytes, 0, bytes.length);
        const reason = tcp.check(src, dst, verify);
        expect(reason).toBeGreaterThanOrEqual(TcpCheck.OK);
        expect(reason).toBeLessThanOrEqual(TcpCheck.BAD_CHECKSUM);
        // Parsing is safe even without a passing check().
        expect(typeof parseTcpOptions(tcp, out)).toBe("boolean");
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });

  it("random option bytes under a valid data offset parse to sane values or false", () => {
    const tcp = new TcpView();
    const out = new TcpOptions();
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 40 }), (opts) => {
        const words = 5 + ((opts.length + 3) >>> 2);
        const b = new Uint8Array(words * 4);
        b.set(RST.subarray(0, 20));
        b[TCP.dataOffset] = words << 4;
        b.set(opts, 20);
        tcp.point(b, 0, b.length);
        expect(tcp.check(0, 0, false)).toBe(TcpCheck.OK);
        if (parseTcpOptions(tcp, out)) {
          expect(out.windowScale).toBeGreaterThanOrEqual(-1);
          expect(out.windowScale).toBeLessThanOrEqual(14);
          expect(out.sackCount).toBeLessThanOrEqual(4);
          expect(out.mss).toBeLessThanOrEqual(0xffff);
        }
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });
});
