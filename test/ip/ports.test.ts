// RFC 6056 Algorithm 4 ephemeral ports (src/ip/ports.ts): range, busy ports, exhaustion, per-destination spread.

import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { EphemeralPorts } from "../../src/ip/ports.js";
import { InternalError } from "../../src/core/assert.js";
import { Prng } from "../../src/core/prng.js";

const SEED = 0x6056;
/** A fresh source with the same seed: the same key and table, so every test replays exactly. */
const seeded = (seed = SEED): Prng => new Prng(seed);
const LOCAL = 0xc0a83242; // 192.168.50.66
const REMOTE = 0xc0a83201; // 192.168.50.1
const always = (): boolean => true;

describe("EphemeralPorts", () => {
  it("hands out ports in the default range 49152–65535", () => {
    const ports = new EphemeralPorts(seeded());
    for (let i = 0; i < 500; i++) {
      const p = ports.choose(LOCAL, REMOTE + (i % 7), 80 + i, always);
      expect(p).toBeGreaterThanOrEqual(49152);
      expect(p).toBeLessThanOrEqual(65535);
    }
  });

  it("stays within a configured range", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 0xffffffff }), (min, width, remote) => {
        const max = Math.min(65535, min + width);
        const ports = new EphemeralPorts(seeded(), { min, max });
        const p = ports.choose(LOCAL, remote, 443, always);
        expect(p).toBeGreaterThanOrEqual(min);
        expect(p).toBeLessThanOrEqual(max);
      }),
      { seed: 0x6056, numRuns: 50 },
    );
  });

  it("RFC 6056 §3.3.4: successive connections to one destination get successive ports", () => {
    const ports = new EphemeralPorts(seeded());
    const first = ports.choose(LOCAL, REMOTE, 80, always);
    const second = ports.choose(LOCAL, REMOTE, 80, always);
    expect(second).toBe(first === 65535 ? 49152 : first + 1);
  });

  it("skips busy ports and asks about each port at most once", () => {
    const ports = new EphemeralPorts(seeded(), { min: 40000, max: 40099 });
    const busy = new Set<number>();
    for (let i = 0; i < 100; i++) {
      const asked = new Set<number>();
      const p = ports.choose(LOCAL, REMOTE, 80, (port) => {
        expect(asked.has(port)).toBe(false);
        asked.add(port);
        return !busy.has(port);
      });
      expect(p).not.toBe(0);
      expect(busy.has(p)).toBe(false);
      busy.add(p);
    }
    expect(busy.size).toBe(100);
  });

  it("returns 0 after trying every port once when all are busy", () => {
    const ports = new EphemeralPorts(seeded(), { min: 1000, max: 1063 });
    const asked: number[] = [];
    expect(
      ports.choose(LOCAL, REMOTE, 80, (port) => {
        asked.push(port);
        return false;
      }),
    ).toBe(0);
    expect(asked.length).toBe(64);
    expect(new Set(asked).size).toBe(64);
  });

  it("finds the only free port wherever it is", () => {
    const ports = new EphemeralPorts(seeded(), { min: 2000, max: 2049 });
    for (let free = 2000; free <= 2049; free++) {
      expect(ports.choose(LOCAL, REMOTE, 80, (port) => port === free)).toBe(free);
    }
  });

  it("starts from different points for different remote endpoints", () => {
    const ports = new EphemeralPorts(seeded());
    const starts = new Set<number>();
    for (let i = 0; i < 50; i++) starts.add(ports.choose(LOCAL, REMOTE, 1000 + i, always));
    for (let i = 0; i < 50; i++) starts.add(ports.choose(LOCAL, REMOTE + 1 + i, 80, always));
    // 100 draws from 16384 ports: a handful of collisions at most, never a shared sequence.
    expect(starts.size).toBeGreaterThan(95);
  });

  it("is reproducible with a fixed seed and differs with another", () => {
    const run = (seed: number): number[] => {
      const ports = new EphemeralPorts(seeded(seed));
      return [1, 2, 3, 4].map((i) => ports.choose(LOCAL, REMOTE, 80 * i, always));
    };
    expect(run(SEED)).toEqual(run(SEED));
    expect(run(SEED)).not.toEqual(run(SEED ^ 0xff));
  });

  it("rejects an impossible range", () => {
    expect(() => new EphemeralPorts(seeded(), { min: 60000, max: 50000 })).toThrow(InternalError);
    expect(() => new EphemeralPorts(seeded(), { min: 0, max: 10 })).toThrow(InternalError);
    expect(() => new EphemeralPorts(seeded(), { min: 1, max: 65536 })).toThrow(InternalError);
  });
});
