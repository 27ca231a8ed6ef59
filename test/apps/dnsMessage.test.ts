// DNS wire format (RFC 1035 §4.1): name validation, byte-exact A queries, response parsing with compression
// (§4.1.4), and rejection of pointer loops, forward and out-of-bounds pointers, long labels and names, and
// truncation. Every vector below was generated or decoded once with scapy 2.5.0 (`/usr/bin/python3`,
// `from scapy.all import *`) from the expression quoted above it: "cross-checked with scapy 2.x".

import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  DNS_CHECK_NAMES,
  DnsCheck,
  DnsType,
  DnsView,
  NameCheck,
  checkName,
  nameKey,
  nameKeyToText,
  queryLength,
  writeQuery,
} from "../../src/apps/dnsMessage.js";

/** A buffer prefilled with 0xa5, so bytes a writer forgot to write show up in comparisons. */
function prefilled(length: number): Uint8Array {
  return new Uint8Array(length).fill(0xa5);
}

function bytesOf(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex.replace(/\s+/g, ""), "hex"));
}

function check(bytes: Uint8Array | readonly number[], length = bytes.length): number {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  return new DnsView().point(b, 0, length).check();
}

/** scapy: `DNS(id=0x1234, rd=1, qd=DNSQR(qname="example.test"))` */
const QUERY_EXAMPLE_TEST = [
  0x12, 0x34, // ID
  0x01, 0x00, // flags: QR 0, OPCODE 0, RD 1
  0x00, 0x01, // QDCOUNT 1
  0x00, 0x00, // ANCOUNT 0
  0x00, 0x00, // NSCOUNT 0
  0x00, 0x00, // ARCOUNT 0
  0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, // "example"
  0x04, 0x74, 0x65, 0x73, 0x74, // "test"
  0x00, // root
  0x00, 0x01, // QTYPE A
  0x00, 0x01, // QCLASS IN
];

/** scapy: `DNS(id=0xbeef, rd=1, qd=DNSQR(qname="a-b_c.9.Example.TEST."))` — case kept, root dot not doubled. */
const QUERY_MIXED = [
  0xbe, 0xef, // ID
  0x01, 0x00, // flags: RD
  0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // counts 1/0/0/0
  0x05, 0x61, 0x2d, 0x62, 0x5f, 0x63, // "a-b_c"
  0x01, 0x39, // "9"
  0x07, 0x45, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, // "Example"
  0x04, 0x54, 0x45, 0x53, 0x54, // "TEST"
  0x00, // root
  0x00, 0x01, 0x00, 0x01, // A IN
];

/**
 * A CNAME chain with compression, decoded by scapy's `DNS(bytes).show()` as www.example.test CNAME
 * web.example.test (TTL 300), web.example.test A 10.1.2.3 (TTL 60).
 */
const RESPONSE_CNAME = [
  0x12, 0x34, // ID
  0x81, 0x80, // flags: QR, RD, RA, RCODE 0
  0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, // QD 1, AN 2, NS 0, AR 0
  0x03, 0x77, 0x77, 0x77, // @12 "www"
  0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, // @16 "example"
  0x04, 0x74, 0x65, 0x73, 0x74, 0x00, // @24 "test", root
  0x00, 0x01, 0x00, 0x01, // A IN
  0xc0, 0x0c, // @34 owner → @12 www.example.test
  0x00, 0x05, 0x00, 0x01, // CNAME IN
  0x00, 0x00, 0x01, 0x2c, // TTL 300
  0x00, 0x06, // RDLENGTH 6
  0x03, 0x77, 0x65, 0x62, 0xc0, 0x10, // @46 "web" → @16 example.test
  0xc0, 0x2e, // @52 owner → @46 web.example.test
  0x00, 0x01, 0x00, 0x01, // A IN
  0x00, 0x00, 0x00, 0x3c, // TTL 60
  0x00, 0x04, // RDLENGTH 4
  0x0a, 0x01, 0x02, 0x03, // 10.1.2.3
];

/** NXDOMAIN for nope.test with the zone's SOA in the authority section; scapy reads minimum = 30, TTL 900. */
const RESPONSE_NXDOMAIN = [
  0x43, 0x21, // ID
  0x81, 0x83, // flags: QR, RD, RA, RCODE 3
  0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, // QD 1, AN 0, NS 1, AR 0
  0x04, 0x6e, 0x6f, 0x70, 0x65, // @12 "nope"
  0x04, 0x74, 0x65, 0x73, 0x74, 0x00, // @17 "test", root
  0x00, 0x01, 0x00, 0x01, // A IN
  0xc0, 0x11, // @27 owner → @17 test
  0x00, 0x06, 0x00, 0x01, // SOA IN
  0x00, 0x00, 0x03, 0x84, // TTL 900
  0x00, 0x26, // RDLENGTH 38
  0x02, 0x6e, 0x73, 0xc0, 0x11, // MNAME ns.test
  0x0a, 0x68, 0x6f, 0x73, 0x74, 0x6d, 0x61, 0x73, 0x74, 0x65, 0x72, 0xc0, 0x11, // RNAME hostmaster.test
  0x00, 0x00, 0x00, 0x01, // SERIAL 1
  0x00, 0x00, 0x0e, 0x10, // REFRESH 3600
  0x00, 0x00, 0x02, 0x58, // RETRY 600
  0x00, 0x01, 0x51, 0x80, // EXPIRE 86400
  0x00, 0x00, 0x00, 0x1e, // MINIMUM 30
];

/** A header with one question whose name is `name` (raw bytes, may be malformed), then A IN. */
function withQuestion(name: readonly number[]): number[] {
  return [0x00, 0x01, 0x81, 0x80, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, ...name, 0x00, 0x01, 0x00, 0x01];
}

function label(text: string): number[] {
  return [text.length, ...Buffer.from(text, "latin1")];
}

describe("name validation (RFC 1035 §2.3.1, §2.3.4)", () => {
  it.each([
    ["example.test", NameCheck.OK],
    ["example.test.", NameCheck.OK],
    ["_sip._udp.Example-1.test", NameCheck.OK],
    ["localhost", NameCheck.OK],
    ["", NameCheck.EMPTY],
    [".", NameCheck.EMPTY],
    ["a..b", NameCheck.EMPTY_LABEL],
    [".a", NameCheck.EMPTY_LABEL],
    ["a.b..", NameCheck.EMPTY_LABEL],
    ["a b.test", NameCheck.BAD_CHARACTER],
    ["exämple.test", NameCheck.BAD_CHARACTER],
    ["a/b", NameCheck.BAD_CHARACTER],
    [`${"a".repeat(64)}.test`, NameCheck.LABEL_TOO_LONG],
  ])("%j → %i", (name, expected) => {
    expect(checkName(name)).toBe(expected);
  });

  it("takes 63-byte labels and 253-character names, not 254", () => {
    const l63 = "a".repeat(63);
    const name253 = `${l63}.${l63}.${l63}.${"b".repeat(61)}`;
    expect(name253.length).toBe(253);
    expect(checkName(name253)).toBe(NameCheck.OK);
    expect(checkName(`${name253}.`)).toBe(NameCheck.OK);
    expect(checkName(`c${name253}`)).toBe(NameCheck.NAME_TOO_LONG);
    // The longest name fills the 255-byte wire limit exactly.
    expect(queryLength(name253)).toBe(12 + 255 + 4);
  });
});

describe("A query (RFC 1035 §4.1.1, §4.1.2)", () => {
  it("matches scapy byte for byte", () => {
    const out = prefilled(64);
    const n = writeQuery(out, 0, 0x1234, "example.test");
    expect(n).toBe(QUERY_EXAMPLE_TEST.length);
    expect([...out.subarray(0, n)]).toEqual(QUERY_EXAMPLE_TEST);
    expect(out[n]).toBe(0xa5);
  });

  it("keeps the caller's case and drops one root dot, as scapy does", () => {
    const out = prefilled(64);
    const n = writeQuery(out, 3, 0xbeef, "a-b_c.9.Example.TEST.");
    expect([...out.subarray(0, 3)]).toEqual([0xa5, 0xa5, 0xa5]);
    expect([...out.subarray(3, 3 + n)]).toEqual(QUERY_MIXED);
    expect(out[3 + n]).toBe(0xa5);
  });

  it("refuses an unchecked name (a caller bug, not input)", () => {
    expect(() => writeQuery(prefilled(64), 0, 1, "a..b")).toThrow(/unchecked/);
  });

  it("round-trips: parse(writeQuery(name)) is the name's question", () => {
    const labelArb = fc.stringMatching(/^[A-Za-z0-9_-]{1,63}$/);
    const nameArb = fc.array(labelArb, { minLength: 1, maxLength: 6 }).map((ls) => ls.join("."));
    fc.assert(
      fc.property(nameArb, fc.integer({ min: 0, max: 0xffff }), (name, id) => {
        fc.pre(checkName(name) === NameCheck.OK);
        const out = prefilled(600);
        const n = writeQuery(out, 0, id, name);
        const v = new DnsView().point(out, 0, n);
        expect(v.check()).toBe(DnsCheck.OK);
        expect(v.id).toBe(id);
        expect(v.isResponse).toBe(false);
        const msg = v.parse();
        expect(msg.questions).toEqual([{ nameKey: nameKey(name), type: DnsType.A, class: 1 }]);
        expect(nameKeyToText(msg.questions[0]!.nameKey)).toBe(name.toLowerCase());
      }),
    );
  });
});

describe("response parsing (RFC 1035 §4.1.3, §4.1.4)", () => {
  it("follows compression pointers in owners and RDATA", () => {
    const v = new DnsView().point(new Uint8Array(RESPONSE_CNAME), 0, RESPONSE_CNAME.length);
    expect(v.check()).toBe(DnsCheck.OK);
    expect(v.id).toBe(0x1234);
    expect(v.isResponse).toBe(true);
    expect(v.isTruncated).toBe(false);
    expect(v.rcode).toBe(0);
    const msg = v.parse();
    expect(msg.questions).toEqual([{ nameKey: nameKey("www.example.test"), type: 1, class: 1 }]);
    expect(msg.answers).toEqual([
      { nameKey: nameKey("www.example.test"), type: 5, class: 1, ttlSeconds: 300, address: 0, targetKey: nameKey("web.example.test"), soaMinimumSeconds: 0 },
      { nameKey: nameKey("web.example.test"), type: 1, class: 1, ttlSeconds: 60, address: 0x0a010203, targetKey: "", soaMinimumSeconds: 0 },
    ]);
    expect(msg.authority).toEqual([]);
  });

  it("reads the SOA of a negative answer (RFC 2308 §3)", () => {
    const v = new DnsView().point(new Uint8Array(RESPONSE_NXDOMAIN), 0, RESPONSE_NXDOMAIN.length);
    expect(v.check()).toBe(DnsCheck.OK);
    expect(v.rcode).toBe(3);
    const msg = v.parse();
    expect(msg.answers).toEqual([]);
    expect(msg.authority).toEqual([
      { nameKey: nameKey("test"), type: 6, class: 1, ttlSeconds: 900, address: 0, targetKey: "", soaMinimumSeconds: 30 },
    ]);
  });

  it("parses a message that starts at an offset inside its buffer", () => {
    const buf = prefilled(RESPONSE_CNAME.length + 20);
    buf.set(RESPONSE_CNAME, 7);
    const v = new DnsView().point(buf, 7, RESPONSE_CNAME.length);
    expect(v.check()).toBe(DnsCheck.OK);
    expect(v.parse().answers[1]?.address).toBe(0x0a010203);
  });

  it("folds ASCII case only in name keys (RFC 4343)", () => {
    const msg = new DnsView().point(new Uint8Array(withQuestion([...label("WwW"), ...label("Te\xc4st"), 0])), 0, 30);
    expect(msg.check()).toBe(DnsCheck.OK);
    expect(msg.parse().questions[0]?.nameKey).toBe("\x03www\x05te\xc4st\0");
    expect(nameKeyToText("\x03www\x05te\xc4st\0")).toBe("www.te\\196st");
  });

  it("reads a TTL with the top bit set as 0 (RFC 2181 §8)", () => {
    const bytes = [...RESPONSE_CNAME];
    bytes[58] = 0x80; // A record's TTL, first byte
    const msg = new DnsView().point(new Uint8Array(bytes), 0, bytes.length);
    expect(msg.check()).toBe(DnsCheck.OK);
    expect(msg.parse().answers[1]?.ttlSeconds).toBe(0);
  });

  it("ignores bytes after the last record", () => {
    expect(check([...RESPONSE_CNAME, 0xde, 0xad])).toBe(DnsCheck.OK);
  });
});

describe("rejections (never a throw)", () => {
  it("rejects a pointer to itself", () => {
    expect(check(withQuestion([0xc0, 0x0c]))).toBe(DnsCheck.POINTER_LOOP);
  });

  it("rejects a pointer back into its own run of labels (a → a → …)", () => {
    expect(check(withQuestion([...label("a"), 0xc0, 0x0c]))).toBe(DnsCheck.POINTER_LOOP);
  });

  it("rejects a two-name loop (question → answer owner → question): one of its pointers must go forward", () => {
    // Question @12 "x" then a pointer to the answer owner @20; the owner is "b" then a pointer back to @12.
    const msg = [0x00, 0x01, 0x81, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, ...label("x"), 0xc0, 0x14, 0x00, 0x01, 0x00, 0x01];
    msg.push(...label("b"), 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4);
    expect(check(msg)).toBe(DnsCheck.POINTER_FORWARD);
  });

  it("rejects forward pointers and pointers out of the message or into the header", () => {
    expect(check(withQuestion([0xc0, 0x0f]))).toBe(DnsCheck.POINTER_FORWARD);
    expect(check(withQuestion([0xc0, 0xff]))).toBe(DnsCheck.POINTER_OUT_OF_BOUNDS);
    expect(check(withQuestion([0xc0, 0x05]))).toBe(DnsCheck.POINTER_OUT_OF_BOUNDS);
    expect(check(withQuestion([0xff, 0xff]))).toBe(DnsCheck.POINTER_OUT_OF_BOUNDS);
  });

  it("rejects label types 01 and 10 (a label over 63 bytes)", () => {
    expect(check(withQuestion([0x40, ...new Array<number>(64).fill(0x61), 0]))).toBe(DnsCheck.LABEL_TOO_LONG);
    expect(check(withQuestion([0x80, 0x00]))).toBe(DnsCheck.LABEL_TOO_LONG);
  });

  it("rejects names over 255 bytes, spelled out or assembled through a pointer", () => {
    const l63 = label("a".repeat(63));
    expect(check(withQuestion([...l63, ...l63, ...l63, ...l63, 0]))).toBe(DnsCheck.NAME_TOO_LONG);
    // 3 × 64 + 61-byte label + root = 255: fine.
    expect(check(withQuestion([...l63, ...l63, ...l63, ...label("b".repeat(61)), 0]))).toBe(DnsCheck.OK);
    // Question of 2 × 64 + 1 = 129 bytes; an answer owner with 2 more 63-byte labels pointing to it: 257.
    const msg = [0x00, 0x01, 0x81, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, ...l63, ...l63, 0, 0, 1, 0, 1];
    msg.push(...l63, ...l63, 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4);
    expect(check(msg)).toBe(DnsCheck.NAME_TOO_LONG);
  });

  it("rejects every truncation of a valid response", () => {
    for (const vector of [RESPONSE_CNAME, RESPONSE_NXDOMAIN]) {
      for (let n = 0; n < vector.length; n++) {
        const reason = check(vector, n);
        expect(reason, `cut at ${n}`).toBe(DnsCheck.TRUNCATED);
      }
    }
  });

  it("rejects RDATA that does not match its RDLENGTH", () => {
    const shortA = [...RESPONSE_CNAME];
    shortA[63] = 3; // A RDLENGTH 4 → 3
    expect(check(shortA, shortA.length - 1)).toBe(DnsCheck.BAD_RDATA);
    const longCname = [...RESPONSE_CNAME];
    longCname[45] = 7; // CNAME RDLENGTH 6 → 7: the name ends before the RDATA does
    expect(check(longCname)).toBe(DnsCheck.BAD_RDATA);
    const shortSoa = [...RESPONSE_NXDOMAIN];
    shortSoa[38] = 0x25; // SOA RDLENGTH 38 → 37
    expect(check(shortSoa, shortSoa.length - 1)).toBe(DnsCheck.BAD_RDATA);
  });

  it("has a stats name for every reason", () => {
    expect(DNS_CHECK_NAMES).toHaveLength(Object.keys(DnsCheck).length);
  });
});

describe("never throws on garbage (fast-check)", () => {
  function checkAndParse(bytes: Uint8Array): void {
    const v = new DnsView().point(bytes, 0, bytes.length);
    const reason = v.check();
    expect(reason).toBeGreaterThanOrEqual(0);
    expect(reason).toBeLessThan(DNS_CHECK_NAMES.length);
    if (reason === DnsCheck.OK) {
      const msg = v.parse();
      expect(msg.questions.length).toBe(v.qdCount);
      expect(msg.answers.length + msg.authority.length).toBe(v.anCount + v.nsCount);
    }
  }

  it("random bytes", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => checkAndParse(bytes)), { numRuns: 5000 });
  });

  it("random bytes behind a plausible header (small counts, so sections get walked)", () => {
    const arb = fc.tuple(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 4, maxLength: 4 }), fc.uint8Array({ maxLength: 300 }));
    fc.assert(
      fc.property(arb, ([head, counts, body]) => {
        const bytes = new Uint8Array(12 + body.length);
        bytes.set(head, 0);
        counts.forEach((c, i) => (bytes[5 + 2 * i] = c));
        bytes.set(body, 12);
        checkAndParse(bytes);
      }),
      { numRuns: 5000 },
    );
  });

  it("mutated and cut valid responses", () => {
    const arb = fc.tuple(
      fc.constantFrom(RESPONSE_CNAME, RESPONSE_NXDOMAIN),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
      fc.option(fc.nat(), { nil: undefined }),
    );
    fc.assert(
      fc.property(arb, ([vector, edits, cut]) => {
        const bytes = new Uint8Array(vector);
        for (const [at, value] of edits) bytes[at % bytes.length] = value;
        checkAndParse(cut === undefined ? bytes : bytes.subarray(0, cut % (bytes.length + 1)));
      }),
      { numRuns: 10000 },
    );
  });
});
