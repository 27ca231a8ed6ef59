// An in-memory Ethernet wire joining two stacks in one process, for deterministic tests. Each transmit is
// copied and delivered to the other end after `latencyMs` from the shared scheduler, so with a SimClock
// whole conversations run without host timers. Frames due at the same instant arrive as one batch.
// With `offloads` the wire behaves like a TAP with the virtio-net header between two stacks: a super-frame or
// partial checksum one end sends arrives at the other with the same facts, as GRO/NEEDS_CSUM input.

import type { Device, FrameReceiver } from "./device.js";
import { FrameOffload, NO_OFFLOADS, type DeviceOffloads } from "./offload.js";
import { Deadline, type Scheduler } from "../core/scheduler.js";

export interface MemLinkOptions {
  latencyMs: number;
  mtu: number;
  /** Frames in flight per direction before the wire drops (counted). */
  maxInFlight: number;
  /** What both ends take on transmit (and so may deliver): none by default, a plain Ethernet wire. */
  offloads: DeviceOffloads;
}

const DEFAULTS: MemLinkOptions = { latencyMs: 0, mtu: 1500, maxInFlight: 4096, offloads: NO_OFFLOADS };

interface InFlight {
  frame: Uint8Array;
  atMs: number;
  /** A private copy of the sender's offload facts, or null for a plain frame. */
  offload: FrameOffload | null;
}

export class MemDevice implements Device {
  peer: MemDevice | null = null;
  receiver: FrameReceiver | null = null;
  readonly stats = { txFrames: 0, rxFrames: 0, dropped: 0 };
  private readonly queue: InFlight[] = [];
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

  get offloads(): DeviceOffloads {
    return this.options.offloads;
  }

  attach(receiver: FrameReceiver): void {
    this.receiver = receiver;
  }

  transmit(bytes: Uint8Array, offset: number, length: number, offload: FrameOffload | null = null): boolean {
    const peer = this.peer;
    if (this.closed || peer === null || peer.closed) return false;
    if (peer.queue.length - peer.queueHead >= this.options.maxInFlight) {
      this.stats.dropped++;
      return false;
    }
    this.stats.txFrames++;
    const meta = offload !== null && (offload.isGso || offload.flags !== 0) ? new FrameOffload().copyFrom(offload) : null;
    peer.enqueue(bytes.slice(offset, offset + length), this.scheduler.now() + this.options.latencyMs, meta);
    return true;
  }

  close(): void {
    this.closed = true;
    this.queue.length = 0;
    this.queueHead = 0;
    this.scheduler.cancel(this.delivery);
  }

  private enqueue(frame: Uint8Array, atMs: number, offload: FrameOffload | null): void {
    this.queue.push({ frame, atMs, offload });
    if (!this.delivery.isArmed) this.scheduler.set(this.delivery, atMs);
  }

  private deliver(nowMs: number): void {
    const q = this.queue;
    let delivered = 0;
    while (this.queueHead < q.length) {
      const item = q[this.queueHead] as InFlight;
      if (item.atMs > nowMs) break;
      this.queueHead++;
      delivered++;
      this.stats.rxFrames++;
      this.receiver?.frame(item.frame, 0, item.frame.length, item.offload);
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
