// RingPool: byte rings of released TCP PCBs reused by the next ones. A reused ring must come back empty (no
// bytes of the last connection readable, none parked), of the capacity asked for, never to two takers at
// once; the pool is bounded per capacity; EMPTY_RING, what released PCBs point at, is never pooled. Then random
// take/give sequences against a count per capacity.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ByteRing } from "../../src/core/ring.js";
import { EMPTY_RING, RingPool } from "../../src/core/ringPool.js";

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);

describe("RingPool", () => {
  it("hands out a fresh, empty ring of the capacity asked for when it holds none", () => {
    const pool = new RingPool();
    const ring = pool.take(1000);
    expect([ring.capacity, ring.length, ring.free]).toEqual([1000, 0, 1000]);
    expect(pool.size).toBe(0);
  });

  it("gives a released ring to the next taker of its capacity, emptied", () => {
    const pool = new RingPool();
    const ring = pool.take(64);
    ring.write(bytes(1, 2, 3), 0, 3);
    ring.writeAt(2, bytes(9, 9), 0, 2); // out-of-order bytes parked beyond the tail
    pool.give(ring);
    expect(pool.size).toBe(1);
    const again = pool.take(64);
    expect(again).toBe(ring);
    expect([again.length, again.free]).toEqual([0, 64]);
    expect(again.read(new Uint8Array(8), 0, 8)).toBe(0);
    expect(pool.size).toBe(0);
  });

  it("never hands the same ring to two takers", () => {
    const pool = new RingPool();
    const rings = [pool.take(32), pool.take(32), pool.take(32)];
    for (const r of rings) pool.give(r);
    const taken = [pool.take(32), pool.take(32), pool.take(32), pool.take(32)];
    expect(new Set(taken).size).toBe(4);
    expect(taken.filter((r) => rings.includes(r))).toHaveLength(3);
  });

  it("keeps capacities apart: a ring is only reused for its own capacity", () => {
    const pool = new RingPool();
    const small = pool.take(1024);
    pool.give(small);
    const big = pool.take(2048);
    expect(big).not.toBe(small);
    expect(big.capacity).toBe(2048);
    expect(pool.size).toBe(1);
    // 1000 and 1024 share a 1024-byte backing store but are different capacities.
    const odd = pool.take(1000);
    expect(odd).not.toBe(small);
    expect(odd.capacity).toBe(1000);
    expect(pool.take(1024)).toBe(small);
  });

  it("holds at most maxPerSize rings of each capacity and leaves the rest to the garbage collector", () => {
    const pool = new RingPool(2);
    const a = [new ByteRing(16), new ByteRing(16), new ByteRing(16)];
    const b = [new ByteRing(32), new ByteRing(32)];
    for (const r of [...a, ...b]) pool.give(r);
    expect(pool.size).toBe(4);
    const back = [pool.take(16), pool.take(16), pool.take(16)];
    expect(back.filter((r) => a.includes(r))).toHaveLength(2);
    expect(a.includes(back[2] as ByteRing)).toBe(false); // the third is fresh
  });

  it("a bound of 0 pools nothing", () => {
    const pool = new RingPool(0);
    const ring = pool.take(8);
    pool.give(ring);
    expect(pool.size).toBe(0);
    expect(pool.take(8)).not.toBe(ring);
  });

  it("never pools EMPTY_RING, which reads and writes nothing", () => {
    const pool = new RingPool();
    pool.give(EMPTY_RING);
    pool.give(EMPTY_RING);
    expect(pool.size).toBe(0);
    expect(pool.take(0)).not.toBe(EMPTY_RING);
    expect(EMPTY_RING.capacity).toBe(0);
    expect(EMPTY_RING.write(bytes(1), 0, 1)).toBe(0);
    expect(EMPTY_RING.read(new Uint8Array(1), 0, 1)).toBe(0);
    expect([EMPTY_RING.length, EMPTY_RING.free]).toEqual([0, 0]);
  });
});

type PoolOp = { op: "take"; capacity: number } | { op: "give"; index: number };

describe("RingPool against a model", () => {
  const capacities = [8, 12, 16];
  const opArb: fc.Arbitrary<PoolOp> = fc.oneof(
    fc.record({ op: fc.constant("take" as const), capacity: fc.constantFrom(...capacities) }),
    fc.record({ op: fc.constant("give" as const), index: fc.nat({ max: 20 }) }),
  );

  it("pools up to the bound per capacity; every ring taken is empty, of its capacity and held by one taker", () => {
    fc.assert(
      fc.property(fc.nat({ max: 3 }), fc.array(opArb, { maxLength: 60 }), (maxPerSize, ops) => {
        const pool = new RingPool(maxPerSize);
        const held: ByteRing[] = []; // rings out in use
        const pooled = new Map<number, number>(capacities.map((c) => [c, 0]));
        for (const o of ops) {
          if (o.op === "take") {
            const ring = pool.take(o.capacity);
            expect(held.includes(ring)).toBe(false);
            expect([ring.capacity, ring.length, ring.free]).toEqual([o.capacity, 0, o.capacity]);
            pooled.set(o.capacity, Math.max(0, (pooled.get(o.capacity) as number) - 1));
            // Dirty it, as a connection would, so reuse must clear it.
            ring.write(bytes(1, 2, 3), 0, 3);
            held.push(ring);
          } else if (held.length > 0) {
            const [ring] = held.splice(o.index % held.length, 1) as [ByteRing];
            pool.give(ring);
            pooled.set(ring.capacity, Math.min(maxPerSize, (pooled.get(ring.capacity) as number) + 1));
          }
          expect(pool.size).toBe([...pooled.values()].reduce((a, b) => a + b, 0));
        }
      }),
      { seed: 0x9001, numRuns: 1000 },
    );
  });
});
