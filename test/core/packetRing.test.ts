// PacketRing: the bounded datagram queue of a UDP or raw PCB. Unit tests for empty, full by count and full by
// bytes, zero-length datagrams, truncating and peeking pops, per-datagram addresses, and the wrap of both the
// metadata slots and the byte ring; then random push/pop sequences against a queue of plain objects.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PacketRing } from "../../src/core/packetRing.js";

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);

function push(q: PacketRing, data: Uint8Array, srcIp = 0x0a000001, srcPort = 5000, dstIp = 0x0a000002): boolean {
  return q.push(data, 0, data.length, srcIp, srcPort, dstIp);
}

function pop(q: PacketRing, max = 1500, peek = false): number[] {
  const dst = new Uint8Array(max);
  const n = q.pop(dst, 0, max, peek);
  return [...dst.subarray(0, n)];
}

describe("PacketRing", () => {
  it("starts empty: nextLength -1, pop copies nothing", () => {
    const q = new PacketRing(4, 100);
    expect([q.length, q.isEmpty, q.nextLength]).toEqual([0, true, -1]);
    const dst = new Uint8Array(4).fill(0xa5);
    expect(q.pop(dst, 0, 4)).toBe(0);
    expect([...dst]).toEqual([0xa5, 0xa5, 0xa5, 0xa5]);
  });

  it("keeps datagrams whole and in order, each with its own addresses", () => {
    const q = new PacketRing(4, 100);
    expect(push(q, bytes(1, 2, 3), 0x0a000001, 1111, 0x0a000002)).toBe(true);
    expect(push(q, bytes(4), 0xc0a80001, 2222, 0xe0000001)).toBe(true);
    expect([q.length, q.isEmpty, q.nextLength]).toEqual([2, false, 3]);
    expect([q.nextSrcIp, q.nextSrcPort, q.nextDstIp]).toEqual([0x0a000001, 1111, 0x0a000002]);
    expect(pop(q)).toEqual([1, 2, 3]);
    expect([q.nextLength, q.nextSrcIp, q.nextSrcPort, q.nextDstIp]).toEqual([1, 0xc0a80001, 2222, 0xe0000001]);
    expect(pop(q)).toEqual([4]);
    expect(q.isEmpty).toBe(true);
  });

  it("stores addresses as u32 whatever sign they arrive with", () => {
    const q = new PacketRing(2, 10);
    q.push(bytes(1), 0, 1, 0xffffffff | 0, 65535, 0xe0000001 | 0);
    expect([q.nextSrcIp, q.nextSrcPort, q.nextDstIp]).toEqual([0xffffffff, 65535, 0xe0000001]);
  });

  it("copies the datagram: later changes to the caller's buffer do not show", () => {
    const q = new PacketRing(2, 10);
    const data = bytes(9, 9, 1, 2, 9);
    expect(q.push(data, 2, 2, 1, 2, 3)).toBe(true);
    data.fill(0);
    expect(pop(q)).toEqual([1, 2]);
  });

  it("refuses a datagram when the count is reached, queueing nothing", () => {
    const q = new PacketRing(2, 100);
    expect(push(q, bytes(1))).toBe(true);
    expect(push(q, bytes(2))).toBe(true);
    expect(push(q, bytes(3))).toBe(false);
    expect(q.length).toBe(2);
    expect(pop(q)).toEqual([1]);
    expect(push(q, bytes(3))).toBe(true);
    expect([pop(q), pop(q)]).toEqual([[2], [3]]);
  });

  it("refuses a datagram that would exceed the byte bound, whole (never a truncated part)", () => {
    const q = new PacketRing(8, 10);
    expect(push(q, new Uint8Array(6))).toBe(true);
    expect(push(q, new Uint8Array(5))).toBe(false);
    expect(push(q, new Uint8Array(4))).toBe(true); // exactly full
    expect(push(q, new Uint8Array(1))).toBe(false);
    expect(push(q, new Uint8Array(0))).toBe(true); // an empty datagram needs a slot, not bytes
    expect([q.length, q.nextLength]).toEqual([3, 6]);
  });

  it("a datagram larger than the whole byte bound never fits", () => {
    const q = new PacketRing(4, 10);
    expect(push(q, new Uint8Array(11))).toBe(false);
    expect(q.isEmpty).toBe(true);
  });

  it("queues zero-length datagrams as datagrams (nextLength 0, not -1)", () => {
    const q = new PacketRing(3, 10);
    expect(push(q, new Uint8Array(0), 7, 8, 9)).toBe(true);
    expect([q.length, q.nextLength, q.nextSrcIp]).toEqual([1, 0, 7]);
    expect(pop(q)).toEqual([]);
    expect([q.length, q.nextLength]).toEqual([0, -1]);
  });

  it("a pop shorter than the datagram copies its start and discards the rest, as recvfrom does", () => {
    const q = new PacketRing(4, 100);
    push(q, bytes(1, 2, 3, 4, 5));
    push(q, bytes(6, 7));
    expect(pop(q, 2)).toEqual([1, 2]);
    expect(pop(q)).toEqual([6, 7]);
    expect(q.isEmpty).toBe(true);
  });

  it("a peek copies without removing, truncated or whole", () => {
    const q = new PacketRing(4, 100);
    push(q, bytes(1, 2, 3), 0x0a000009, 53);
    expect(pop(q, 2, true)).toEqual([1, 2]);
    expect(pop(q, 10, true)).toEqual([1, 2, 3]);
    expect([q.length, q.nextLength, q.nextSrcIp, q.nextSrcPort]).toEqual([1, 3, 0x0a000009, 53]);
    expect(pop(q)).toEqual([1, 2, 3]);
  });

  it("pops into the middle of the caller's buffer", () => {
    const q = new PacketRing(2, 10);
    push(q, bytes(1, 2));
    const dst = new Uint8Array(5).fill(0xa5);
    expect(q.pop(dst, 2, 3)).toBe(2);
    expect([...dst]).toEqual([0xa5, 0xa5, 1, 2, 0xa5]);
  });

  it("wraps both the slots and the bytes: many times its bounds go through in order", () => {
    const q = new PacketRing(3, 7); // neither bound a power of two
    const expected: number[][] = [];
    let next = 0;
    let accepted = 0;
    for (let round = 0; round < 60; round++) {
      const data = Uint8Array.from({ length: round % 4 }, () => next++ & 0xff);
      if (push(q, data, round, round)) {
        expected.push([...data]);
        accepted++;
      }
      if (round % 3 !== 1 && !q.isEmpty) expect(pop(q)).toEqual(expected.shift());
    }
    while (!q.isEmpty) expect(pop(q)).toEqual(expected.shift());
    expect(expected).toEqual([]);
    expect(accepted).toBeGreaterThan(30); // ten times the slots, several times the bytes
  });

  it("clear empties it and frees both bounds", () => {
    const q = new PacketRing(2, 4);
    push(q, bytes(1, 2, 3));
    push(q, bytes(4));
    q.clear();
    expect([q.length, q.isEmpty, q.nextLength]).toEqual([0, true, -1]);
    expect(push(q, bytes(5, 6, 7, 8))).toBe(true);
    expect(push(q, new Uint8Array(0))).toBe(true);
    expect(pop(q)).toEqual([5, 6, 7, 8]);
  });
});

interface Datagram {
  data: number[];
  srcIp: number;
  srcPort: number;
  dstIp: number;
}

type QueueOp = { op: "push"; d: Datagram } | { op: "pop"; max: number; peek: boolean } | { op: "clear" };

describe("PacketRing against a model", () => {
  const datagram: fc.Arbitrary<Datagram> = fc.record({
    data: fc.array(fc.nat({ max: 255 }), { maxLength: 12 }),
    srcIp: fc.nat({ max: 0xffffffff }),
    srcPort: fc.nat({ max: 65535 }),
    dstIp: fc.nat({ max: 0xffffffff }),
  });
  const opArb: fc.Arbitrary<QueueOp> = fc.oneof(
    { weight: 5, arbitrary: fc.record({ op: fc.constant("push" as const), d: datagram }) },
    { weight: 4, arbitrary: fc.record({ op: fc.constant("pop" as const), max: fc.nat({ max: 14 }), peek: fc.boolean() }) },
    { weight: 1, arbitrary: fc.constant({ op: "clear" as const }) },
  );

  it("behaves as a FIFO of whole datagrams bounded in count and bytes", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.nat({ max: 40 }), fc.array(opArb, { maxLength: 80 }), (maxPackets, maxBytes, ops) => {
        const q = new PacketRing(maxPackets, maxBytes);
        let model: Datagram[] = [];
        const bytesHeld = (): number => model.reduce((n, d) => n + d.data.length, 0);
        for (const o of ops) {
          if (o.op === "push") {
            const fits = model.length < maxPackets && bytesHeld() + o.d.data.length <= maxBytes;
            expect(q.push(Uint8Array.from(o.d.data), 0, o.d.data.length, o.d.srcIp, o.d.srcPort, o.d.dstIp)).toBe(fits);
            if (fits) model.push(o.d);
          } else if (o.op === "pop") {
            const head = model[0];
            const dst = new Uint8Array(o.max);
            const n = q.pop(dst, 0, o.max, o.peek);
            expect([...dst.subarray(0, n)]).toEqual(head === undefined ? [] : head.data.slice(0, o.max));
            if (!o.peek) model.shift();
          } else {
            q.clear();
            model = [];
          }
          const head = model[0];
          expect([q.length, q.isEmpty, q.nextLength]).toEqual([model.length, model.length === 0, head?.data.length ?? -1]);
          if (head !== undefined) expect([q.nextSrcIp, q.nextSrcPort, q.nextDstIp]).toEqual([head.srcIp, head.srcPort, head.dstIp]);
        }
      }),
      { seed: 0xd06, numRuns: 1500 },
    );
  });
});
