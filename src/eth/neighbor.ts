// The ARP neighbour cache (RFC 826, RFC 1122 §2.3.2): maps next-hop IPv4 addresses to MACs, resolves
// unknown ones with retried requests while a bounded queue holds the frames waiting for them, ages entries,
// and refreshes entries still in use before they expire (as lwIP does) so busy flows never stall.
// Called by eth/netif for both ARP input and IPv4 output; sends through the `NeighborLink` it is given.

import { Deadline, type Scheduler } from "../core/scheduler.js";
import { makeCounters } from "../core/stats.js";

export const NeighborState = { INCOMPLETE: 0, REACHABLE: 1 } as const;
export type NeighborStateCode = (typeof NeighborState)[keyof typeof NeighborState];
const STATE_NAMES = ["INCOMPLETE", "REACHABLE"] as const;

export interface NeighborOptions {
  /** Most entries held; when full the entry unused longest is evicted (counted). */
  maxEntries: number;
  /** How long a resolved entry lives without being confirmed (lwIP ARP_MAXAGE: 300 s). */
  reachableMs: number;
  /** A used entry is re-requested (unicast) this long before it expires. */
  refreshBeforeMs: number;
  /** Time between requests for an unresolved address (RFC 1122 §2.3.2.1: at most one per second). */
  requestIntervalMs: number;
  /** Requests sent before giving up and failing the waiting frames with EHOSTUNREACH. */
  maxRequests: number;
  /** Frames and bytes queued per unresolved address (RFC 1122 §2.3.2.2: at least the latest one). */
  maxPendingFrames: number;
  maxPendingBytes: number;
}

export const DEFAULT_NEIGHBOR_OPTIONS: NeighborOptions = {
  maxEntries: 64,
  reachableMs: 300_000,
  refreshBeforeMs: 15_000,
  requestIntervalMs: 1000,
  maxRequests: 3,
  // Enough for one 65 535-byte datagram cut into 1500-byte fragments (45 frames).
  maxPendingFrames: 64,
  maxPendingBytes: 128 * 1024,
};

/** What the cache needs from the interface below it. */
export interface NeighborLink {
  /** Sends an ARP request for `ip`: broadcast when `unicastMac` is null, else to that MAC (refresh). */
  sendRequest(ip: number, unicastMac: Uint8Array | null): void;
  /** Sends a queued frame whose destination MAC has just been written. */
  transmitQueued(frame: Uint8Array): void;
  /** Resolution of `ip` failed; `dropped` frames were discarded. */
  resolveFailed(ip: number, dropped: number): void;
}

class Neighbor {
  state: NeighborStateCode = NeighborState.INCOMPLETE;
  readonly mac = new Uint8Array(6);
  /** REACHABLE: when the entry expires. */
  expiresAtMs = 0;
  requestsSent = 0;
  /** Set when a refresh request has gone out for the current lifetime. */
  refreshSent = false;
  lastUsedMs = 0;
  /** Frames waiting for resolution, each a private copy with room for the destination MAC at 0..5. */
  pending: Uint8Array[] = [];
  pendingBytes = 0;
  readonly deadline: Deadline;

  constructor(
    readonly ip: number,
    fire: (n: Neighbor, nowMs: number) => void,
  ) {
    this.deadline = new Deadline((now) => fire(this, now), `arp ${ip >>> 0}`);
  }
}

export interface NeighborInfo {
  ip: number;
  mac: Uint8Array | null;
  state: (typeof STATE_NAMES)[number];
  expiresInMs: number;
  pendingFrames: number;
}

export class NeighborCache {
  readonly stats = makeCounters([
    "requestsSent",
    "resolved",
    "resolveFailed",
    "pendingQueued",
    "pendingDropped",
    "pendingFlushed",
    "evicted",
    "expired",
    "updated",
  ] as const);

  private readonly entries = new Map<number, Neighbor>();
  private readonly options: NeighborOptions;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly link: NeighborLink,
    options: Partial<NeighborOptions> = {},
  ) {
    this.options = { ...DEFAULT_NEIGHBOR_OPTIONS, ...options };
  }

  get size(): number {
    return this.entries.size;
  }

  /** The MAC for `ip` if resolved (and marks it used), else null. Never allocates. */
  lookup(ip: number, nowMs: number): Uint8Array | null {
    const n = this.entries.get(ip);
    if (n === undefined || n.state !== NeighborState.REACHABLE) return null;
    n.lastUsedMs = nowMs;
    if (!n.refreshSent && n.expiresAtMs - nowMs <= this.options.refreshBeforeMs) {
      n.refreshSent = true;
      this.link.sendRequest(ip, n.mac);
      this.stats.requestsSent++;
    }
    return n.mac;
  }

  /**
   * Queues a copy of `frame[0, length)` until `ip` resolves, starting resolution if needed. Returns false
   * when the frame was dropped because the queue for `ip` is full.
   */
  enqueue(ip: number, frame: Uint8Array, length: number, nowMs: number): boolean {
    let n = this.entries.get(ip);
    if (n === undefined) {
      n = this.create(ip, nowMs);
      this.sendRequest(n, nowMs);
    }
    n.lastUsedMs = nowMs;
    const o = this.options;
    if (n.pending.length >= o.maxPendingFrames || n.pendingBytes + length > o.maxPendingBytes) {
      this.stats.pendingDropped++;
      return false;
    }
    n.pending.push(frame.slice(0, length));
    n.pendingBytes += length;
    this.stats.pendingQueued++;
    return true;
  }

  /**
   * RFC 826 "merge": if `ip` is known, its MAC is updated. If `create` (the packet was addressed to us),
   * an unknown sender is added. Returns whether an entry was updated or created.
   */
  update(ip: number, macBytes: Uint8Array, macOffset: number, create: boolean, nowMs: number): boolean {
    let n = this.entries.get(ip);
    if (n === undefined) {
      if (!create) return false;
      n = this.create(ip, nowMs);
    } else {
      this.stats.updated++;
    }
    const wasIncomplete = n.state === NeighborState.INCOMPLETE;
    for (let i = 0; i < 6; i++) n.mac[i] = macBytes[macOffset + i] ?? 0;
    n.state = NeighborState.REACHABLE;
    n.expiresAtMs = nowMs + this.options.reachableMs;
    n.refreshSent = false;
    n.requestsSent = 0;
    this.scheduler.set(n.deadline, n.expiresAtMs);
    if (wasIncomplete) this.stats.resolved++;
    if (n.pending.length > 0) this.flush(n);
    return true;
  }

  /** Adds or replaces a permanent-looking entry (tests, static neighbours). */
  learn(ip: number, mac: Uint8Array, nowMs: number): void {
    this.update(ip, mac, 0, true, nowMs);
  }

  remove(ip: number): void {
    const n = this.entries.get(ip);
    if (n === undefined) return;
    this.scheduler.cancel(n.deadline);
    this.entries.delete(ip);
  }

  /** Drops every entry and queued frame and cancels their timers. */
  clear(): void {
    for (const n of this.entries.values()) this.scheduler.cancel(n.deadline);
    this.entries.clear();
  }

  list(nowMs: number): NeighborInfo[] {
    return [...this.entries.values()].map((n) => ({
      ip: n.ip,
      mac: n.state === NeighborState.REACHABLE ? n.mac.slice() : null,
      state: STATE_NAMES[n.state],
      expiresInMs: n.state === NeighborState.REACHABLE ? n.expiresAtMs - nowMs : 0,
      pendingFrames: n.pending.length,
    }));
  }

  private create(ip: number, nowMs: number): Neighbor {
    if (this.entries.size >= this.options.maxEntries) this.evictOne();
    const n = new Neighbor(ip, this.onDeadline);
    n.lastUsedMs = nowMs;
    this.entries.set(ip, n);
    return n;
  }

  private evictOne(): void {
    let victim: Neighbor | null = null;
    for (const n of this.entries.values()) {
      if (victim === null || n.lastUsedMs < victim.lastUsedMs) victim = n;
    }
    if (victim === null) return;
    this.stats.evicted++;
    this.fail(victim);
  }

  private sendRequest(n: Neighbor, nowMs: number): void {
    n.requestsSent++;
    this.stats.requestsSent++;
    this.link.sendRequest(n.ip, null);
    this.scheduler.set(n.deadline, nowMs + this.options.requestIntervalMs);
  }

  private readonly onDeadline = (n: Neighbor, nowMs: number): void => {
    if (n.state === NeighborState.REACHABLE) {
      // Not confirmed within its lifetime: forget it; the next use resolves again.
      this.stats.expired++;
      this.entries.delete(n.ip);
      return;
    }
    if (n.requestsSent < this.options.maxRequests) {
      this.sendRequest(n, nowMs);
      return;
    }
    this.stats.resolveFailed++;
    this.fail(n);
  };

  /** Removes `n`, dropping its queued frames, and reports the failure if frames were waiting. */
  private fail(n: Neighbor): void {
    this.scheduler.cancel(n.deadline);
    this.entries.delete(n.ip);
    const dropped = n.pending.length;
    n.pending = [];
    n.pendingBytes = 0;
    this.stats.pendingDropped += dropped;
    if (n.state === NeighborState.INCOMPLETE) this.link.resolveFailed(n.ip, dropped);
  }

  private flush(n: Neighbor): void {
    const frames = n.pending;
    n.pending = [];
    n.pendingBytes = 0;
    for (const f of frames) {
      f.set(n.mac, 0);
      this.link.transmitQueued(f);
      this.stats.pendingFlushed++;
    }
  }
}
