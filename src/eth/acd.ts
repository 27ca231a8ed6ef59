// IPv4 address conflict detection (RFC 5227) on one netif: probing a candidate before it is used (§2.1; the
// DHCP client's CHECKING state asks for it), announcing an address taken into use (§2.3; the netif asks at
// up() and for every new address) and watching ARP for another host using ours (§2.4: conflict listeners,
// optional defence). Input: Netif.arpInput → Acd.arpInput for every valid ARP packet, before the netif
// merges or answers it. Output: ARP requests through the AcdLink the netif hands over; timers are deadlines.

import { Deadline, type Scheduler } from "../core/scheduler.js";
import { makeCounters } from "../core/stats.js";
import type { Random } from "../core/random.js";
import { macEquals, type MacAddr } from "../core/addr.js";

/** RFC 5227 §1.1 constants. */
export const PROBE_WAIT_MS = 1000;
export const PROBE_NUM = 3;
export const PROBE_MIN_MS = 1000;
export const PROBE_MAX_MS = 2000;
export const ANNOUNCE_WAIT_MS = 2000;
export const ANNOUNCE_NUM = 2;
export const ANNOUNCE_INTERVAL_MS = 2000;
export const DEFEND_INTERVAL_MS = 10_000;

/** How a probe is paced (RFC 5227 §2.1.1); the defaults are §1.1's constants. */
export interface ProbeTiming {
  /** A random 0..probeWaitMs before the first probe. */
  probeWaitMs: number;
  /** Probes sent, probeMinMs..probeMaxMs apart (random). */
  probeCount: number;
  probeMinMs: number;
  probeMaxMs: number;
  /** After the last probe, this long without a conflict makes the address free. */
  announceWaitMs: number;
}

export const DEFAULT_PROBE_TIMING: Readonly<ProbeTiming> = {
  probeWaitMs: PROBE_WAIT_MS,
  probeCount: PROBE_NUM,
  probeMinMs: PROBE_MIN_MS,
  probeMaxMs: PROBE_MAX_MS,
  announceWaitMs: ANNOUNCE_WAIT_MS,
};

/** What the prober of a candidate hears back. */
export interface ProbeEvents {
  /** One probe went out; `sent` is false when the device refused it. */
  probeSent(sent: boolean): void;
  /** RFC 5227 §2.1.1: announceWaitMs passed after the last probe without a conflict: the address may be used. */
  free(nowMs: number): void;
  /** RFC 5227 §2.1.1: another host uses the candidate or probes for it too. The probe is over. */
  conflict(nowMs: number): void;
}

/**
 * Another host claims the address in use (RFC 5227 §2.4). `defended` says an announcement answered it; with
 * `defend` on, a conflict that is not defended (a second within DEFEND_INTERVAL) means the address must go.
 */
export type ConflictListener = (ip: number, nowMs: number, defended: boolean) => void;

export interface AcdOptions {
  /**
   * RFC 5227 §2.4 (b): answer a conflict with one announcement unless one was made in the last
   * DEFEND_INTERVAL. Off (the default): §2.4 (c), the address is kept and the listeners are told — a board
   * has no user to ask, and nothing else wants the address back.
   */
  defend: boolean;
}

/** How the Acd sends: the netif's ARP output. */
export interface AcdLink {
  readonly mac: MacAddr;
  /** Broadcasts an ARP request from `senderIp` for `targetIp`; false when the device refused it. */
  sendArpRequest(senderIp: number, targetIp: number): boolean;
}

export class Acd {
  readonly stats = makeCounters(["probesSent", "probeConflicts", "announcementsSent", "conflicts", "defences"] as const);
  private readonly options: AcdOptions;

  /** The candidate being probed, 0 when none; `probeEvents` is set exactly while it is not 0. */
  private probeIp = 0;
  private probeEvents: ProbeEvents | null = null;
  private probeTiming: ProbeTiming = DEFAULT_PROBE_TIMING;
  /** Probes sent for the current candidate. */
  private probes = 0;
  private readonly probeDeadline = new Deadline((now) => this.probeStep(now), "acd probe");

  /** The address being announced, and announcements still to send. */
  private announceIp = 0;
  private announcementsLeft = 0;
  private readonly announceDeadline = new Deadline(() => this.announceStep(), "acd announce");

  /** When we last defended the address in use (RFC 5227 §2.4 (b)). */
  private lastDefenceAtMs = -Infinity;
  private readonly conflictListeners: ConflictListener[] = [];

  constructor(
    private readonly link: AcdLink,
    private readonly scheduler: Scheduler,
    private readonly random: Random,
    options: Partial<AcdOptions> = {},
  ) {
    this.options = { defend: false, ...options };
  }

  /** The candidate being probed, or 0. */
  get probing(): number {
    return this.probeIp;
  }

  /**
   * RFC 5227 §2.1.1: probes `candidate` (ARP requests with sender 0.0.0.0) and tells `events` whether it is
   * free or taken. One probe at a time: a new one replaces the one running, which hears nothing more.
   */
  probe(candidate: number, events: ProbeEvents, timing: ProbeTiming = DEFAULT_PROBE_TIMING): void {
    this.cancelProbe();
    this.probeIp = candidate >>> 0;
    this.probeEvents = events;
    this.probeTiming = timing;
    this.probes = 0;
    // RFC 5227 §2.1.1: wait a random time in [0, PROBE_WAIT) before the first probe.
    this.scheduler.set(this.probeDeadline, this.scheduler.now() + this.uniform(0, timing.probeWaitMs));
  }

  /** Ends the running probe without a word to its prober; with `events`, only if that prober's is running. */
  cancelProbe(events?: ProbeEvents): void {
    if (events !== undefined && events !== this.probeEvents) return;
    this.scheduler.cancel(this.probeDeadline);
    this.probeIp = 0;
    this.probeEvents = null;
  }

  /** RFC 5227 §2.3: ANNOUNCE_NUM announcements of `ip`, ANNOUNCE_INTERVAL apart (0 stops announcing). */
  announce(ip: number): void {
    this.announceIp = ip >>> 0;
    this.announcementsLeft = ip === 0 ? 0 : ANNOUNCE_NUM;
    this.scheduler.cancel(this.announceDeadline);
    this.announceStep();
  }

  addConflictListener(listener: ConflictListener): void {
    this.conflictListeners.push(listener);
  }

  removeConflictListener(listener: ConflictListener): void {
    const i = this.conflictListeners.indexOf(listener);
    if (i >= 0) this.conflictListeners.splice(i, 1);
  }

  /**
   * Every valid ARP packet the netif receives, before it is merged or answered; `inUseIp` is the netif's
   * address (0: none). Returns true when the packet claims our address from another MAC (RFC 5227 §2.4):
   * the netif must then neither learn from it nor answer it.
   */
  arpInput(senderIp: number, targetIp: number, bytes: Uint8Array, senderMacOffset: number, inUseIp: number): boolean {
    if (macEquals(bytes, senderMacOffset, this.link.mac)) return false;
    const candidate = this.probeIp;
    // RFC 5227 §2.1.1: while probing, the candidate is taken if another host uses it as sender, or probes
    // for it at the same time (sender 0.0.0.0, target the candidate).
    if (candidate !== 0 && (senderIp === candidate || (senderIp === 0 && targetIp === candidate))) {
      const events = this.probeEvents;
      this.cancelProbe();
      this.stats.probeConflicts++;
      events?.conflict(this.scheduler.now());
    }
    if (inUseIp === 0 || senderIp !== inUseIp) return false;
    this.onConflict(inUseIp, this.scheduler.now());
    return true;
  }

  /** Cancels every timer (the netif goes down). */
  shutdown(): void {
    this.cancelProbe();
    this.scheduler.cancel(this.announceDeadline);
    this.announceIp = 0;
    this.announcementsLeft = 0;
  }

  private probeStep(now: number): void {
    const events = this.probeEvents;
    if (events === null) return;
    const t = this.probeTiming;
    if (this.probes >= t.probeCount) {
      this.cancelProbe();
      events.free(now);
      return;
    }
    const sent = this.link.sendArpRequest(0, this.probeIp);
    this.probes++;
    this.stats.probesSent++;
    events.probeSent(sent);
    // RFC 5227 §2.1.1: PROBE_MIN..PROBE_MAX between probes, ANNOUNCE_WAIT after the last.
    const wait = this.probes < t.probeCount ? this.uniform(t.probeMinMs, t.probeMaxMs) : t.announceWaitMs;
    this.scheduler.set(this.probeDeadline, now + wait);
  }

  /** RFC 5227 §2.3 ARP Announcement: a request with sender and target both the address. */
  private announceStep(): void {
    if (this.announceIp === 0 || this.announcementsLeft <= 0) return;
    this.announcementsLeft--;
    this.link.sendArpRequest(this.announceIp, this.announceIp);
    this.stats.announcementsSent++;
    if (this.announcementsLeft > 0) this.scheduler.after(this.announceDeadline, ANNOUNCE_INTERVAL_MS);
  }

  private onConflict(ip: number, now: number): void {
    this.stats.conflicts++;
    let defended = false;
    if (this.options.defend && now - this.lastDefenceAtMs >= DEFEND_INTERVAL_MS) {
      // RFC 5227 §2.4 (b): record the time and broadcast one announcement.
      this.lastDefenceAtMs = now;
      this.link.sendArpRequest(ip, ip);
      this.stats.defences++;
      defended = true;
    }
    for (const listener of this.conflictListeners.slice()) listener(ip, now, defended);
  }

  private uniform(lo: number, hi: number): number {
    return lo + this.random.next() * (hi - lo);
  }
}
