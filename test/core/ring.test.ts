// ByteRing: the byte buffer of each TCP direction. Unit tests for empty, full, partial writes, every bounds
// check and the wrap at the end of the backing store (which is the capacity rounded up to a power of two, so
// capacities that are not powers of two wrap before they fill); then the receive pattern — out-of-order bytes
// parked beyond the tail with writeAt survive reads and become readable with commit; last, random operation
// sequences against a reference model made of plain arrays. Then the store apart from the capacity: none
// until the first byte, doubling as bytes must be stored (readable and parked bytes kept in order across the
// wrap), never beyond the capacity's power of two, shrunk by compact and given back by release; the model
// runs again with tiny first stores so that every sequence grows and shrinks the store.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ByteRing, HEAP_STORAGE, MIN_RING_STORAGE, type RingStorage } from "../../src/core/ring.js";

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);
const range = (from: number, count: number): Uint8Array => Uint8Array.from({ length: count }, (_, i) => (from + i) & 0xff);

/** Every readable byte, read through peek (which consumes nothing). */
function contents(ring: ByteRing): number[] {
  const out = new Uint8Array(ring.length);
  ring.peek(0, out, 0, ring.length);
  return [...out];
}

/** Moves the head `by` bytes into the store, leaving the ring empty, so the next write starts there. */
function emptyAt(ring: ByteRing, by: number): void {
  ring.write(new Uint8Array(by), 0, by);
  ring.discard(by);
}

describe("ByteRing", () => {
  it("starts empty with the capacity asked for, not the power of two behind it", () => {
    for (const capacity of [0, 1, 5, 8, 1000]) {
      const ring = new ByteRing(capacity);
      expect([ring.capacity, ring.length, ring.free]).toEqual([capacity, 0, capacity]);
      expect(contents(ring)).toEqual([]);
    }
  });

  it("reads nothing from an empty ring", () => {
    const ring = new ByteRing(8);
    const dst = new Uint8Array(4).fill(0xa5);
    expect(ring.read(dst, 0, 4)).toBe(0);
    expect([...dst]).toEqual([0xa5, 0xa5, 0xa5, 0xa5]);
    expect(ring.indexOf(0)).toBe(-1);
  });

  it("takes what fits and reports it: a write into a full or nearly full ring is partial", () => {
    const ring = new ByteRing(5);
    expect(ring.write(bytes(1, 2, 3), 0, 3)).toBe(3);
    expect(ring.write(bytes(4, 5, 6, 7), 0, 4)).toBe(2);
    expect([ring.length, ring.free]).toEqual([5, 0]);
    expect(ring.write(bytes(8), 0, 1)).toBe(0);
    expect(contents(ring)).toEqual([1, 2, 3, 4, 5]);
  });

  it("writes from and reads into the middle of caller buffers", () => {
    const ring = new ByteRing(8);
    expect(ring.write(bytes(9, 9, 1, 2, 3, 9), 2, 3)).toBe(3);
    const dst = new Uint8Array(6).fill(0xa5);
    expect(ring.read(dst, 1, 10)).toBe(3);
    expect([...dst]).toEqual([0xa5, 1, 2, 3, 0xa5, 0xa5]);
    expect(ring.length).toBe(0);
  });

  it("keeps byte order across the end of the backing store, for reads, peeks, byteAt and indexOf", () => {
    // Capacity 6 sits in an 8-byte store: starting at 5, six bytes occupy 5, 6, 7, 0, 1, 2.
    const ring = new ByteRing(6);
    emptyAt(ring, 5);
    expect(ring.write(range(10, 6), 0, 6)).toBe(6);
    expect(contents(ring)).toEqual([10, 11, 12, 13, 14, 15]);
    expect([0, 2, 3, 5].map((at) => ring.byteAt(at))).toEqual([10, 12, 13, 15]);
    expect(ring.indexOf(14)).toBe(4);
    expect(ring.indexOf(11, 2)).toBe(-1);
    const mid = new Uint8Array(4);
    ring.peek(1, mid, 0, 4);
    expect([...mid]).toEqual([11, 12, 13, 14]);
    const dst = new Uint8Array(6);
    expect(ring.read(dst, 0, 6)).toBe(6);
    expect([...dst]).toEqual([10, 11, 12, 13, 14, 15]);
  });

  it("wraps a power-of-two ring exactly at its capacity", () => {
    const ring = new ByteRing(4);
    emptyAt(ring, 3);
    ring.write(bytes(1, 2, 3, 4), 0, 4);
    expect(contents(ring)).toEqual([1, 2, 3, 4]);
    ring.discard(2);
    ring.write(bytes(5, 6), 0, 2);
    expect(contents(ring)).toEqual([3, 4, 5, 6]);
  });

  it("streams many times its capacity through, in order", () => {
    const ring = new ByteRing(7);
    const out: number[] = [];
    const dst = new Uint8Array(7);
    let next = 0;
    for (let round = 0; round < 50; round++) {
      const chunk = range(next, 1 + (round % 7));
      next += ring.write(chunk, 0, chunk.length);
      const n = ring.read(dst, 0, 1 + ((round * 3) % 7));
      out.push(...dst.subarray(0, n));
    }
    out.push(...contents(ring));
    expect(out).toEqual([...range(0, next)]);
  });

  it("peeks without consuming, and discard drops from the head", () => {
    const ring = new ByteRing(8);
    ring.write(bytes(1, 2, 3, 4, 5), 0, 5);
    const dst = new Uint8Array(2);
    ring.peek(3, dst, 0, 2);
    expect([...dst]).toEqual([4, 5]);
    expect(ring.length).toBe(5);
    ring.discard(2);
    expect(contents(ring)).toEqual([3, 4, 5]);
    ring.discard(0);
    expect(ring.length).toBe(3);
  });

  it("refuses peeks and discards outside the readable bytes", () => {
    const ring = new ByteRing(8);
    ring.write(bytes(1, 2, 3), 0, 3);
    const dst = new Uint8Array(8);
    expect(() => ring.peek(0, dst, 0, 4)).toThrow(RangeError);
    expect(() => ring.peek(2, dst, 0, 2)).toThrow(RangeError);
    expect(() => ring.peek(-1, dst, 0, 1)).toThrow(RangeError);
    expect(() => ring.discard(4)).toThrow(RangeError);
    expect(() => ring.discard(-1)).toThrow(RangeError);
    ring.peek(3, dst, 0, 0); // an empty peek at the tail is in range
    expect(contents(ring)).toEqual([1, 2, 3]);
  });

  it("finds a byte from a starting position", () => {
    const ring = new ByteRing(16);
    ring.write(bytes(10, 13, 10, 13, 10), 0, 5);
    expect(ring.indexOf(10)).toBe(0);
    expect(ring.indexOf(10, 1)).toBe(2);
    expect(ring.indexOf(13, 4)).toBe(-1);
    expect(ring.indexOf(10, 5)).toBe(-1);
    expect(ring.indexOf(99)).toBe(-1);
  });

  it("clear empties it and gives back the whole capacity", () => {
    const ring = new ByteRing(6);
    emptyAt(ring, 5);
    ring.write(range(0, 6), 0, 6);
    ring.clear();
    expect([ring.length, ring.free]).toEqual([0, 6]);
    ring.write(bytes(7, 8), 0, 2);
    expect(contents(ring)).toEqual([7, 8]);
  });

  it("a ring of capacity 0 takes and gives nothing", () => {
    const ring = new ByteRing(0);
    expect(ring.write(bytes(1), 0, 1)).toBe(0);
    expect(ring.read(new Uint8Array(1), 0, 1)).toBe(0);
    expect(() => ring.writeAt(0, bytes(1), 0, 1)).toThrow(RangeError);
    expect(() => ring.commit(1)).toThrow(RangeError);
    expect([ring.length, ring.free]).toEqual([0, 0]);
  });

  describe("bytes parked beyond the tail (the receive side's out-of-order data)", () => {
    it("writeAt keeps them unreadable until commit", () => {
      const ring = new ByteRing(8);
      ring.write(bytes(1, 2), 0, 2);
      ring.writeAt(2, bytes(5, 6), 0, 2); // the tail is at 2: these are bytes 4 and 5 from the head
      expect(ring.length).toBe(2);
      expect(ring.free).toBe(6);
      ring.write(bytes(3, 4), 0, 2); // the gap fills
      ring.commit(2);
      expect(contents(ring)).toEqual([1, 2, 3, 4, 5, 6]);
    });

    it("survive reads of the bytes before them, across the wrap", () => {
      const ring = new ByteRing(6);
      emptyAt(ring, 6);
      ring.write(bytes(1, 2, 3), 0, 3);
      ring.writeAt(1, bytes(5, 6), 0, 2);
      const dst = new Uint8Array(3);
      expect(ring.read(dst, 0, 3)).toBe(3); // empty again, the head has moved past where the data began
      ring.write(bytes(4), 0, 1);
      ring.commit(2);
      expect(contents(ring)).toEqual([4, 5, 6]);
    });

    it("an in-order write over parked bytes replaces them (a retransmission of the same data)", () => {
      const ring = new ByteRing(8);
      ring.writeAt(0, bytes(7, 7, 7), 0, 3);
      ring.write(bytes(1, 2), 0, 2);
      ring.commit(1);
      expect(contents(ring)).toEqual([1, 2, 7]);
    });

    it("refuses writeAt and commit beyond the capacity, counting readable bytes", () => {
      const ring = new ByteRing(6);
      ring.write(bytes(1, 2), 0, 2);
      ring.writeAt(3, bytes(1), 0, 1); // the last free byte
      expect(() => ring.writeAt(4, bytes(1), 0, 1)).toThrow(RangeError);
      expect(() => ring.writeAt(0, range(0, 5), 0, 5)).toThrow(RangeError);
      expect(() => ring.writeAt(-1, bytes(1), 0, 1)).toThrow(RangeError);
      expect(() => ring.commit(5)).toThrow(RangeError);
      expect(() => ring.commit(-1)).toThrow(RangeError);
      ring.commit(4);
      expect(ring.free).toBe(0);
    });
  });
});

// Model: the readable bytes as an array, and the parked bytes as a map from their offset beyond the tail.
// Bytes committed without having been written are unknown (null): the model never claims their value.

type Op =
  | { op: "write"; data: Uint8Array }
  | { op: "read"; length: number }
  | { op: "peek"; at: number; length: number }
  | { op: "discard"; n: number }
  | { op: "writeAt"; at: number; data: Uint8Array }
  | { op: "commit"; n: number }
  | { op: "byteAt"; at: number }
  | { op: "indexOf"; value: number; from: number }
  | { op: "clear" }
  | { op: "compact" }
  | { op: "release" };

class RingModel {
  readable: (number | null)[] = [];
  parked = new Map<number, number>();

  constructor(readonly capacity: number) {}

  get free(): number {
    return this.capacity - this.readable.length;
  }

  /** The tail moved `n` bytes into the parked area: re-key what lies beyond, forget what it passed. */
  private shiftParked(n: number): void {
    const next = new Map<number, number>();
    for (const [at, v] of this.parked) if (at >= n) next.set(at - n, v);
    this.parked = next;
  }

  write(data: Uint8Array): number {
    const n = Math.min(data.length, this.free);
    this.readable.push(...data.subarray(0, n));
    this.shiftParked(n);
    return n;
  }

  writeAt(at: number, data: Uint8Array): boolean {
    if (at < 0 || this.readable.length + at + data.length > this.capacity) return false;
    data.forEach((v, i) => this.parked.set(at + i, v));
    return true;
  }

  commit(n: number): boolean {
    if (n < 0 || this.readable.length + n > this.capacity) return false;
    for (let i = 0; i < n; i++) this.readable.push(this.parked.get(i) ?? null);
    this.shiftParked(n);
    return true;
  }
}

const sameKnown = (actual: number[], model: (number | null)[]): void => {
  expect(actual.length).toBe(model.length);
  model.forEach((v, i) => {
    if (v !== null) expect(actual[i], `byte ${i}`).toBe(v);
  });
};

function opArb(capacity: number): fc.Arbitrary<Op> {
  const len = fc.nat({ max: capacity + 2 });
  const data = fc.uint8Array({ maxLength: capacity + 2 });
  return fc.oneof(
    { weight: 4, arbitrary: fc.record({ op: fc.constant("write" as const), data }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant("read" as const), length: len }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("peek" as const), at: fc.integer({ min: -1, max: capacity + 1 }), length: len }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("discard" as const), n: fc.integer({ min: -1, max: capacity + 1 }) }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant("writeAt" as const), at: fc.integer({ min: -1, max: capacity + 1 }), data }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("commit" as const), n: fc.integer({ min: -1, max: capacity + 1 }) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("byteAt" as const), at: fc.nat({ max: capacity }) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("indexOf" as const), value: fc.nat({ max: 255 }), from: fc.nat({ max: capacity + 1 }) }) },
    { weight: 1, arbitrary: fc.constant({ op: "clear" as const }) },
    { weight: 2, arbitrary: fc.constant({ op: "compact" as const }) },
    { weight: 1, arbitrary: fc.constant({ op: "release" as const }) },
  );
}

/** Applies one operation to ring and model and checks the answer (RangeError exactly when out of range). */
function step(ring: ByteRing, model: RingModel, o: Op): void {
  switch (o.op) {
    case "write":
      expect(ring.write(o.data, 0, o.data.length)).toBe(model.write(o.data));
      break;
    case "read": {
      const dst = new Uint8Array(o.length);
      const n = ring.read(dst, 0, o.length);
      const expected = model.readable.splice(0, o.length);
      expect(n).toBe(expected.length);
      sameKnown([...dst.subarray(0, n)], expected);
      break;
    }
    case "peek": {
      const dst = new Uint8Array(o.length);
      if (o.at < 0 || o.at + o.length > model.readable.length) {
        expect(() => ring.peek(o.at, dst, 0, o.length)).toThrow(RangeError);
      } else {
        ring.peek(o.at, dst, 0, o.length);
        sameKnown([...dst], model.readable.slice(o.at, o.at + o.length));
      }
      break;
    }
    case "discard":
      if (o.n < 0 || o.n > model.readable.length) expect(() => ring.discard(o.n)).toThrow(RangeError);
      else {
        ring.discard(o.n);
        model.readable.splice(0, o.n);
      }
      break;
    case "writeAt":
      if (model.writeAt(o.at, o.data)) ring.writeAt(o.at, o.data, 0, o.data.length);
      else expect(() => ring.writeAt(o.at, o.data, 0, o.data.length)).toThrow(RangeError);
      break;
    case "commit":
      if (model.commit(o.n)) ring.commit(o.n);
      else expect(() => ring.commit(o.n)).toThrow(RangeError);
      break;
    case "byteAt": {
      const v = model.readable[o.at];
      if (v !== undefined && v !== null) expect(ring.byteAt(o.at)).toBe(v);
      break;
    }
    case "indexOf": {
      // Only where every byte searched is known, so the model's answer is the answer.
      const region = model.readable.slice(o.from);
      if (region.every((v) => v !== null)) {
        const i = region.indexOf(o.value);
        expect(ring.indexOf(o.value, o.from)).toBe(i < 0 || o.from > model.readable.length ? -1 : o.from + i);
      }
      break;
    }
    case "clear":
    case "release":
      if (o.op === "clear") ring.clear();
      else {
        ring.release();
        expect(ring.storageBytes).toBe(0);
      }
      model.readable = [];
      model.parked = new Map();
      break;
    case "compact":
      // Changes nothing the ring reports: readable and parked bytes stay (the model checks them later).
      ring.compact();
      break;
  }
  expect([ring.length, ring.free]).toEqual([model.readable.length, model.free]);
  // The store: none or a power of two, no larger than the capacity's, holding at least the readable bytes.
  const store = ring.storageBytes;
  expect(store === 0 || (store & (store - 1)) === 0).toBe(true);
  expect(store).toBeLessThanOrEqual(pow2AtLeast(model.capacity));
  expect(store).toBeGreaterThanOrEqual(model.readable.length);
}

function pow2AtLeast(n: number): number {
  let size = 1;
  while (size < n) size *= 2;
  return size;
}

describe("ByteRing against a model", () => {
  // Powers of two and not, so that the wrap falls at the capacity and before it.
  const capacities = fc.constantFrom(1, 2, 3, 5, 8, 12, 16, 31);

  it("agrees with the model on every operation sequence, whatever its first store", () => {
    fc.assert(
      fc.property(
        capacities.chain((capacity) => fc.tuple(fc.constant(capacity), fc.array(opArb(capacity), { maxLength: 60 }))),
        fc.constantFrom(1, 2, 4, MIN_RING_STORAGE),
        ([capacity, ops], minStorage) => {
          const ring = new ByteRing(capacity, HEAP_STORAGE, minStorage);
          const model = new RingModel(capacity);
          for (const o of ops) step(ring, model, o);
          sameKnown(contents(ring), model.readable);
        },
      ),
      { seed: 0x5eed, numRuns: 1500 },
    );
  });

  it("the receive pattern: segments in any order, reads in between, all bytes arrive in order", () => {
    // A stream of `total` bytes cut into segments delivered in a random order, as tcp/input does: a segment at
    // the tail is written and the parked run after it committed; one beyond it is parked with writeAt.
    fc.assert(
      fc.property(
        fc.integer({ min: 4, max: 40 }),
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 12 }),
        fc.infiniteStream(fc.nat({ max: 1000 })),
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 40 }),
        fc.constantFrom(1, 4, MIN_RING_STORAGE),
        (capacity, sizes, order, reads, minStorage) => {
          const ring = new ByteRing(capacity, HEAP_STORAGE, minStorage);
          const total = sizes.reduce((a, b) => a + b, 0);
          const stream = range(0, total);
          const segments = sizes.map((size, i) => ({ start: sizes.slice(0, i).reduce((a, b) => a + b, 0), size }));
          const have = new Set<number>(); // stream offsets parked beyond the tail
          let front = 0; // stream offset of the tail
          const out: number[] = [];
          const dst = new Uint8Array(8);
          const rng = order[Symbol.iterator]();
          let readIndex = 0;
          for (let guard = 0; guard < 10_000 && out.length < total; guard++) {
            const pending = segments.filter((s) => s.start + s.size > front);
            const seg = pending[(rng.next().value as number) % pending.length];
            if (seg !== undefined) {
              const offset = seg.start - front;
              const skip = Math.max(0, -offset); // already have its beginning
              const at = offset + skip;
              const fit = Math.min(seg.size - skip, ring.free - at);
              if (fit > 0 && at === 0) {
                ring.write(stream, seg.start + skip, fit);
                front += fit;
                let extra = 0;
                while (have.has(front + extra)) extra++;
                for (let i = 0; i < extra; i++) have.delete(front + i);
                ring.commit(extra);
                front += extra;
              } else if (fit > 0) {
                ring.writeAt(at, stream, seg.start + skip, fit);
                for (let i = 0; i < fit; i++) have.add(front + at + i);
              }
            }
            const n = ring.read(dst, 0, reads[readIndex++ % Math.max(1, reads.length)] ?? 8);
            out.push(...dst.subarray(0, n));
          }
          out.push(...contents(ring));
          expect(out).toEqual([...stream]);
        },
      ),
      { seed: 0xbead, numRuns: 500 },
    );
  });
});

/** A RingStorage that counts what is out, and hands out stores filled with junk (as a pool's reused ones are). */
class CountingStorage implements RingStorage {
  out = 0;
  takes: number[] = [];
  gives: number[] = [];
  take(size: number): Uint8Array {
    this.out += size;
    this.takes.push(size);
    return new Uint8Array(size).fill(0xee);
  }
  give(buf: Uint8Array): void {
    this.out -= buf.length;
    this.gives.push(buf.length);
  }
}

describe("ByteRing store, apart from its capacity", () => {
  it("holds no store until the first byte, then the smallest first store", () => {
    const storage = new CountingStorage();
    const ring = new ByteRing(256 * 1024, storage);
    expect([ring.capacity, ring.free, ring.storageBytes]).toEqual([256 * 1024, 256 * 1024, 0]);
    expect(ring.read(new Uint8Array(4), 0, 4)).toBe(0);
    ring.compact();
    expect(storage.takes).toEqual([]);
    ring.write(bytes(1), 0, 1);
    expect(ring.storageBytes).toBe(MIN_RING_STORAGE);
    expect(storage.takes).toEqual([MIN_RING_STORAGE]);
  });

  it("doubles as bytes are written, up to the capacity's power of two, every byte in order across the wrap", () => {
    const storage = new CountingStorage();
    const ring = new ByteRing(100, storage, 8);
    emptyAt(ring, 6); // head at 6 of an 8-byte store: the next bytes wrap
    ring.write(range(0, 5), 0, 5);
    expect(ring.storageBytes).toBe(8);
    ring.write(range(5, 10), 0, 10); // 15 bytes: 16
    expect(ring.storageBytes).toBe(16);
    ring.write(range(15, 40), 0, 40); // 55 bytes: 64
    expect(ring.storageBytes).toBe(64);
    expect(ring.write(range(55, 100), 0, 100)).toBe(45); // the limit is the capacity, the store 128
    expect([ring.storageBytes, ring.free]).toEqual([128, 0]);
    expect(contents(ring)).toEqual([...range(0, 100)]);
    expect(storage.takes).toEqual([8, 16, 64, 128]);
    expect(storage.gives).toEqual([8, 16, 64]);
  });

  it("grows for bytes parked beyond the tail and keeps them, readable once the gap fills", () => {
    const ring = new ByteRing(64, HEAP_STORAGE, 4);
    emptyAt(ring, 3);
    ring.write(bytes(1, 2), 0, 2);
    ring.writeAt(20, range(100, 5), 0, 5); // 27 bytes from the head: a 32-byte store
    expect(ring.storageBytes).toBe(32);
    ring.write(range(3, 20), 0, 20);
    ring.commit(5);
    expect(contents(ring)).toEqual([1, 2, ...range(3, 20), ...range(100, 5)]);
  });

  it("compact gives an empty ring's store back, and shrinks a full one to what it keeps", () => {
    const storage = new CountingStorage();
    const ring = new ByteRing(1024, storage, 16);
    ring.write(range(0, 600), 0, 600);
    expect(ring.storageBytes).toBe(1024);
    ring.discard(590); // 10 bytes left, the head near the end of the store
    ring.writeAt(5, bytes(7, 8), 0, 2); // parked: 17 bytes kept from the head
    ring.compact();
    expect(ring.storageBytes).toBe(32);
    ring.write(range(100, 5), 0, 5);
    ring.commit(2);
    expect(contents(ring)).toEqual([...range(590, 10), ...range(100, 5), 7, 8]);
    ring.read(new Uint8Array(17), 0, 17);
    ring.compact();
    expect([ring.storageBytes, storage.out]).toEqual([0, 0]);
    ring.write(bytes(9), 0, 1); // and grows again from the first size
    expect([ring.storageBytes, ...contents(ring)]).toEqual([16, 9]);
  });

  it("compact keeps the store that parked bytes need even when nothing is readable", () => {
    const ring = new ByteRing(64, HEAP_STORAGE, 4);
    ring.writeAt(10, bytes(5), 0, 1);
    ring.compact();
    expect(ring.storageBytes).toBe(16);
    ring.write(range(0, 10), 0, 10);
    ring.commit(1);
    expect(contents(ring)).toEqual([...range(0, 10), 5]);
  });

  it("release empties the ring and gives its store back; clear keeps the store", () => {
    const storage = new CountingStorage();
    const ring = new ByteRing(64, storage, 16);
    ring.write(range(0, 30), 0, 30);
    ring.clear();
    expect([ring.length, ring.storageBytes]).toEqual([0, 32]);
    ring.write(range(0, 3), 0, 3);
    ring.release();
    expect([ring.length, ring.free, ring.storageBytes, storage.out]).toEqual([0, 64, 0, 0]);
    ring.release(); // twice is harmless
    expect(storage.gives).toEqual([32]);
  });

  it("never reads junk a reused store held", () => {
    const ring = new ByteRing(64, new CountingStorage(), 8); // stores come filled with 0xee
    ring.write(bytes(1, 2, 3), 0, 3);
    expect(ring.indexOf(0xee)).toBe(-1);
    ring.writeAt(40, bytes(4), 0, 1); // grows to 64: the gap is junk, and stays unreadable
    expect(contents(ring)).toEqual([1, 2, 3]);
  });
});
