// Two stacks joined by a MemLink (optionally through FaultInjectors) on one simulated clock: the fixture
// for deterministic whole-stack tests.

import { SimClock } from "../../src/core/clock.js";
import { Scheduler } from "../../src/core/scheduler.js";
import { memLinkPair, type MemDevice } from "../../src/link/memlink.js";
import { FaultInjector, type FaultOptions } from "../../src/link/fault.js";
import type { Device } from "../../src/link/device.js";
import type { DeviceOffloads } from "../../src/link/offload.js";
import { Stack, type StackConfig } from "../../src/stack/stack.js";
import { parseIpv4, parseMac } from "../../src/core/addr.js";

export interface TwoStacks {
  scheduler: Scheduler;
  a: Stack;
  b: Stack;
  wireA: MemDevice;
  wireB: MemDevice;
  faultA: FaultInjector | null;
  faultB: FaultInjector | null;
  stop(): void;
}

export const A_IP = parseIpv4("10.0.0.1");
export const B_IP = parseIpv4("10.0.0.2");

export function twoStacks(
  options: {
    faults?: Partial<FaultOptions>;
    latencyMs?: number;
    mtu?: number;
    /** The wire's offloads (a TAP with the virtio-net header between the stacks); none by default. */
    offloads?: DeviceOffloads;
    a?: Partial<StackConfig>;
    b?: Partial<StackConfig>;
  } = {},
): TwoStacks {
  const scheduler = new Scheduler(new SimClock(1000));
  const mtu = options.mtu ?? 1500;
  const [wireA, wireB] = memLinkPair(scheduler, {
    latencyMs: options.latencyMs ?? 0.05,
    mtu,
    ...(options.offloads !== undefined ? { offloads: options.offloads } : {}),
  });
  let devA: Device = wireA;
  let devB: Device = wireB;
  let faultA: FaultInjector | null = null;
  let faultB: FaultInjector | null = null;
  if (options.faults !== undefined) {
    faultA = new FaultInjector(wireA, scheduler, { ...options.faults, directions: "tx" });
    faultB = new FaultInjector(wireB, scheduler, { ...options.faults, seed: (options.faults.seed ?? 1) + 1, directions: "tx" });
    devA = faultA;
    devB = faultB;
  }
  const base = { netmask: 0xffffff00, gateway: 0, mtu };
  const a = new Stack(devA, { ...base, mac: parseMac("02:00:00:00:00:01"), ip: A_IP, ...options.a }, scheduler);
  const b = new Stack(devB, { ...base, mac: parseMac("02:00:00:00:00:02"), ip: B_IP, ...options.b }, scheduler);
  a.start();
  b.start();
  return {
    scheduler,
    a,
    b,
    wireA,
    wireB,
    faultA,
    faultB,
    stop() {
      a.stop();
      b.stop();
    },
  };
}

/** Resolves a promise by running simulated time until it settles (or throws after `limitMs`). */
export async function settle<T>(scheduler: Scheduler, promise: Promise<T>, limitMs = 60_000): Promise<T> {
  let done = false;
  let value: T | undefined;
  let error: unknown = null;
  promise.then(
    (v) => {
      done = true;
      value = v;
    },
    (e: unknown) => {
      done = true;
      error = e ?? new Error("rejected");
    },
  );
  const end = scheduler.now() + limitMs;
  while (!done && scheduler.now() < end) {
    scheduler.advance(1);
    // Let promise callbacks run between simulated milliseconds.
    await Promise.resolve();
    await Promise.resolve();
  }
  if (!done) throw new Error(`did not settle within ${limitMs} simulated ms`);
  if (error !== null) throw error;
  return value as T;
}
