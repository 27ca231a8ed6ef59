// Fuzzing the frame path with fast-check (fixed seed): random bytes, frames steered at our MAC and IPv4
// header fields, and real ARP / ICMP / fragment / UDP / TCP frames with random bit flips and truncations are
// fed to a running stack's netif.frame(). Nothing may throw, and every frame must end in an outcome counter
// (accepted or a drop reason), so no frame vanishes uncounted. describeFrame must never throw either. The
// generators live in stress/fuzzFrames.ts, which `npm run stress` also writes into a real TAP.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { describeFrame } from "../../src/debug/describe.js";
import type { Stack } from "../../src/stack/stack.js";
import { Wire, stackOn } from "../helpers/wire.js";
import { mutatedFrame, randomFrame } from "../../stress/fuzzFrames.js";

const RUNS = { seed: 42, numRuns: 2000 } as const;

let wire: Wire;
let stack: Stack;

beforeAll(() => {
  wire = new Wire();
  stack = stackOn(wire);
});

afterAll(() => {
  stack.stop();
  wire.peer.close();
  // Whatever the fuzzer left half-done (ARP resolutions, reassembly), stop() must cancel it all.
  expect(wire.scheduler.armedLabels()).toEqual([]);
});

/**
 * Counters that record how a frame ended: accepted (ARP handled, IPv4 delivered or taken into reassembly)
 * or dropped for a reason (every `drop*`/`*Drop*` counter of every layer, ignored or conflicting ARP).
 */
function outcomes(): number {
  const s = stack.stats();
  let n = 0;
  for (const [layer, counters] of Object.entries(s)) {
    for (const [name, value] of Object.entries(counters)) {
      const isOutcome =
        /^drop|Drop/.test(name) ||
        (layer === "netif" && ["arpIgnored", "arpConflicts", "arpRxRequests", "arpRxReplies", "arpRxOtherOps"].includes(name)) ||
        (layer === "ip" && ["rxDelivered", "rxFragments"].includes(name));
      if (isOutcome) n += value;
    }
  }
  return n;
}

/** Feeds one frame as the device would (frame, then end of batch) and checks it ended in a counter. */
function feed(bytes: Uint8Array): void {
  const before = outcomes();
  const rxBefore = stack.netif.stats.rxFrames;
  stack.netif.frame(bytes, 0, bytes.length);
  stack.netif.endBatch();
  expect(stack.netif.stats.rxFrames).toBe(rxBefore + 1);
  if (outcomes() <= before) throw new Error(`frame left no outcome counter: ${describeFrame(bytes, 0, bytes.length)} [${[...bytes.subarray(0, 64)].join(",")}]`);
  // Let timers run (ARP retries, reassembly timeouts, ICMP answers onto the wire) and drop the captures.
  wire.advance(7);
  wire.sent.length = 0;
}

describe("frame path fuzzing", () => {
  it("never throws on random frames, and counts every one", () => {
    fc.assert(fc.property(randomFrame, (bytes) => feed(bytes)), RUNS);
    expect(stack.netif.stats.dropNotForUs).toBeGreaterThan(0);
    expect(stack.ip.stats.rxPackets).toBeGreaterThan(0);
  });

  it("never throws on mutated real frames (bit flips, truncations), and counts every one", () => {
    fc.assert(fc.property(mutatedFrame, (bytes) => feed(bytes)), RUNS);
    // The mutants reached deep: checksums failed, fragments were held, ARP was answered.
    expect(stack.ip.stats.dropBadChecksum).toBeGreaterThan(0);
    expect(stack.ip.stats.rxFragments).toBeGreaterThan(0);
    expect(stack.netif.stats.arpTxReplies).toBeGreaterThan(0);
    expect(stack.icmp.stats.rxEchoRequests).toBeGreaterThan(0);
  });

  it("keeps its bounds after the fuzzing", () => {
    expect(stack.ip.reassembler.pending).toBeLessThanOrEqual(16);
    expect(stack.netif.neighbors.size).toBeLessThanOrEqual(64);
  });
});

describe("describeFrame fuzzing", () => {
  it("never throws on random bytes at any offset and length", () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 2000 }), randomFrame, mutatedFrame), fc.nat(), fc.nat(), (bytes, a, b) => {
        const offset = a % (bytes.length + 1);
        const length = b % (bytes.length - offset + 1);
        expect(typeof describeFrame(bytes, offset, length)).toBe("string");
        expect(typeof describeFrame(bytes, 0, bytes.length)).toBe("string");
      }),
      RUNS,
    );
  });
});
