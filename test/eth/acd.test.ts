// RFC 5227 address conflict detection (src/eth/acd.ts) over a recording link on the simulated clock: the
// probe's pacing and outcome (§2.1.1), what counts as a conflict while probing, announcements (§2.3), and
// conflicts with the address in use — told to listeners, defended at most once per DEFEND_INTERVAL when
// asked (§2.4 (b)), kept otherwise (§2.4 (c)). After each test nothing may stay armed.

import { afterEach, describe, expect, it } from "vitest";
import { SimClock } from "../../src/core/clock.js";
import { Scheduler } from "../../src/core/scheduler.js";
import { Prng } from "../../src/core/prng.js";
import { parseIpv4, parseMac } from "../../src/core/addr.js";
import {
  ANNOUNCE_INTERVAL_MS,
  ANNOUNCE_WAIT_MS,
  Acd,
  DEFEND_INTERVAL_MS,
  PROBE_MAX_MS,
  PROBE_MIN_MS,
  PROBE_NUM,
  PROBE_WAIT_MS,
  type AcdOptions,
  type ProbeEvents,
} from "../../src/eth/acd.js";

const OUR_MAC = parseMac("02:00:00:00:00:02");
const OTHER_MAC = parseMac("02:00:00:00:00:03");
const CANDIDATE = parseIpv4("10.0.0.50");
const OURS = parseIpv4("10.0.0.2");
const OTHER = parseIpv4("10.0.0.9");

/** ARP requests the Acd sent: [time, sender, target]. */
type Sent = [number, number, number];

let scheduler: Scheduler;

afterEach(() => {
  expect(scheduler.armedLabels()).toEqual([]);
});

function rig(options: Partial<AcdOptions> = {}, accepts = true): { acd: Acd; sent: Sent[] } {
  scheduler = new Scheduler(new SimClock(1000));
  const sent: Sent[] = [];
  const link = {
    mac: OUR_MAC,
    sendArpRequest: (senderIp: number, targetIp: number): boolean => {
      sent.push([scheduler.now(), senderIp, targetIp]);
      return accepts;
    },
  };
  return { acd: new Acd(link, scheduler, new Prng(5227), options), sent };
}

/** A prober that writes down what it hears. */
function listener(): ProbeEvents & { log: string[] } {
  const log: string[] = [];
  return {
    log,
    probeSent: (ok) => log.push(ok ? "sent" : "refused"),
    free: (now) => log.push(`free@${now}`),
    conflict: (now) => log.push(`conflict@${now}`),
  };
}

/** A received ARP packet's sender MAC, laid out as in a frame (the Acd reads 6 bytes at an offset). */
function macBytes(mac: Uint8Array): Uint8Array {
  const b = new Uint8Array(16);
  b.set(mac, 4);
  return b;
}

describe("probing (RFC 5227 §2.1.1)", () => {
  it("sends PROBE_NUM probes (sender 0.0.0.0) after a random PROBE_WAIT, PROBE_MIN..PROBE_MAX apart, then free after ANNOUNCE_WAIT", () => {
    const { acd, sent } = rig();
    const t0 = scheduler.now();
    const events = listener();
    acd.probe(CANDIDATE, events);
    expect(acd.probing).toBe(CANDIDATE);
    scheduler.advance(20_000);
    expect(sent.map(([, s, t]) => [s, t])).toEqual(Array.from({ length: PROBE_NUM }, () => [0, CANDIDATE]));
    const first = sent[0]![0] - t0;
    expect(first).toBeGreaterThanOrEqual(0);
    expect(first).toBeLessThan(PROBE_WAIT_MS);
    for (let i = 1; i < sent.length; i++) {
      const gap = sent[i]![0] - sent[i - 1]![0];
      expect(gap).toBeGreaterThanOrEqual(PROBE_MIN_MS);
      expect(gap).toBeLessThanOrEqual(PROBE_MAX_MS);
    }
    expect(events.log).toEqual(["sent", "sent", "sent", `free@${sent.at(-1)![0] + ANNOUNCE_WAIT_MS}`]);
    expect(acd.probing).toBe(0);
    expect(acd.stats.probesSent).toBe(PROBE_NUM);
  });

  it("tells the prober when the device refuses a probe", () => {
    const { acd } = rig({}, false);
    const events = listener();
    acd.probe(CANDIDATE, events, { probeWaitMs: 0, probeCount: 1, probeMinMs: 0, probeMaxMs: 0, announceWaitMs: 10 });
    scheduler.advance(100);
    expect(events.log).toEqual(["refused", `free@${1010}`]);
  });

  it("another host using the candidate as its sender address is a conflict; the probe ends", () => {
    const { acd, sent } = rig();
    const events = listener();
    acd.probe(CANDIDATE, events);
    scheduler.advance(PROBE_WAIT_MS);
    expect(acd.arpInput(CANDIDATE, OTHER, macBytes(OTHER_MAC), 4, 0)).toBe(false);
    expect(events.log).toEqual(["sent", `conflict@${scheduler.now()}`]);
    scheduler.advance(20_000);
    expect(sent).toHaveLength(1);
    expect(acd.stats.probeConflicts).toBe(1);
  });

  it("another host probing for the candidate at the same time is a conflict", () => {
    const { acd } = rig();
    const events = listener();
    acd.probe(CANDIDATE, events);
    acd.arpInput(0, CANDIDATE, macBytes(OTHER_MAC), 4, 0);
    expect(events.log).toEqual([`conflict@${scheduler.now()}`]);
  });

  it("our own packets, probes for other addresses and ARP about other hosts are no conflict", () => {
    const { acd } = rig();
    const events = listener();
    acd.probe(CANDIDATE, events);
    acd.arpInput(CANDIDATE, CANDIDATE, macBytes(OUR_MAC), 4, 0);
    acd.arpInput(0, OTHER, macBytes(OTHER_MAC), 4, 0);
    acd.arpInput(OTHER, OURS, macBytes(OTHER_MAC), 4, 0);
    scheduler.advance(20_000);
    expect(events.log.at(-1)).toMatch(/^free@/);
    expect(acd.stats.probeConflicts).toBe(0);
  });

  it("a new probe replaces the running one, whose prober hears nothing more; cancelProbe(events) cancels only its own", () => {
    const { acd } = rig();
    const first = listener();
    const second = listener();
    acd.probe(CANDIDATE, first);
    acd.probe(OTHER, second);
    acd.cancelProbe(first);
    expect(acd.probing).toBe(OTHER);
    scheduler.advance(20_000);
    expect(first.log).toEqual([]);
    expect(second.log.at(-1)).toMatch(/^free@/);
    acd.probe(CANDIDATE, first);
    acd.cancelProbe(first);
    expect(acd.probing).toBe(0);
  });
});

describe("announcements (RFC 5227 §2.3)", () => {
  it("announces ANNOUNCE_NUM times, ANNOUNCE_INTERVAL apart, with sender and target our address", () => {
    const { acd, sent } = rig();
    acd.announce(OURS);
    scheduler.advance(10_000);
    expect(sent).toEqual([
      [1000, OURS, OURS],
      [1000 + ANNOUNCE_INTERVAL_MS, OURS, OURS],
    ]);
  });

  it("a new address restarts the announcements; address 0 stops them", () => {
    const { acd, sent } = rig();
    acd.announce(OURS);
    scheduler.advance(500);
    acd.announce(OTHER);
    scheduler.advance(500);
    acd.announce(0);
    scheduler.advance(10_000);
    expect(sent).toEqual([
      [1000, OURS, OURS],
      [1500, OTHER, OTHER],
    ]);
  });

  it("shutdown() cancels announcements and probes", () => {
    const { acd, sent } = rig();
    acd.announce(OURS);
    acd.probe(CANDIDATE, listener());
    acd.shutdown();
    scheduler.advance(10_000);
    expect(sent).toHaveLength(1);
    expect(acd.probing).toBe(0);
  });
});

describe("conflicts with the address in use (RFC 5227 §2.4)", () => {
  it("reports another MAC using our address to every listener and keeps quiet by default (§2.4 (c))", () => {
    const { acd, sent } = rig();
    const heard: [number, number, boolean][] = [];
    const other: number[] = [];
    const removed = (): void => void other.push(1);
    acd.addConflictListener((ip, now, defended) => heard.push([ip, now, defended]));
    acd.addConflictListener(removed);
    acd.removeConflictListener(removed);
    expect(acd.arpInput(OURS, OTHER, macBytes(OTHER_MAC), 4, OURS)).toBe(true);
    // Not a conflict: our own MAC, another sender, or no address in use.
    expect(acd.arpInput(OURS, OTHER, macBytes(OUR_MAC), 4, OURS)).toBe(false);
    expect(acd.arpInput(OTHER, OURS, macBytes(OTHER_MAC), 4, OURS)).toBe(false);
    expect(acd.arpInput(OURS, OURS, macBytes(OTHER_MAC), 4, 0)).toBe(false);
    expect(heard).toEqual([[OURS, 1000, false]]);
    expect(other).toEqual([]);
    expect(sent).toEqual([]);
    expect(acd.stats).toMatchObject({ conflicts: 1, defences: 0 });
  });

  it("with `defend`, answers one conflict per DEFEND_INTERVAL with an announcement (§2.4 (b))", () => {
    const { acd, sent } = rig({ defend: true });
    const heard: boolean[] = [];
    acd.addConflictListener((_ip, _now, defended) => heard.push(defended));
    acd.arpInput(OURS, OURS, macBytes(OTHER_MAC), 4, OURS);
    scheduler.advance(DEFEND_INTERVAL_MS - 1);
    acd.arpInput(OURS, OURS, macBytes(OTHER_MAC), 4, OURS);
    scheduler.advance(1);
    acd.arpInput(OURS, OURS, macBytes(OTHER_MAC), 4, OURS);
    expect(heard).toEqual([true, false, true]);
    expect(sent).toEqual([
      [1000, OURS, OURS],
      [1000 + DEFEND_INTERVAL_MS, OURS, OURS],
    ]);
    expect(acd.stats.defences).toBe(2);
  });
});
