// RingPool: byte-ring stores given back by rings (grown past them, compacted, released) and handed to the
// next taker of their size. A store is handed out once at a time, only for its own size; the pool never holds
// more than its cap in bytes (the rest goes to the garbage collector, counted); EMPTY_RING, what released
// PCBs point at, holds nothing. Rings built on a pool take and give through it. Then random take/give
// sequences against a byte count per size.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ByteRing } from "../../src/core/ring.js";
import { EMPTY_RING, RingPool } from "../../src/core/ringPool.js";

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);

describe("RingPool", () => {
  it("hands out a fresh store of the size asked for when it holds none", () => {
    const pool = new RingPool();
    const buf = pool.take(4096);
    expect(buf.length).toBe(4096);
    expect([pool.size, pool.heldBytes, pool.allocated, pool.reused]).toEqual([0, 0, 1, 0]);
  });

  it("gives a store back to the next taker of its size, and only of its size", () => {
    const pool = new RingPool();
    const small = pool.take(1024);
    pool.give(small);
    expect([pool.size, pool.heldBytes]).toEqual([1, 1024]);
    const big = pool.take(2048);
    expect(big).not.toBe(small);
    expect(pool.take(1024)).toBe(small);
    expect([pool.size, pool.heldBytes, pool.reused]).toEqual([0, 0, 1]);
  });

  it("never hands the same store to two takers", () => {
    const pool = new RingPool();
    const stores = [pool.take(32), pool.take(32), pool.take(32)];
    for (const s of stores) pool.give(s);
    const taken = [pool.take(32), pool.take(32), pool.take(32), pool.take(32)];
    expect(new Set(taken).size).toBe(4);
    expect(taken.filter((s) => stores.includes(s))).toHaveLength(3);
  });

  it("holds at most its cap in bytes and leaves the rest to the garbage collector", () => {
    const pool = new RingPool(10_000);
    const stores: Uint8Array[] = [4096, 4096, 4096, 1024, 512].map((n) => new Uint8Array(n));
    for (const s of stores) pool.give(s);
    // 4096 + 4096 fit, a third 4096 would make 12 288 and is dropped; then 1024 (9 216) and 512 (9 728) fit.
    expect(pool.heldBytes).toBe(4096 + 4096 + 1024 + 512);
    expect(pool.heldBytes).toBeLessThanOrEqual(10_000);
    expect(pool.dropped).toBe(1);
    expect(pool.take(4096)).toBe(stores[1]);
    expect(pool.take(4096)).toBe(stores[0]);
    expect(stores.slice(0, 3).includes(pool.take(4096))).toBe(false); // the dropped one is gone: a fresh store
  });

  it("a cap of 0 pools nothing", () => {
    const pool = new RingPool(0);
    const buf = pool.take(8);
    pool.give(buf);
    expect([pool.size, pool.heldBytes, pool.dropped]).toEqual([0, 0, 1]);
    expect(pool.take(8)).not.toBe(buf);
  });

  it("keeps nothing that is not a power of two, and nothing empty", () => {
    const pool = new RingPool();
    pool.give(new Uint8Array(1000));
    pool.give(new Uint8Array(0));
    expect(pool.size).toBe(0);
  });

  it("clear drops every idle store", () => {
    const pool = new RingPool();
    pool.give(pool.take(64));
    pool.clear();
    expect([pool.size, pool.heldBytes]).toEqual([0, 0]);
  });

  it("EMPTY_RING holds, takes and gives nothing", () => {
    expect([EMPTY_RING.capacity, EMPTY_RING.storageBytes]).toEqual([0, 0]);
    expect(EMPTY_RING.write(bytes(1), 0, 1)).toBe(0);
    expect(EMPTY_RING.read(new Uint8Array(1), 0, 1)).toBe(0);
    EMPTY_RING.release();
    expect([EMPTY_RING.length, EMPTY_RING.free, EMPTY_RING.storageBytes]).toEqual([0, 0, 0]);
  });

  it("rings on a pool take their stores from it as they grow and give them back", () => {
    const pool = new RingPool(1 << 20);
    const ring = new ByteRing(64 * 1024, pool);
    ring.write(new Uint8Array(5000), 0, 5000); // a 8 KiB store (the first 4 KiB one was skipped: 5000 > 4096)
    expect([ring.storageBytes, pool.allocated]).toEqual([8192, 1]);
    ring.write(new Uint8Array(5000), 0, 5000); // 16 KiB; the 8 KiB store goes back
    expect([ring.storageBytes, pool.heldBytes]).toEqual([16384, 8192]);
    ring.release();
    expect([ring.storageBytes, pool.heldBytes]).toEqual([0, 8192 + 16384]);
    // The next ring (another connection) reuses those stores: no allocation.
    const next = new ByteRing(64 * 1024, pool);
    next.write(new Uint8Array(6000), 0, 6000);
    expect([next.storageBytes, pool.allocated, pool.reused]).toEqual([8192, 2, 1]);
  });
});

type PoolOp = { op: "take"; size: number } | { op: "give"; index: number };

describe("RingPool against a model", () => {
  const sizes = [8, 16, 64];
  const opArb: fc.Arbitrary<PoolOp> = fc.oneof(
    fc.record({ op: fc.constant("take" as const), size: fc.constantFrom(...sizes) }),
    fc.record({ op: fc.constant("give" as const), index: fc.nat({ max: 20 }) }),
  );

  it("keeps a store given back exactly when it fits under the cap; reuses one exactly when it holds its size", () => {
    fc.assert(
      fc.property(fc.nat({ max: 200 }), fc.array(opArb, { maxLength: 60 }), (cap, ops) => {
        const pool = new RingPool(cap);
        const held: Uint8Array[] = []; // stores out in use
        const pooled = new Map<number, number>(sizes.map((n) => [n, 0])); // the model: idle stores by size
        let pooledBytes = 0;
        let reused = 0;
        for (const o of ops) {
          if (o.op === "take") {
            const buf = pool.take(o.size);
            expect(held.includes(buf)).toBe(false);
            expect(buf.length).toBe(o.size);
            held.push(buf);
            const idle = pooled.get(o.size) as number;
            if (idle > 0) {
              pooled.set(o.size, idle - 1);
              pooledBytes -= o.size;
              reused++;
            }
          } else if (held.length > 0) {
            const [buf] = held.splice(o.index % held.length, 1) as [Uint8Array];
            pool.give(buf);
            if (pooledBytes + buf.length <= cap) {
              pooled.set(buf.length, (pooled.get(buf.length) as number) + 1);
              pooledBytes += buf.length;
            }
          }
          expect([pool.heldBytes, pool.reused]).toEqual([pooledBytes, reused]);
          expect(pool.heldBytes).toBeLessThanOrEqual(cap);
          expect(pool.size).toBe([...pooled.values()].reduce((a, b) => a + b, 0));
        }
      }),
      { seed: 0x9001, numRuns: 1000 },
    );
  });
});
