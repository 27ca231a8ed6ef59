// The ARP neighbour cache on its own (RFC 826, RFC 1122 §2.3.2), with a recording NeighborLink and the
// simulated clock: resolution with retries and failure, the pending queue and its bounds, merge, expiry,
// refresh of used entries, eviction, and that no deadline outlives the cache.

import { afterEach, describe, expect, it } from "vitest";
import { SimClock } from "../../src/core/clock.js";
import { Scheduler } from "../../src/core/scheduler.js";
import { NeighborCache, type NeighborLink, type NeighborOptions } from "../../src/eth/neighbor.js";
import { IP_A, IP_B, IP_C, MAC_A, MAC_B, MAC_C } from "../helpers/wire.js";

interface Recorded {
  requests: { ip: number; unicastMac: number[] | null; atMs: number }[];
  transmitted: number[][];
  failed: { ip: number; dropped: number; atMs: number }[];
}

let scheduler: Scheduler;
let cache: NeighborCache;
let rec: Recorded;

function setup(options: Partial<NeighborOptions> = {}): void {
  scheduler = new Scheduler(new SimClock(0));
  rec = { requests: [], transmitted: [], failed: [] };
  const link: NeighborLink = {
    sendRequest: (ip, unicastMac) => rec.requests.push({ ip, unicastMac: unicastMac && [...unicastMac], atMs: scheduler.now() }),
    transmitQueued: (frame) => rec.transmitted.push([...frame]),
    resolveFailed: (ip, dropped) => rec.failed.push({ ip, dropped, atMs: scheduler.now() }),
  };
  cache = new NeighborCache(scheduler, link, options);
}

/** A fake frame: 6 bytes of destination MAC to be filled in, then a marker byte. */
function frame(marker: number): Uint8Array {
  return new Uint8Array([0, 0, 0, 0, 0, 0, marker]);
}

afterEach(() => {
  cache.clear();
  expect(scheduler.armedLabels()).toEqual([]);
});

describe("resolution", () => {
  it("queues a frame, broadcasts a request and flushes the frame with the MAC written in", () => {
    setup();
    expect(cache.lookup(IP_A, 0)).toBeNull();
    expect(cache.enqueue(IP_A, frame(1), 7, 0)).toBe(true);
    expect(cache.enqueue(IP_A, frame(2), 7, 0)).toBe(true);
    expect(rec.requests).toEqual([{ ip: IP_A, unicastMac: null, atMs: 0 }]);
    expect(cache.list(0)).toEqual([{ ip: IP_A, mac: null, state: "INCOMPLETE", expiresInMs: 0, pendingFrames: 2 }]);
    scheduler.advance(300);
    expect(cache.update(IP_A, MAC_A, 0, false, scheduler.now())).toBe(true);
    expect(rec.transmitted).toEqual([
      [...MAC_A, 1],
      [...MAC_A, 2],
    ]);
    expect(cache.stats).toMatchObject({ requestsSent: 1, resolved: 1, pendingQueued: 2, pendingFlushed: 2 });
    expect(cache.lookup(IP_A, 300)).toEqual(MAC_A);
  });

  it("sends 3 requests 1 s apart, then fails the waiting frames (RFC 1122 §2.3.2.1)", () => {
    setup();
    cache.enqueue(IP_C, frame(1), 7, 0);
    cache.enqueue(IP_C, frame(2), 7, 0);
    scheduler.advance(2999);
    expect(rec.requests.map((r) => r.atMs)).toEqual([0, 1000, 2000]);
    expect(rec.failed).toEqual([]);
    scheduler.advance(1);
    expect(rec.failed).toEqual([{ ip: IP_C, dropped: 2, atMs: 3000 }]);
    expect(rec.transmitted).toEqual([]);
    expect(cache.size).toBe(0);
    expect(cache.stats).toMatchObject({ requestsSent: 3, resolveFailed: 1, pendingDropped: 2 });
    expect(scheduler.armedCount).toBe(0);
  });

  it("does not re-request for frames queued while a request is outstanding", () => {
    setup();
    cache.enqueue(IP_C, frame(1), 7, 0);
    scheduler.advance(500);
    cache.enqueue(IP_C, frame(2), 7, 500);
    expect(rec.requests).toHaveLength(1);
  });

  it("bounds the pending queue by frames and counts the overflow", () => {
    setup({ maxPendingFrames: 2 });
    expect(cache.enqueue(IP_C, frame(1), 7, 0)).toBe(true);
    expect(cache.enqueue(IP_C, frame(2), 7, 0)).toBe(true);
    expect(cache.enqueue(IP_C, frame(3), 7, 0)).toBe(false);
    expect(cache.stats.pendingDropped).toBe(1);
    cache.update(IP_C, MAC_C, 0, false, 0);
    expect(rec.transmitted.map((f) => f[6])).toEqual([1, 2]);
  });

  it("bounds the pending queue by bytes", () => {
    setup({ maxPendingBytes: 2000 });
    expect(cache.enqueue(IP_C, new Uint8Array(1500), 1500, 0)).toBe(true);
    expect(cache.enqueue(IP_C, new Uint8Array(1500), 1500, 0)).toBe(false);
    expect(cache.enqueue(IP_C, new Uint8Array(400), 400, 0)).toBe(true);
    expect(cache.stats).toMatchObject({ pendingQueued: 2, pendingDropped: 1 });
  });

  it("copies a queued frame: the caller may reuse its buffer", () => {
    setup();
    const f = frame(9);
    cache.enqueue(IP_A, f, 7, 0);
    f[6] = 0;
    cache.update(IP_A, MAC_A, 0, false, 0);
    expect(rec.transmitted).toEqual([[...MAC_A, 9]]);
  });
});

describe("merge (RFC 826)", () => {
  it("does not create an entry when asked only to merge", () => {
    setup();
    expect(cache.update(IP_A, MAC_A, 0, false, 0)).toBe(false);
    expect(cache.size).toBe(0);
  });

  it("creates when allowed and updates an existing entry's MAC and lifetime", () => {
    setup({ reachableMs: 10_000 });
    expect(cache.update(IP_A, MAC_A, 0, true, 0)).toBe(true);
    scheduler.advance(6000);
    const mac = new Uint8Array([9, 9, ...MAC_C]);
    expect(cache.update(IP_A, mac, 2, false, 6000)).toBe(true);
    expect(cache.stats.updated).toBe(1);
    expect(cache.list(6000)).toEqual([{ ip: IP_A, mac: MAC_C, state: "REACHABLE", expiresInMs: 10_000, pendingFrames: 0 }]);
    scheduler.advance(9999);
    expect(cache.lookup(IP_A, scheduler.now())).toEqual(MAC_C);
  });
});

describe("ageing", () => {
  it("forgets an unconfirmed entry after reachableMs", () => {
    setup({ reachableMs: 10_000 });
    cache.learn(IP_A, MAC_A, 0);
    scheduler.advance(9999);
    expect(cache.size).toBe(1);
    scheduler.advance(1);
    expect(cache.size).toBe(0);
    expect(cache.stats.expired).toBe(1);
    expect(cache.lookup(IP_A, 10_000)).toBeNull();
  });

  it("sends one unicast refresh when an entry is used within refreshBeforeMs of expiry", () => {
    setup({ reachableMs: 10_000, refreshBeforeMs: 2000 });
    cache.learn(IP_A, MAC_A, 0);
    scheduler.advance(7999);
    expect(cache.lookup(IP_A, 7999)).toEqual(MAC_A);
    expect(rec.requests).toEqual([]);
    scheduler.advance(1);
    cache.lookup(IP_A, 8000);
    cache.lookup(IP_A, 8000);
    expect(rec.requests).toEqual([{ ip: IP_A, unicastMac: [...MAC_A], atMs: 8000 }]);
    // The answer confirms the entry for another full lifetime.
    cache.update(IP_A, MAC_A, 0, false, 8500);
    scheduler.advance(10_000);
    expect(cache.size).toBe(1);
    expect(cache.list(18_000)[0]?.expiresInMs).toBe(500);
  });

  it("does not refresh an entry nobody uses", () => {
    setup({ reachableMs: 10_000, refreshBeforeMs: 2000 });
    cache.learn(IP_A, MAC_A, 0);
    scheduler.advance(10_000);
    expect(rec.requests).toEqual([]);
    expect(cache.size).toBe(0);
  });
});

describe("bounds", () => {
  it("evicts the entry unused longest when full, failing its waiting frames", () => {
    setup({ maxEntries: 2 });
    cache.enqueue(IP_C, frame(1), 7, 0); // incomplete, last used at 0
    cache.learn(IP_A, MAC_A, 10);
    scheduler.advance(20);
    cache.learn(IP_B, MAC_B, 20);
    expect(cache.stats.evicted).toBe(1);
    expect(rec.failed).toEqual([{ ip: IP_C, dropped: 1, atMs: 20 }]);
    expect(cache.list(20).map((n) => n.ip).sort()).toEqual([IP_A, IP_B].sort());
  });

  it("remove() and clear() cancel their deadlines", () => {
    setup();
    cache.learn(IP_A, MAC_A, 0);
    cache.enqueue(IP_C, frame(1), 7, 0);
    expect(scheduler.armedCount).toBe(2);
    cache.remove(IP_A);
    cache.remove(IP_A);
    expect(scheduler.armedCount).toBe(1);
    cache.clear();
    expect(scheduler.armedCount).toBe(0);
    expect(cache.size).toBe(0);
  });
});
