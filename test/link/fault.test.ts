// The FaultInjector as device middleware over a MemLink on the simulated clock: same seed → same faults,
// loss and duplication rates near their settings, reordering (a held frame follows the next), single-bit
// corruption, delay and jitter, the rate limit's timing and queue bound, and both directions.

import { describe, expect, it } from "vitest";
import { SimClock } from "../../src/core/clock.js";
import { Scheduler } from "../../src/core/scheduler.js";
import { memLinkPair } from "../../src/link/memlink.js";
import { FaultInjector, type FaultOptions } from "../../src/link/fault.js";

interface Delivered {
  atMs: number;
  bytes: Uint8Array;
}

/** A stack-side FaultInjector over one end of a MemLink; frames it sends arrive in `out`, frames for it in `up`. */
function rig(options: Partial<FaultOptions>) {
  const s = new Scheduler(new SimClock(0));
  // Room for every frame of a 10 000-frame burst sent at one instant.
  const [near, far] = memLinkPair(s, { maxInFlight: 100_000 });
  const fault = new FaultInjector(near, s, options);
  const out: Delivered[] = [];
  const up: Delivered[] = [];
  const upEvents: string[] = [];
  far.attach({ frame: (b, o, l) => out.push({ atMs: s.now(), bytes: b.slice(o, o + l) }), endBatch() {} });
  fault.attach({
    frame: (b, o, l) => {
      up.push({ atMs: s.now(), bytes: b.slice(o, o + l) });
      upEvents.push("frame");
    },
    endBatch: () => upEvents.push("end"),
  });
  return { s, fault, far, out, up, upEvents };
}

/** A frame whose first 4 bytes are its index, then `size - 4` bytes of pattern. */
function numbered(n: number, size = 64): Uint8Array {
  const f = new Uint8Array(size);
  new DataView(f.buffer).setUint32(0, n);
  for (let i = 4; i < size; i++) f[i] = (i * 31 + n) & 0xff;
  return f;
}

function indexOf(d: Delivered): number {
  return new DataView(d.bytes.buffer, d.bytes.byteOffset).getUint32(0);
}

function sendAll(r: ReturnType<typeof rig>, count: number, size = 64): void {
  for (let n = 0; n < count; n++) r.fault.transmit(numbered(n, size), 0, size);
  r.s.advance(1000);
}

describe("FaultInjector", () => {
  it("is deterministic: the same seed gives the same frames, times and bytes", () => {
    const o = { loss: 0.2, duplicate: 0.1, reorder: 0.1, corrupt: 0.1, delayMs: 3, jitterMs: 4 };
    const run = (seed: number) => {
      const r = rig({ ...o, seed });
      sendAll(r, 500);
      return r.out.map((d) => [d.atMs, ...d.bytes.subarray(0, 8)]);
    };
    const first = run(7);
    expect(run(7)).toEqual(first);
    expect(run(8)).not.toEqual(first);
  });

  it("passes everything untouched with no faults", () => {
    const r = rig({});
    sendAll(r, 100);
    expect(r.out.map(indexOf)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(r.out.every((d) => d.atMs === 0)).toBe(true);
    expect(r.out.map((d) => d.bytes)).toEqual(Array.from({ length: 100 }, (_, i) => numbered(i)));
  });

  it("loses frames at close to the set rate over 10 000 frames", () => {
    const r = rig({ seed: 3, loss: 0.1, directions: "tx" });
    sendAll(r, 10_000);
    const stats = r.fault.tx?.stats;
    expect(stats?.frames).toBe(10_000);
    // Binomial(10 000, 0.1): σ = 30; allow 5σ.
    expect(stats?.dropped).toBeGreaterThan(850);
    expect(stats?.dropped).toBeLessThan(1150);
    expect(r.out).toHaveLength(10_000 - (stats?.dropped ?? 0));
    const idx = r.out.map(indexOf);
    expect(idx).toEqual([...idx].sort((a, b) => a - b));
  });

  it("duplicates frames: always at 1, near the rate at 0.25", () => {
    const always = rig({ duplicate: 1 });
    sendAll(always, 10);
    expect(always.out.map(indexOf)).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9]);
    const some = rig({ seed: 11, duplicate: 0.25 });
    sendAll(some, 4000);
    const dup = some.fault.tx?.stats.duplicated ?? 0;
    expect(dup).toBeGreaterThan(1000 - 5 * 28);
    expect(dup).toBeLessThan(1000 + 5 * 28);
    expect(some.out).toHaveLength(4000 + dup);
  });

  it("reorders: a held frame comes out right after the next one", () => {
    const r = rig({ reorder: 1 });
    sendAll(r, 6);
    expect(r.out.map(indexOf)).toEqual([1, 0, 3, 2, 5, 4]);
    expect(r.fault.tx?.stats.reordered).toBe(3);
    expect(r.out.every((d) => d.atMs === 0)).toBe(true);
  });

  it("releases a held frame on its own after delayMs + 1 when nothing follows", () => {
    const r = rig({ reorder: 1, delayMs: 4 });
    r.fault.transmit(numbered(0), 0, 64);
    r.s.advance(4.5);
    expect(r.out).toEqual([]);
    r.s.advance(0.5);
    expect(r.out.map((d) => [indexOf(d), d.atMs])).toEqual([[0, 5]]);
    expect(r.s.armedCount).toBe(0);
  });

  it("corrupts by flipping exactly one bit", () => {
    const r = rig({ seed: 5, corrupt: 1 });
    sendAll(r, 300, 100);
    expect(r.out).toHaveLength(300);
    expect(r.fault.tx?.stats.corrupted).toBe(300);
    const flippedBits = r.out.map((d, n) => {
      // The index bytes may be the ones hit; compare against the frame sent n-th (order is kept).
      const sent = numbered(n, 100);
      let bits = 0;
      for (let i = 0; i < 100; i++) for (let x = (d.bytes[i] as number) ^ (sent[i] as number); x; x &= x - 1) bits++;
      return bits;
    });
    expect(flippedBits.every((b) => b === 1)).toBe(true);
  });

  it("delays every frame by delayMs", () => {
    const r = rig({ delayMs: 10 });
    r.s.advance(3);
    r.fault.transmit(numbered(0), 0, 64);
    r.s.advance(9.5);
    expect(r.out).toEqual([]);
    r.s.advance(0.5);
    expect(r.out.map((d) => d.atMs)).toEqual([13]);
    expect(r.fault.tx?.stats.delayed).toBe(1);
  });

  it("adds jitter in [0, jitterMs), which can reorder frames", () => {
    const r = rig({ seed: 9, delayMs: 10, jitterMs: 5 });
    sendAll(r, 200);
    expect(r.out).toHaveLength(200);
    for (const d of r.out) {
      expect(d.atMs).toBeGreaterThanOrEqual(10);
      expect(d.atMs).toBeLessThan(15);
    }
    const times = r.out.map((d) => d.atMs);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    const idx = r.out.map(indexOf);
    expect(idx).not.toEqual([...idx].sort((a, b) => a - b));
  });

  it("rate-limits: frames leave one serialization time apart", () => {
    // 8000 bit/s is one byte per ms: a 100-byte frame takes 100 ms.
    const r = rig({ rateBitsPerSec: 8000 });
    for (let n = 0; n < 3; n++) r.fault.transmit(numbered(n, 100), 0, 100);
    r.s.advance(1000);
    expect(r.out.map((d) => [indexOf(d), d.atMs])).toEqual([
      [0, 100],
      [1, 200],
      [2, 300],
    ]);
    r.fault.transmit(numbered(3, 100), 0, 100);
    r.s.advance(1000);
    expect(r.out.at(-1)?.atMs).toBe(1100);
  });

  it("bounds the rate queue, and a dropped frame does not hold up the ones after it", () => {
    const r = rig({ rateBitsPerSec: 8000, rateQueueBytes: 250 });
    for (let n = 0; n < 3; n++) r.fault.transmit(numbered(n, 100), 0, 100);
    expect(r.fault.tx?.stats.rateDropped).toBe(1);
    r.s.advance(200);
    // Frames 0 and 1 are out (at 100 and 200); the link is free again.
    r.fault.transmit(numbered(3, 100), 0, 100);
    r.s.advance(1000);
    expect(r.out.map((d) => [indexOf(d), d.atMs])).toEqual([
      [0, 100],
      [1, 200],
      [3, 300],
    ]);
  });

  it("applies faults to received frames; a frame released later by the fault timer is its own batch", () => {
    const r = rig({ delayMs: 5, directions: "rx" });
    r.far.transmit(numbered(1), 0, 64);
    r.s.advance(0);
    expect(r.up).toEqual([]);
    r.s.advance(5);
    expect(r.up.map((d) => [indexOf(d), d.atMs])).toEqual([[1, 5]]);
    expect(r.upEvents).toEqual(["end", "frame", "end"]);
    // tx is untouched in "rx" mode.
    r.fault.transmit(numbered(2), 0, 64);
    r.s.advance(0);
    expect(r.out.map((d) => [indexOf(d), d.atMs])).toEqual([[2, 5]]);
    expect(r.fault.tx).toBeNull();
  });

  it("with directions 'tx' leaves received frames alone", () => {
    const r = rig({ loss: 1, directions: "tx" });
    r.far.transmit(numbered(1), 0, 64);
    r.s.advance(0);
    expect(r.up.map(indexOf)).toEqual([1]);
    expect(r.fault.rx).toBeNull();
    r.fault.transmit(numbered(2), 0, 64);
    r.s.advance(0);
    expect(r.out).toEqual([]);
  });

  it("close() drops frames in flight and cancels its timers", () => {
    const r = rig({ delayMs: 50 });
    for (let n = 0; n < 5; n++) r.fault.transmit(numbered(n), 0, 64);
    expect(r.fault.tx?.inFlight).toBe(5);
    r.fault.close();
    r.far.close();
    expect(r.s.armedLabels()).toEqual([]);
    r.s.advance(100);
    expect(r.out).toEqual([]);
  });
});
