// The frame fuzzer's generators (fast-check arbitraries), shared by the in-memory fuzz test
// (test/fuzz/frames.test.ts: frames fed to a stack's netif) and `npm run stress`'s fuzz section
// (stress/fuzzGen.ts → stress/c/stressnet.c send: frames written into a real TAP's kernel side).
// Frames are addressed between host A (02:00:00:00:00:01, 10.0.0.1: the peer) and host B
// (02:00:00:00:00:02, 10.0.0.2: the stack under test), the identities the scapy vectors were built for.

import fc from "fast-check";
import { EtherType } from "../src/eth/ethernet.js";
import { checksumNaive } from "../src/core/checksum.js";
import { IP_A, IP_B, MAC_A, MAC_B, arp, concat, ether } from "../test/helpers/wire.js";
import { ARP_REQUEST, ECHO_FRAGMENTS, ECHO_REQUEST, PROTO_253_DATAGRAM, TCP_SYN_WITH_OPTIONS, UDP_TO_B, u8 } from "../test/helpers/vectors.js";

/** The stack under test (B) and its peer (A): every generated frame is one A could put on their link. */
export const FUZZ_TARGET = { mac: MAC_B, ip: IP_B } as const;
export const FUZZ_PEER = { mac: MAC_A, ip: IP_A } as const;

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

/** Random bytes, random Ethernet frames, IPv4 datagrams and ARP packets with fields plausible or random. */
export const randomFrame = fc.oneof(
  fc.uint8Array({ maxLength: 2000 }),
  fc.tuple(mac, fc.uint8Array({ minLength: 6, maxLength: 6 }), etherType, fc.uint8Array({ maxLength: 1986 })).map(([d, s, t, body]) => ether(d, s, t, body)),
  ipv4Datagram,
  arpPacket,
);

/** Real frames A → B (the scapy vectors): ARP request and reply, echo and its fragments, UDP, protocol 253, a TCP SYN. */
const VALID: Uint8Array[] = [
  u8(ARP_REQUEST),
  ether(MAC_B, MAC_A, EtherType.ARP, arp(2, MAC_A, IP_A, MAC_B, IP_B)),
  u8(ECHO_REQUEST),
  ...ECHO_FRAGMENTS.map(u8),
  u8(UDP_TO_B),
  ether(MAC_B, MAC_A, EtherType.IPV4, u8(PROTO_253_DATAGRAM)),
  u8(TCP_SYN_WITH_OPTIONS),
];

/** The real frames with a few bit flips (mostly past the Ethernet header, so most reach ARP and IP) or cut short. */
export const mutatedFrame = fc
  .record({
    base: fc.nat({ max: VALID.length - 1 }),
    flips: fc.array(fc.tuple(fc.nat(), fc.nat({ max: 7 })), { maxLength: 6 }),
    cut: fc.option(fc.nat(), { nil: undefined }),
  })
  .map(({ base, flips, cut }) => {
    const f = (VALID[base] as Uint8Array).slice();
    for (const [pos, bit] of flips) {
      const i = f.length > 14 ? 14 + (pos % (f.length - 14)) : pos % f.length;
      f[i] = (f[i] as number) ^ (1 << bit);
    }
    return cut === undefined ? f : f.subarray(0, cut % (f.length + 1));
  });

/** Either kind, half and half. */
export const anyFrame = fc.oneof(randomFrame, mutatedFrame);

/** Offsets of an Ethernet/IPv4 ARP packet's fields in a frame (RFC 826). */
const ARP_AT = { etherType: 12, sha: 22, spa: 28, end: 42 } as const;

/**
 * Leaves the peer's own ARP identity intact: an ARP packet claiming the peer's address (as sender) gets the
 * peer's real MAC as sender hardware address, so RFC 826's merge rule cannot point the stack's neighbour
 * entry for its peer elsewhere. What a fuzzed link must not do when the peer is a real host whose answers
 * (pings, TCP) show the stack still healthy. Rewrites `frame` in place and returns it.
 */
export function keepPeerIdentity(frame: Uint8Array): Uint8Array {
  if (frame.length < ARP_AT.end || frame[ARP_AT.etherType] !== 0x08 || frame[ARP_AT.etherType + 1] !== 0x06) return frame;
  const spa = (((frame[ARP_AT.spa] as number) << 24) | ((frame[ARP_AT.spa + 1] as number) << 16) | ((frame[ARP_AT.spa + 2] as number) << 8) | (frame[ARP_AT.spa + 3] as number)) >>> 0;
  if (spa === FUZZ_PEER.ip) frame.set(FUZZ_PEER.mac, ARP_AT.sha);
  return frame;
}
