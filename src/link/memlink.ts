// An in-memory Ethernet wire joining two stacks in one process, for deterministic tests. Each transmit is
// copied and delivered to the other end after `latencyMs` from the shared scheduler, so with a SimClock
// whole conversations run without host timers. Frames due at the same instant arrive as one batch.

import type { Device, FrameReceiver } from "./device.js";
import { Deadline, type Scheduler } from "../core/scheduler.js";

export interface MemLinkOptions {
  latencyMs: number;
  mtu: number;
  /** Frames in flight per direction before the wire drops (counted). */
  maxInFlight: number;
}

const DEFAULTS: MemLinkOptions = { latencyMs: 0, mtu: 1500, maxInFlight: 4096 };

export class MemDevice implements Device {
  peer: MemDevice | null = null;
  receiver: FrameReceiver | null = null;
  readonly stats = { txFrames: 0, rxFrames: 0, dropped: 0 };
  private readonly queue: { frame: Uint8Array; atMs: number }[] = [];
  private queueHead = 0;
  private readonly delivery: Deadline;
  private closed = false;

  constructor(
    readonly name: string,
    private readonly scheduler: Scheduler,
    private readonly options: MemLinkOptions,
  ) {
    this.delivery = new Deadline((now) => this.deliver(now), `memlink ${name}`);
  }

  get mtu(): number {
    return this.options.mtu;
  }

  attach(receiver: FrameReceiver): void {
    this.receiver = receiver;
  }

  transmit(bytes: Uint8Array, offset: number, length: number): boolean {
    const peer = this.peer;
    if (this.closed || peer === null || peer.closed) return false;
    if (peer.queue.length - peer.queueHead >= this.options.maxInFlight) {
      this.stats.dropped++;
      return false;
    }
    this.stats.txFrames++;
    peer.enqueue(bytes.slice(offset, offset + length), this.scheduler.now() + this.options.latencyMs);
    return true;
  }

  close(): void {
    this.closed = true;
    this.queue.length = 0;
    this.queueHead = 0;
    this.scheduler.cancel(this.delivery);
  }

  private enqueue(frame: Uint8Array, atMs: number): void {
    this.queue.push({ frame, atMs });
    if (!this.delivery.isArmed) this.scheduler.set(this.delivery, atMs);
  }

  private deliver(nowMs: number): void {
    const q = this.queue;
    let delivered = 0;
    while (this.queueHead < q.length) {
      const item = q[this.queueHead] as { frame: Uint8Array; atMs: number };
      if (item.atMs > nowMs) break;
      this.queueHead++;
      delivered++;
      this.stats.rxFrames++;
      this.receiver?.frame(item.frame, 0, item.frame.length);
    }
    if (this.queueHead === q.length) {
      q.length = 0;
      this.queueHead = 0;
    } else if (this.queueHead > 1024) {
      q.splice(0, this.queueHead);
      this.queueHead = 0;
    }
    if (delivered > 0) this.receiver?.endBatch();
    const next = q[this.queueHead];
    if (next !== undefined && !this.closed) this.scheduler.set(this.delivery, next.atMs);
  }
}

/** Creates two devices joined to each other. */
export function memLinkPair(scheduler: Scheduler, options: Partial<MemLinkOptions> = {}): [MemDevice, MemDevice] {
  const o = { ...DEFAULTS, ...options };
  const a = new MemDevice("mem0", scheduler, o);
  const b = new MemDevice("mem1", scheduler, o);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
