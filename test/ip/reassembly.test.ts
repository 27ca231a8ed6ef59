// IPv4 reassembly (RFC 791 §3.2, RFC 815 hole descriptors): any arrival order, duplicates, overlaps,
// inconsistent ends, the 65 535-byte limit, timeouts with ICMP Time Exceeded (RFC 792, RFC 1122 §3.3.2), and
// the bounds on datagrams, bytes and holes. Fragments are built by test/helpers/wire.ts, not by the stack.

import { afterEach, describe, expect, it } from "vitest";
import fc from "fast-check";
import { SimClock } from "../../src/core/clock.js";
import { Scheduler } from "../../src/core/scheduler.js";
import { Prng } from "../../src/core/prng.js";
import { IpFlag, IpProto, Ipv4Check, Ipv4View } from "../../src/ip/ipv4.js";
import { Reassembler, type ReassemblyOptions } from "../../src/ip/reassembly.js";
import { EtherType } from "../../src/eth/ethernet.js";
import type { Stack } from "../../src/stack/stack.js";
import { IP_A, IP_B, MAC_A, MAC_B, Wire, concat, ether, fragments, icmp, ipv4, stackOn, type Ipv4Spec } from "../helpers/wire.js";

let scheduler: Scheduler;
let reassembler: Reassembler;
let timeouts: number[][];

function setup(options: Partial<ReassemblyOptions> = {}): void {
  scheduler = new Scheduler(new SimClock(0));
  reassembler = new Reassembler(scheduler, options);
  timeouts = [];
  reassembler.onTimeout = (bytes, offset, available) => timeouts.push([...bytes.subarray(offset, offset + available)]);
}

afterEach(() => {
  reassembler.clear();
  expect(scheduler.armedLabels()).toEqual([]);
});

const BASE: Omit<Ipv4Spec, "payload"> = { src: IP_A, dst: IP_B, protocol: IpProto.UDP, id: 0x4242, ttl: 64 };

function payloadOf(length: number, seed = 1): Uint8Array {
  const rng = new Prng(seed);
  return Uint8Array.from({ length }, () => rng.below(256));
}

/** Adds one fragment; returns the reassembled datagram's bytes (copied) or null. */
function add(fragment: Uint8Array, nowMs = scheduler.now()): Uint8Array | null {
  const v = new Ipv4View().point(fragment, 0, fragment.length);
  expect(v.check()).toBe(Ipv4Check.OK);
  const r = reassembler.add(v, nowMs);
  return r === null ? null : r.bytes.slice(r.offset, r.offset + r.length);
}

function addAll(frags: Uint8Array[]): (Uint8Array | null)[] {
  return frags.map((f) => add(f));
}

/** The datagram a correct reassembly yields: fragment 0's header with total length set and MF cleared. */
function whole(payload: Uint8Array, base = BASE, flags = 0): Uint8Array {
  return ipv4({ ...base, payload, flags });
}

describe("complete datagrams", () => {
  it("in order", () => {
    setup();
    const p = payloadOf(3000);
    const results = addAll(fragments(BASE, p, 1480));
    expect(results.slice(0, -1)).toEqual([null, null]);
    expect(results.at(-1)).toEqual(whole(p));
    expect(reassembler.stats).toMatchObject({ fragmentsIn: 3, reassembled: 1 });
    expect(reassembler.pending).toBe(0);
  });

  it("in reverse order", () => {
    setup();
    const p = payloadOf(1000);
    const results = addAll(fragments(BASE, p, 64).reverse());
    expect(results.filter((r) => r !== null)).toEqual([whole(p)]);
    expect(results.at(-1)).toEqual(whole(p));
  });

  it("keeps DF from fragment 0 and its options", () => {
    setup();
    const p = payloadOf(40);
    const withOptions = { ...BASE, options: Uint8Array.from([0x94, 0x04, 0x00, 0x00]) };
    const frags = fragments(withOptions, p, 16, 0);
    // Mark fragment 0 DF as a sender that set DF after fragmenting upstream would.
    const f0 = ipv4({ ...withOptions, payload: p.subarray(0, 16), flags: IpFlag.DF | IpFlag.MF });
    const got = addAll([frags[2] as Uint8Array, f0, frags[1] as Uint8Array]).at(-1);
    expect(got).toEqual(whole(p, withOptions, IpFlag.DF));
  });

  it("in any order: any permutation of the fragments of any datagram reassembles to identical bytes", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6000 }), fc.integer({ min: 1, max: 185 }), fc.nat(), (length, units, seed) => {
        // Up to 750 fragments in random order can leave hundreds of holes; the hole bound has its own test.
        setup({ maxHoles: 1000 });
        const p = payloadOf(length, seed);
        const frags = fragments(BASE, p, units * 8);
        // Fisher–Yates with a seeded PRNG.
        const rng = new Prng(seed);
        for (let i = frags.length - 1; i > 0; i--) {
          const j = rng.below(i + 1);
          [frags[i], frags[j]] = [frags[j] as Uint8Array, frags[i] as Uint8Array];
        }
        const results = addAll(frags);
        if (frags.length === 1) {
          // A single "fragment" without MF at offset 0 is not a fragment; the fixture never makes one alone.
          return;
        }
        expect(results.slice(0, -1).every((r) => r === null)).toBe(true);
        const r = results.at(-1) as Uint8Array;
        expect(r).toEqual(whole(p));
        expect(new Ipv4View().point(r, 0, r.length).check()).toBe(Ipv4Check.OK);
        expect(reassembler.pending).toBe(0);
        reassembler.clear();
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it("keeps datagrams apart by (src, dst, id, protocol)", () => {
    setup();
    const p1 = payloadOf(100, 1);
    const p2 = payloadOf(100, 2);
    const other = { ...BASE, protocol: IpProto.TCP };
    const f1 = fragments(BASE, p1, 48);
    const f2 = fragments(other, p2, 48);
    const results = addAll([f1[0], f2[0], f2[1], f1[1], f2[2], f1[2]] as Uint8Array[]);
    expect(results[4]).toEqual(whole(p2, other));
    expect(results[5]).toEqual(whole(p1));
  });
});

describe("duplicates and overlaps", () => {
  it("ignores exact duplicates (the last fragment's too) and still completes", () => {
    setup();
    const p = payloadOf(200);
    const [a, b, c] = fragments(BASE, p, 80) as [Uint8Array, Uint8Array, Uint8Array];
    const results = addAll([a, c, a, c, b]);
    expect(results.slice(0, 4)).toEqual([null, null, null, null]);
    expect(results[4]).toEqual(whole(p));
    expect(reassembler.stats.duplicates).toBe(2);
    // A copy arriving after completion starts a new datagram, which can only time out.
    expect(add(b)).toBeNull();
    expect(reassembler.pending).toBe(1);
  });

  it("ignores a fragment lying wholly inside data already received", () => {
    setup();
    const p = payloadOf(64);
    add(ipv4({ ...BASE, payload: p.subarray(0, 32), flags: IpFlag.MF }));
    expect(add(ipv4({ ...BASE, payload: p.subarray(8, 16), flags: IpFlag.MF, fragmentOffsetBytes: 8 }))).toBeNull();
    expect(reassembler.stats.duplicates).toBe(1);
    expect(add(ipv4({ ...BASE, payload: p.subarray(32), fragmentOffsetBytes: 32 }))).toEqual(whole(p));
  });

  it("drops the whole datagram on a partial overlap and counts it", () => {
    setup();
    const p = payloadOf(48);
    add(ipv4({ ...BASE, payload: p.subarray(0, 16), flags: IpFlag.MF }));
    add(ipv4({ ...BASE, payload: p.subarray(8, 24), flags: IpFlag.MF, fragmentOffsetBytes: 8 }));
    expect(reassembler.stats.dropOverlap).toBe(1);
    expect(reassembler.pending).toBe(0);
    // The rest alone cannot complete it: fragment 0 is gone with the datagram.
    expect(add(ipv4({ ...BASE, payload: p.subarray(16), fragmentOffsetBytes: 16 }))).toBeNull();
    expect(reassembler.pending).toBe(1);
  });

  it("drops on an overlap spanning a hole and received data", () => {
    setup();
    const p = payloadOf(64);
    add(ipv4({ ...BASE, payload: p.subarray(16, 24), flags: IpFlag.MF, fragmentOffsetBytes: 16 }));
    add(ipv4({ ...BASE, payload: p.subarray(0, 32), flags: IpFlag.MF }));
    expect(reassembler.stats.dropOverlap).toBe(1);
  });
});

describe("inconsistent fragments", () => {
  it("drops a second last fragment that ends elsewhere", () => {
    setup();
    const p = payloadOf(64);
    add(ipv4({ ...BASE, payload: p.subarray(32), fragmentOffsetBytes: 32 }));
    add(ipv4({ ...BASE, payload: p.subarray(40, 50), fragmentOffsetBytes: 40 }));
    expect(reassembler.stats.dropInconsistent).toBe(1);
    expect(reassembler.pending).toBe(0);
  });

  it("drops a fragment reaching past the known end", () => {
    setup();
    const p = payloadOf(64);
    add(ipv4({ ...BASE, payload: p.subarray(32, 40), fragmentOffsetBytes: 32 }));
    add(ipv4({ ...BASE, payload: p.subarray(0, 48), flags: IpFlag.MF }));
    expect(reassembler.stats.dropInconsistent).toBe(1);
  });

  it("drops a last fragment when data beyond its end already arrived", () => {
    setup();
    const p = payloadOf(64);
    add(ipv4({ ...BASE, payload: p.subarray(48, 56), flags: IpFlag.MF, fragmentOffsetBytes: 48 }));
    add(ipv4({ ...BASE, payload: p.subarray(8, 16), fragmentOffsetBytes: 8 }));
    expect(reassembler.stats.dropInconsistent).toBe(1);
  });

  it("drops a non-last fragment whose length is not a multiple of 8, and an empty one", () => {
    setup();
    add(ipv4({ ...BASE, payload: payloadOf(12), flags: IpFlag.MF }));
    add(ipv4({ ...BASE, payload: new Uint8Array(0), fragmentOffsetBytes: 8 }));
    expect(reassembler.stats.dropInconsistent).toBe(2);
    expect(reassembler.pending).toBe(0);
  });
});

describe("the 65 535-byte limit (ping of death)", () => {
  it("rejects a fragment ending past 65 535 bytes", () => {
    setup();
    // Offset 65 528 (the largest) + 16 bytes + 20-byte header = 65 564.
    expect(add(ipv4({ ...BASE, payload: payloadOf(16), fragmentOffsetBytes: 65528 }))).toBeNull();
    expect(reassembler.stats.dropTooLong).toBe(1);
    expect(reassembler.pending).toBe(0);
  });

  it("accepts a datagram of exactly 65 535 bytes", () => {
    setup();
    const p = payloadOf(65535 - 20);
    const r = addAll(fragments(BASE, p, 8184)).at(-1);
    expect(r?.length).toBe(65535);
    expect(r).toEqual(whole(p));
  });

  it("rejects a datagram that only exceeds 65 535 bytes with fragment 0's longer header", () => {
    // Every fragment fits on its own (20-byte headers), but fragment 0 carries 40 bytes of options, so the
    // reassembled datagram would be 60 + 65 515 = 65 575 bytes: its total length cannot be represented.
    setup();
    const p = payloadOf(65535 - 20);
    const frags = fragments(BASE, p, 8184);
    frags[0] = ipv4({ ...BASE, options: new Uint8Array(40).fill(1), payload: p.subarray(0, 8184), flags: IpFlag.MF });
    const results = addAll(frags);
    expect(results.every((r) => r === null)).toBe(true);
    expect(reassembler.stats.dropTooLong).toBe(1);
    expect(reassembler.stats.reassembled).toBe(0);
    expect(reassembler.pending).toBe(0);
  });
});

describe("timeout", () => {
  it("expires an incomplete datagram after 15 s, quoting fragment 0's header and 8 bytes", () => {
    setup();
    const p = payloadOf(100);
    const [f0] = fragments(BASE, p, 48) as [Uint8Array];
    add(f0);
    scheduler.advance(14_999);
    expect(timeouts).toEqual([]);
    scheduler.advance(1);
    expect(reassembler.stats.timedOut).toBe(1);
    expect(timeouts).toEqual([[...f0.subarray(0, 28)]]);
    expect(reassembler.pending).toBe(0);
  });

  it("expires silently when fragment 0 never arrived", () => {
    setup();
    const frags = fragments(BASE, payloadOf(100), 48);
    add(frags[1] as Uint8Array);
    add(frags[2] as Uint8Array);
    scheduler.advance(15_000);
    expect(reassembler.stats.timedOut).toBe(1);
    expect(timeouts).toEqual([]);
  });

  it("does not extend the lifetime when more fragments arrive", () => {
    setup({ timeoutMs: 1000 });
    const frags = fragments(BASE, payloadOf(200), 48);
    add(frags[0] as Uint8Array);
    scheduler.advance(900);
    add(frags[1] as Uint8Array);
    scheduler.advance(100);
    expect(reassembler.stats.timedOut).toBe(1);
  });
});

describe("bounds", () => {
  it("evicts the oldest datagram when too many are in progress, and counts it", () => {
    setup({ maxDatagrams: 2 });
    const ps = [1, 2, 3].map((i) => payloadOf(100, i));
    const fs = ps.map((p, i) => fragments({ ...BASE, id: i }, p, 48));
    for (const f of fs) add(f[0] as Uint8Array);
    expect(reassembler.stats.evicted).toBe(1);
    expect(reassembler.pending).toBe(2);
    // Datagram 0 was evicted: its remaining fragments start it afresh and cannot complete it.
    expect(addAll((fs[0] as Uint8Array[]).slice(1)).at(-1)).toBeNull();
    expect(addAll((fs[2] as Uint8Array[]).slice(1)).at(-1)).toEqual(whole(ps[2] as Uint8Array, { ...BASE, id: 2 }));
  });

  it("evicts the oldest datagram when too many bytes are held", () => {
    setup({ maxBytes: 1000 });
    add(fragments({ ...BASE, id: 1 }, payloadOf(2000), 800)[0] as Uint8Array);
    add(fragments({ ...BASE, id: 2 }, payloadOf(2000), 800)[0] as Uint8Array);
    expect(reassembler.stats.evicted).toBe(1);
    expect(reassembler.pending).toBe(1);
  });

  it("drops a datagram with more holes than allowed", () => {
    setup({ maxHoles: 3 });
    const p = payloadOf(128);
    for (const at of [8, 24, 40]) add(ipv4({ ...BASE, payload: p.subarray(at, at + 8), flags: IpFlag.MF, fragmentOffsetBytes: at }));
    expect(reassembler.stats.dropTooManyHoles).toBe(1);
    expect(reassembler.pending).toBe(0);
  });

  it("clear() drops everything and cancels every deadline", () => {
    setup();
    for (let id = 0; id < 5; id++) add(fragments({ ...BASE, id }, payloadOf(100), 48)[0] as Uint8Array);
    expect(scheduler.armedCount).toBe(5);
    reassembler.clear();
    expect(reassembler.pending).toBe(0);
    expect(scheduler.armedCount).toBe(0);
  });
});

describe("through the stack: ICMP Time Exceeded (code 1, fragment reassembly)", () => {
  let wire: Wire;
  let stack: Stack;

  afterEach(() => {
    stack.stop();
    wire.peer.close();
    expect(wire.scheduler.armedLabels()).toEqual([]);
  });

  function echoFragments(dst = IP_B, id = 0x4242): Uint8Array[] {
    const message = icmp(8, 0, 0x00010001, payloadOf(100));
    return fragments({ src: IP_A, dst, protocol: IpProto.ICMP, id, ttl: 64 }, message, 48);
  }

  it("is sent to the source 15 s after fragment 0 arrived, quoting its header and 8 bytes", () => {
    wire = new Wire();
    stack = stackOn(wire);
    stack.netif.neighbors.learn(IP_A, MAC_A, wire.now);
    const [f0] = echoFragments() as [Uint8Array];
    wire.inject(ether(MAC_B, MAC_A, EtherType.IPV4, f0));
    wire.advance(15_000);
    const quote = f0.subarray(0, 28);
    const expected = ether(MAC_A, MAC_B, EtherType.IPV4, ipv4({ src: IP_B, dst: IP_A, protocol: IpProto.ICMP, id: 0x8000, ttl: 64, payload: icmp(11, 1, 0, quote) }));
    expect(wire.take()).toEqual([expected]);
    expect(stack.icmp.stats.txTimeExceeded).toBe(1);
  });

  it("is not sent when fragment 0 never arrived", () => {
    wire = new Wire();
    stack = stackOn(wire);
    stack.netif.neighbors.learn(IP_A, MAC_A, wire.now);
    const frags = echoFragments();
    wire.inject(ether(MAC_B, MAC_A, EtherType.IPV4, frags[1] as Uint8Array));
    wire.advance(15_000);
    expect(wire.take()).toEqual([]);
    expect(stack.ip.reassembler.stats.timedOut).toBe(1);
  });

  it("is not sent about a datagram to a broadcast address (RFC 1122 §3.2.2)", () => {
    wire = new Wire();
    stack = stackOn(wire);
    stack.netif.neighbors.learn(IP_A, MAC_A, wire.now);
    const bcast = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    for (const [dst, id] of [[0x0a0000ff, 1], [0xffffffff, 2]] as const) {
      const [f0] = echoFragments(dst, id) as [Uint8Array];
      wire.inject(ether(bcast, MAC_A, EtherType.IPV4, f0));
    }
    expect(stack.ip.stats.rxFragments).toBe(2);
    wire.advance(15_000);
    expect(stack.ip.reassembler.stats.timedOut).toBe(2);
    expect(wire.take()).toEqual([]);
    expect(stack.icmp.stats.errorsSuppressed).toBe(2);
  });

  it("reassembles and answers a fragmented echo request", () => {
    wire = new Wire();
    stack = stackOn(wire);
    stack.netif.neighbors.learn(IP_A, MAC_A, wire.now);
    for (const f of echoFragments().reverse()) wire.inject(ether(MAC_B, MAC_A, EtherType.IPV4, f));
    const out = wire.take();
    expect(out).toHaveLength(1); // 128-byte reply fits the 1500-byte MTU
    const reply = (out[0] as Uint8Array).subarray(14);
    expect(reply.subarray(20)).toEqual(concat(icmp(0, 0, 0x00010001, payloadOf(100))));
  });
});
