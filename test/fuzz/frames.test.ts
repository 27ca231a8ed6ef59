// Fuzzing the frame path with fast-check (fixed seed): random bytes, frames steered at our MAC and IPv4
// header fields, and real ARP / ICMP / fragment / UDP / TCP frames with random bit flips and truncations are
// fed to a running stack's netif.frame(). Nothing may throw, and every frame must end in an outcome counter
// (accepted or a drop reason), so no frame vanishes uncounted. describeFrame must never throw either.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { describeFrame } from "../../src/debug/describe.js";
import { EtherType } from "../../src/eth/ethernet.js";
import { checksumNaive } from "../../src/core/checksum.js";
import type { Stack } from "../../src/stack/stack.js";
import { IP_A, IP_B, MAC_A, MAC_B, Wire, arp, concat, ether, stackOn } from "../helpers/wire.js";
import { ARP_REQUEST, ECHO_FRAGMENTS, ECHO_REQUEST, PROTO_253_DATAGRAM, TCP_SYN_WITH_OPTIONS, UDP_TO_B, u8 } from "../helpers/vectors.js";

const RUNS = { seed: 42, numRuns: 2000 } as const;

let wire: Wire;
let stack: Stack;

beforeAll(() => {
  wire = new Wire();
  stack = stackOn(wire);
});

afterAll(() => {
  stack.stop();
  wire.peer.close();
  // Whatever the fuzzer left half-done (ARP resolutions, reassembly), stop() must cancel it all.
  expect(wire.scheduler.armedLabels()).toEqual([]);
});

/**
 * Counters that record how a frame ended: accepted (ARP handled, IPv4 delivered or taken into reassembly)
 * or dropped for a reason (every `drop*`/`*Drop*` counter of every layer, ignored or conflicting ARP).
 */
function outcomes(): number {
  const s = stack.stats();
  let n = 0;
  for (const [layer, counters] of Object.entries(s)) {
    for (const [name, value] of Object.entries(counters)) {
      const isOutcome =
        /^drop|Drop/.test(name) ||
        (layer === "netif" && ["arpIgnored", "arpConflicts", "arpRxRequests", "arpRxReplies", "arpRxOtherOps"].includes(name)) ||
        (layer === "ip" && ["rxDelivered", "rxFragments"].includes(name));
      if (isOutcome) n += value;
    }
  }
  return n;
}

/** Feeds one frame as the device would (frame, then end of batch) and checks it ended in a counter. */
function feed(bytes: Uint8Array): void {
  const before = outcomes();
  const rxBefore = stack.netif.stats.rxFrames;
  stack.netif.frame(bytes, 0, bytes.length);
  stack.netif.endBatch();
  expect(stack.netif.stats.rxFrames).toBe(rxBefore + 1);
  if (outcomes() <= before) throw new Error(`frame left no outcome counter: ${describeFrame(bytes, 0, bytes.length)} [${[...bytes.subarray(0, 64)].join(",")}]`);
  // Let timers run (ARP retries, reassembly timeouts, ICMP answers onto the wire) and drop the captures.
  wire.advance(7);
  wire.sent.length = 0;
}

const mac = fc.oneof(
  fc.constant(MAC_B),
  fc.constant(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff])),
  fc.constant(new Uint8Array([0x01, 0x00, 0x5e, 0x00, 0x00, 0x01])),
  fc.uint8Array({ minLength: 6, maxLength: 6 }),
);
const addr = fc.oneof(fc.constant(IP_A), fc.constant(IP_B), fc.constant(0), fc.constant(0xffffffff), fc.constant(0x0a0000ff), fc.constant(0xe0000001), fc.nat({ max: 0xffffffff }));
const etherType = fc.oneof(fc.constant(EtherType.IPV4), fc.constant(EtherType.ARP), fc.nat({ max: 0xffff }));

/** An IPv4 header with each field plausible or random, a right or wrong checksum, then random payload. */
const ipv4Datagram = fc
  .record({
    versionIhl: fc.oneof(fc.constant(0x45), fc.constant(0x46), fc.constant(0x4f), fc.nat({ max: 255 })),
    totalLengthDelta: fc.oneof(fc.constant(0), fc.integer({ min: -30, max: 30 }), fc.nat({ max: 0xffff })),
    id: fc.nat({ max: 3 }),
    flagsFragment: fc.oneof(fc.constant(0), fc.constant(0x2000), fc.nat({ max: 0xffff }), fc.integer({ min: 0, max: 40 }).map((u) => 0x2000 | u)),
    protocol: fc.oneof(fc.constant(1), fc.constant(6), fc.constant(17), fc.nat({ max: 255 })),
    src: addr,
    dst: addr,
    goodChecksum: fc.boolean(),
    body: fc.uint8Array({ maxLength: 600 }),
  })
  .map((r) => {
    const b = concat(new Uint8Array(20), r.body);
    const v = new DataView(b.buffer);
    v.setUint8(0, r.versionIhl);
    const total = r.totalLengthDelta === 0 || Math.abs(r.totalLengthDelta) <= 30 ? b.length + r.totalLengthDelta : r.totalLengthDelta;
    v.setUint16(2, Math.max(0, Math.min(0xffff, total)));
    v.setUint16(4, r.id);
    v.setUint16(6, r.flagsFragment);
    v.setUint8(8, 64);
    v.setUint8(9, r.protocol);
    v.setUint32(12, r.src);
    v.setUint32(16, r.dst);
    const ihl = Math.min(b.length, (r.versionIhl & 0xf) * 4);
    if (r.goodChecksum) v.setUint16(10, checksumNaive(b, 0, ihl));
    return ether(MAC_B, MAC_A, EtherType.IPV4, b);
  });

/** ARP packets with each field plausible or random. */
const arpPacket = fc
  .record({ op: fc.oneof(fc.constant(1), fc.constant(2), fc.nat({ max: 0xffff })), spa: addr, tpa: addr, sha: fc.uint8Array({ minLength: 6, maxLength: 6 }), dst: mac })
  .map((r) => ether(r.dst, r.sha, EtherType.ARP, arp(r.op, r.sha, r.spa, new Uint8Array(6), r.tpa)));

const randomFrame = fc.oneof(
  fc.uint8Array({ maxLength: 2000 }),
  fc.tuple(mac, fc.uint8Array({ minLength: 6, maxLength: 6 }), etherType, fc.uint8Array({ maxLength: 1986 })).map(([d, s, t, body]) => ether(d, s, t, body)),
  ipv4Datagram,
  arpPacket,
);

const VALID: Uint8Array[] = [
  u8(ARP_REQUEST),
  ether(MAC_B, MAC_A, EtherType.ARP, arp(2, MAC_A, IP_A, MAC_B, IP_B)),
  u8(ECHO_REQUEST),
  ...ECHO_FRAGMENTS.map(u8),
  u8(UDP_TO_B),
  ether(MAC_B, MAC_A, EtherType.IPV4, u8(PROTO_253_DATAGRAM)),
  u8(TCP_SYN_WITH_OPTIONS),
];
// The fragment vectors are addressed A → B already; so is everything else above.

const mutatedFrame = fc
  .record({
    base: fc.nat({ max: VALID.length - 1 }),
    flips: fc.array(fc.tuple(fc.nat(), fc.nat({ max: 7 })), { maxLength: 6 }),
    cut: fc.option(fc.nat(), { nil: undefined }),
  })
  .map(({ base, flips, cut }) => {
    const f = (VALID[base] as Uint8Array).slice();
    // Flip bits past the Ethernet header mostly, so most mutants reach ARP and IP.
    for (const [pos, bit] of flips) {
      const i = f.length > 14 ? 14 + (pos % (f.length - 14)) : pos % f.length;
      f[i] = (f[i] as number) ^ (1 << bit);
    }
    return cut === undefined ? f : f.subarray(0, cut % (f.length + 1));
  });

describe("frame path fuzzing", () => {
  it("never throws on random frames, and counts every one", () => {
    fc.assert(fc.property(randomFrame, (bytes) => feed(bytes)), RUNS);
    expect(stack.netif.stats.dropNotForUs).toBeGreaterThan(0);
    expect(stack.ip.stats.rxPackets).toBeGreaterThan(0);
  });

  it("never throws on mutated real frames (bit flips, truncations), and counts every one", () => {
    fc.assert(fc.property(mutatedFrame, (bytes) => feed(bytes)), RUNS);
    // The mutants reached deep: checksums failed, fragments were held, ARP was answered.
    expect(stack.ip.stats.dropBadChecksum).toBeGreaterThan(0);
    expect(stack.ip.stats.rxFragments).toBeGreaterThan(0);
    expect(stack.netif.stats.arpTxReplies).toBeGreaterThan(0);
    expect(stack.icmp.stats.rxEchoRequests).toBeGreaterThan(0);
  });

  it("keeps its bounds after the fuzzing", () => {
    expect(stack.ip.reassembler.pending).toBeLessThanOrEqual(16);
    expect(stack.netif.neighbors.size).toBeLessThanOrEqual(64);
  });
});

describe("describeFrame fuzzing", () => {
  it("never throws on random bytes at any offset and length", () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 2000 }), randomFrame, mutatedFrame), fc.nat(), fc.nat(), (bytes, a, b) => {
        const offset = a % (bytes.length + 1);
        const length = b % (bytes.length - offset + 1);
        expect(typeof describeFrame(bytes, offset, length)).toBe("string");
        expect(typeof describeFrame(bytes, 0, bytes.length)).toBe("string");
      }),
      RUNS,
    );
  });
});
