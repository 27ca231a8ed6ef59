// MemLink, the in-memory wire: latency on the simulated clock, frames due together delivered as one batch,
// copy-on-transmit, order, the in-flight bound, close, and queue compaction under load.

import { describe, expect, it } from "vitest";
import { SimClock } from "../../src/core/clock.js";
import { Scheduler } from "../../src/core/scheduler.js";
import { memLinkPair, type MemDevice } from "../../src/link/memlink.js";

interface Rx {
  events: (string | number)[];
  frames: { atMs: number; bytes: number[] }[];
}

function receiver(s: Scheduler, dev: MemDevice): Rx {
  const rx: Rx = { events: [], frames: [] };
  dev.attach({
    frame: (b, o, l) => {
      rx.frames.push({ atMs: s.now(), bytes: [...b.subarray(o, o + l)] });
      rx.events.push(b[o] as number);
    },
    endBatch: () => rx.events.push("end"),
  });
  return rx;
}

function link(options: Parameters<typeof memLinkPair>[1] = {}): { s: Scheduler; a: MemDevice; b: MemDevice; rxA: Rx; rxB: Rx } {
  const s = new Scheduler(new SimClock(0));
  const [a, b] = memLinkPair(s, options);
  return { s, a, b, rxA: receiver(s, a), rxB: receiver(s, b) };
}

describe("MemLink", () => {
  it("delivers after exactly latencyMs, not before", () => {
    const { s, a, rxB } = link({ latencyMs: 5 });
    s.advance(10);
    expect(a.transmit(new Uint8Array([1, 2, 3]), 0, 3)).toBe(true);
    s.advance(4);
    expect(rxB.frames).toEqual([]);
    s.advance(1);
    expect(rxB.frames).toEqual([{ atMs: 15, bytes: [1, 2, 3] }]);
  });

  it("with zero latency delivers at the same instant, on the next scheduler run", () => {
    const { s, a, rxB } = link();
    a.transmit(new Uint8Array([7]), 0, 1);
    expect(rxB.frames).toEqual([]);
    s.advance(0);
    expect(rxB.frames).toEqual([{ atMs: 0, bytes: [7] }]);
  });

  it("batches frames due at the same instant: frame, frame, frame, then one endBatch", () => {
    const { s, a, rxB } = link({ latencyMs: 1 });
    for (const n of [1, 2, 3]) a.transmit(new Uint8Array([n]), 0, 1);
    s.advance(0.5);
    a.transmit(new Uint8Array([4]), 0, 1);
    s.advance(10);
    expect(rxB.events).toEqual([1, 2, 3, "end", 4, "end"]);
    expect(rxB.frames.map((f) => f.atMs)).toEqual([1, 1, 1, 1.5]);
  });

  it("copies on transmit: the sender may reuse its buffer at once", () => {
    const { s, a, rxB } = link();
    const buf = new Uint8Array([9, 9, 1, 2, 9]);
    a.transmit(buf, 2, 2);
    buf.fill(0);
    s.advance(0);
    expect(rxB.frames[0]?.bytes).toEqual([1, 2]);
  });

  it("carries both directions independently and counts frames", () => {
    const { s, a, b, rxA, rxB } = link({ latencyMs: 2 });
    a.transmit(new Uint8Array([1]), 0, 1);
    b.transmit(new Uint8Array([2]), 0, 1);
    b.transmit(new Uint8Array([3]), 0, 1);
    s.advance(2);
    expect(rxB.frames.map((f) => f.bytes[0])).toEqual([1]);
    expect(rxA.frames.map((f) => f.bytes[0])).toEqual([2, 3]);
    expect(a.stats).toEqual({ txFrames: 1, rxFrames: 2, dropped: 0 });
    expect(b.stats).toEqual({ txFrames: 2, rxFrames: 1, dropped: 0 });
    expect(a.mtu).toBe(1500);
    expect(a.name).toBe("mem0");
  });

  it("drops and counts frames beyond maxInFlight", () => {
    const { s, a, rxB } = link({ latencyMs: 1, maxInFlight: 3 });
    const sent = [1, 2, 3, 4, 5].map((n) => a.transmit(new Uint8Array([n]), 0, 1));
    expect(sent).toEqual([true, true, true, false, false]);
    expect(a.stats.dropped).toBe(2);
    s.advance(1);
    expect(rxB.frames.map((f) => f.bytes[0])).toEqual([1, 2, 3]);
    expect(a.transmit(new Uint8Array([6]), 0, 1)).toBe(true);
  });

  it("keeps order and content over thousands of frames delivered in parts (queue compaction)", () => {
    const { s, a, rxB } = link({ latencyMs: 5 });
    const frame = (n: number): Uint8Array => new Uint8Array([n & 0xff, n >> 8, 0xee]);
    for (let n = 0; n < 2000; n++) a.transmit(frame(n), 0, 3);
    s.advance(1);
    for (let n = 2000; n < 2500; n++) a.transmit(frame(n), 0, 3);
    s.advance(4);
    expect(rxB.frames).toHaveLength(2000);
    for (let n = 2500; n < 2600; n++) a.transmit(frame(n), 0, 3);
    s.advance(100);
    expect(rxB.frames.map((f) => f.bytes[0]! | (f.bytes[1]! << 8))).toEqual(Array.from({ length: 2600 }, (_, n) => n));
    expect(rxB.frames.map((f) => f.atMs).filter((t, i, all) => i === 0 || t !== all[i - 1])).toEqual([5, 6, 10]);
    expect(s.armedCount).toBe(0);
  });

  it("refuses frames once either end is closed, and close() cancels pending delivery", () => {
    const { s, a, b, rxB } = link({ latencyMs: 1 });
    a.transmit(new Uint8Array([1]), 0, 1);
    b.close();
    b.close();
    expect(s.armedCount).toBe(0);
    s.advance(5);
    expect(rxB.frames).toEqual([]);
    expect(a.transmit(new Uint8Array([2]), 0, 1)).toBe(false);
    expect(b.transmit(new Uint8Array([3]), 0, 1)).toBe(false);
  });
});
