// The scheduler's deadline heap on a simulated clock: firing order and times, re-arming by `set`, cancel
// anywhere in the heap, callbacks that re-arm at the same instant, the runaway bound, and a model-based
// property over random set/cancel/advance sequences.

import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { RealClock, SimClock } from "../../src/core/clock.js";
import { Deadline, Scheduler } from "../../src/core/scheduler.js";

function sim(startMs = 0): Scheduler {
  return new Scheduler(new SimClock(startMs));
}

/** A deadline that records (label, callback time, clock time) into `log`. */
function recorder(s: Scheduler, label: string, log: [string, number, number][]): Deadline {
  return new Deadline((now) => log.push([label, now, s.now()]), label);
}

describe("Scheduler", () => {
  it("fires deadlines in time order, each at its own simulated time", () => {
    const s = sim(100);
    const log: [string, number, number][] = [];
    s.set(recorder(s, "c", log), 130);
    s.set(recorder(s, "a", log), 110);
    s.set(recorder(s, "b", log), 120);
    expect(s.armedCount).toBe(3);
    expect(s.nextAt).toBe(110);
    s.advance(50);
    expect(log).toEqual([
      ["a", 110, 110],
      ["b", 120, 120],
      ["c", 130, 130],
    ]);
    expect(s.now()).toBe(150);
    expect(s.armedCount).toBe(0);
    expect(s.nextAt).toBe(Infinity);
  });

  it("fires a deadline due exactly at the end of advance, and not one just after", () => {
    const s = sim();
    const log: [string, number, number][] = [];
    s.set(recorder(s, "edge", log), 10);
    s.set(recorder(s, "later", log), 10.001);
    s.advance(10);
    expect(log).toEqual([["edge", 10, 10]]);
    s.advance(0.001);
    expect(log.map((e) => e[0])).toEqual(["edge", "later"]);
  });

  it("after() arms relative to now", () => {
    const s = sim(1000);
    const log: [string, number, number][] = [];
    s.after(recorder(s, "d", log), 250);
    s.advance(249);
    expect(log).toEqual([]);
    s.advance(1);
    expect(log).toEqual([["d", 1250, 1250]]);
  });

  it("re-arms by setting again: earlier or later, the deadline fires once at the last time set", () => {
    const s = sim();
    const log: [string, number, number][] = [];
    const earlier = recorder(s, "earlier", log);
    const later = recorder(s, "later", log);
    s.set(earlier, 50);
    s.set(later, 20);
    s.set(earlier, 20 - 5);
    s.set(later, 80);
    expect(s.armedCount).toBe(2);
    expect(earlier.at).toBe(15);
    s.advance(100);
    expect(log).toEqual([
      ["earlier", 15, 15],
      ["later", 80, 80],
    ]);
  });

  it("cancels from the middle of the heap, keeping the rest in order", () => {
    const s = sim();
    const log: [string, number, number][] = [];
    const ds = Array.from({ length: 15 }, (_, i) => recorder(s, `d${i}`, log));
    // Arm in a scrambled order so cancelled ones sit at inner heap positions.
    const times = [70, 20, 150, 10, 90, 40, 130, 60, 110, 30, 140, 50, 80, 100, 120];
    ds.forEach((d, i) => s.set(d, times[i] as number));
    const cancelled = [ds[4], ds[7], ds[0], ds[12]] as Deadline[];
    for (const d of cancelled) {
      expect(d.heapIndex).toBeGreaterThanOrEqual(0);
      s.cancel(d);
      expect(d.isArmed).toBe(false);
      expect(d.at).toBe(Infinity);
    }
    s.cancel(cancelled[0] as Deadline); // cancelling twice is harmless
    expect(s.armedCount).toBe(11);
    s.advance(200);
    const fired = log.map((e) => e[1]);
    expect(fired).toEqual([...fired].sort((a, b) => a - b));
    expect(fired).toEqual([10, 20, 30, 40, 50, 100, 110, 120, 130, 140, 150]);
    expect(s.armedCount).toBe(0);
  });

  it("runs callbacks that re-arm at the same instant within the same advance", () => {
    const s = sim();
    const times: number[] = [];
    let left = 3;
    const d: Deadline = new Deadline((now) => {
      times.push(now);
      if (left-- > 0) s.set(d, now);
    }, "again");
    const other = new Deadline((now) => times.push(-now), "other");
    const spawner = new Deadline((now) => s.set(other, now), "spawner");
    s.set(d, 10);
    s.set(spawner, 10);
    s.advance(10);
    expect(times.filter((t) => t === 10)).toHaveLength(4);
    expect(times).toContain(-10);
    expect(s.armedCount).toBe(0);
  });

  it("bounds a callback that re-arms at the same instant forever: advance throws instead of hanging", () => {
    const s = sim();
    let fires = 0;
    const d: Deadline = new Deadline((now) => {
      fires++;
      s.set(d, now);
    }, "runaway");
    s.set(d, 5);
    expect(() => s.advance(10, 100)).toThrow(/more than 100 timer firings/);
    expect(fires).toBe(100);
    s.cancel(d);
    expect(s.armedCount).toBe(0);
  });

  it("fires a deadline armed in the past at the current time, telling its callback now", () => {
    const s = sim(1000);
    const log: [string, number, number][] = [];
    s.set(recorder(s, "past", log), 990);
    s.advance(0);
    expect(log).toEqual([["past", 1000, 1000]]);
  });

  it("lists armed labels for leak reports", () => {
    const s = sim();
    const a = new Deadline(() => {}, "alpha");
    s.set(a, 5);
    s.set(new Deadline(() => {}, "beta"), 6);
    expect(s.armedLabels().sort()).toEqual(["alpha", "beta"]);
    s.advance(5);
    expect(s.armedLabels()).toEqual(["beta"]);
  });

  it("advanceUntil stops as soon as the condition holds, or at the limit", () => {
    const s = sim();
    let hit = false;
    s.set(new Deadline(() => (hit = true), "hit"), 37);
    expect(s.advanceUntil(() => hit, 100, 10)).toBe(true);
    expect(s.now()).toBe(40);
    expect(s.advanceUntil(() => false, 25, 10)).toBe(false);
    expect(s.now()).toBe(65);
  });

  it("refuses advance() on a real clock", () => {
    const s = new Scheduler(new RealClock());
    expect(s.isSimulated).toBe(false);
    expect(() => s.advance(1)).toThrow(/SimClock/);
  });

  it("matches a reference model over random set/cancel/advance sequences", () => {
    const N = 8;
    const op = fc.oneof(
      fc.record({ kind: fc.constant("set" as const), i: fc.nat({ max: N - 1 }), delay: fc.nat({ max: 50 }) }),
      fc.record({ kind: fc.constant("cancel" as const), i: fc.nat({ max: N - 1 }) }),
      fc.record({ kind: fc.constant("advance" as const), ms: fc.nat({ max: 40 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const s = sim();
        const fired: [number, number][] = [];
        const ds = Array.from({ length: N }, (_, i) => new Deadline((now) => fired.push([i, now]), `d${i}`));
        const model = new Map<number, number>();
        for (const o of ops) {
          if (o.kind === "set") {
            s.set(ds[o.i] as Deadline, s.now() + o.delay);
            model.set(o.i, s.now() + o.delay);
          } else if (o.kind === "cancel") {
            s.cancel(ds[o.i] as Deadline);
            model.delete(o.i);
          } else {
            const target = s.now() + o.ms;
            const due = [...model.entries()].filter(([, at]) => at <= target).sort((x, y) => x[1] - y[1] || x[0] - y[0]);
            for (const [i] of due) model.delete(i);
            fired.length = 0;
            s.advance(o.ms);
            // Equal times may fire in any order; compare sorted by (time, index), and check times never go back.
            const got = [...fired].sort((x, y) => x[1] - y[1] || x[0] - y[0]);
            expect(got).toEqual(due);
            for (let k = 1; k < fired.length; k++) expect((fired[k] as [number, number])[1]).toBeGreaterThanOrEqual((fired[k - 1] as [number, number])[1]);
            expect(s.now()).toBe(target);
          }
          expect(s.armedCount).toBe(model.size);
          expect(s.nextAt).toBe(model.size === 0 ? Infinity : Math.min(...model.values()));
          for (let i = 0; i < N; i++) expect((ds[i] as Deadline).isArmed).toBe(model.has(i));
        }
      }),
      { seed: 42, numRuns: 500 },
    );
  });

  it("a host timer that fires before the clock reaches the deadline arms itself again", async () => {
    // setTimeout counts whole milliseconds, the clock fractions: the host timer can run while the earliest
    // deadline is still (just) in the future. Nothing fires then, and the timer must be armed again.
    const clock = { t: 0, now(): number { return this.t; } };
    const scheduler = new Scheduler(clock);
    const fired: number[] = [];
    scheduler.set(new Deadline((now) => fired.push(now), "early host timer"), 5);
    await new Promise((r) => setTimeout(r, 30));
    expect(fired).toEqual([]); // the clock has not moved: not due yet
    clock.t = 6;
    await new Promise((r) => setTimeout(r, 30));
    expect(fired).toEqual([6]);
    scheduler.stopHostTimer();
  });
});
