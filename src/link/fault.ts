// Fault injection as device middleware: wraps any Device and, from a seeded PRNG, drops, duplicates,
// reorders, delays, corrupts and rate-limits frames in either direction. Deterministic for a given seed and
// scheduler, so a failing whole-stack test replays exactly. (This kernel has no netem; this replaces it.)
// Faults act on wire frames: an offloaded frame from below (a TCP super-frame, a partial checksum) is first
// cut into the segments it stands for with full checksums, and the stack above is told to send plain frames,
// so a lost or corrupted frame is one segment, and corruption is caught by the checksum as on a wire.

import { DeviceWrapper, type Device } from "./device.js";
import { NO_OFFLOADS, toWireFrames, type DeviceOffloads, type FrameOffload } from "./offload.js";
import { Prng } from "../core/prng.js";
import { Deadline, type Scheduler } from "../core/scheduler.js";
import { makeCounters } from "../core/stats.js";

export interface FaultOptions {
  seed: number;
  /** Probabilities in [0, 1], per frame. */
  loss: number;
  duplicate: number;
  /** A reordered frame is held back and sent after the next one (or after `delayMs + 1` at the latest). */
  reorder: number;
  /** One random bit flipped in a random byte of the frame. */
  corrupt: number;
  /** Extra one-way delay for every frame, plus uniform jitter in [0, jitterMs). Jitter can reorder. */
  delayMs: number;
  jitterMs: number;
  /** Bits per second (0: unlimited); frames queue behind each other and the queue is bounded. */
  rateBitsPerSec: number;
  rateQueueBytes: number;
  /** Which directions the faults apply to: frames the stack sends (tx), receives (rx), or both. */
  directions: "both" | "rx" | "tx";
}

export const NO_FAULTS: FaultOptions = {
  seed: 1,
  loss: 0,
  duplicate: 0,
  reorder: 0,
  corrupt: 0,
  delayMs: 0,
  jitterMs: 0,
  rateBitsPerSec: 0,
  rateQueueBytes: 256 * 1024,
  directions: "both",
};

type Sink = (bytes: Uint8Array, offset: number, length: number) => void;

/** One direction's fault pipeline. */
class FaultLane {
  readonly stats = makeCounters(["frames", "dropped", "duplicated", "reordered", "corrupted", "delayed", "rateDropped"] as const);
  private held: Uint8Array | null = null;
  private readonly pending: { frame: Uint8Array; atMs: number }[] = [];
  private readonly release: Deadline;
  private rateFreeAtMs = 0;
  private rateQueuedBytes = 0;

  constructor(
    private readonly o: FaultOptions,
    private readonly rng: Prng,
    private readonly scheduler: Scheduler,
    private readonly sink: Sink,
    label: string,
  ) {
    this.release = new Deadline((now) => this.releaseDue(now), `fault ${label}`);
  }

  push(bytes: Uint8Array, offset: number, length: number): void {
    const o = this.o;
    const s = this.stats;
    s.frames++;
    if (o.loss > 0 && this.rng.next() < o.loss) {
      s.dropped++;
      return;
    }
    // The draws happen in one fixed order (loss, corruption, duplication, then per copy reordering and
    // jitter) so a seed replays exactly; the frame is copied only when it must outlive this call or change.
    let corruptAt = -1;
    let corruptMask = 0;
    if (o.corrupt > 0 && this.rng.next() < o.corrupt && length > 0) {
      corruptAt = this.rng.below(length);
      corruptMask = 1 << this.rng.below(8);
      s.corrupted++;
    }
    const copies = o.duplicate > 0 && this.rng.next() < o.duplicate ? 2 : 1;
    if (copies === 2) s.duplicated++;
    let frame: Uint8Array | null = null;
    for (let c = 0; c < copies; c++) {
      if (o.reorder > 0 && this.held === null && this.rng.next() < o.reorder) {
        // Hold this frame; it goes out right after the next one (or alone when the timer fires).
        const f: Uint8Array = frame === null ? this.copyOut(bytes, offset, length, corruptAt, corruptMask) : frame.slice();
        frame = f;
        this.held = f;
        s.reordered++;
        this.schedule(f, this.scheduler.now() + o.delayMs + 1, true);
        continue;
      }
      const atMs = this.departureTime(length);
      if (copies === 1 && corruptAt < 0 && this.isImmediate(atMs)) {
        // Nothing waits and nothing changes: pass the caller's bytes straight on, no copy.
        this.sink(bytes, offset, length);
        continue;
      }
      const f: Uint8Array = frame === null ? this.copyOut(bytes, offset, length, corruptAt, corruptMask) : frame.slice();
      frame = f;
      this.schedule(f, atMs, false);
      if (this.held !== null && this.held !== f) this.flushHeld();
    }
  }

  /** The lane's own copy of the frame, with the corruption applied (the duplicate is a copy of this one). */
  private copyOut(bytes: Uint8Array, offset: number, length: number, corruptAt: number, corruptMask: number): Uint8Array {
    const f = bytes.slice(offset, offset + length);
    if (corruptAt >= 0) f[corruptAt] = (f[corruptAt] as number) ^ corruptMask;
    return f;
  }

  /** A frame leaving at `atMs` goes out now: no delay, nothing queued before it, no rate limit. */
  private isImmediate(atMs: number): boolean {
    return atMs <= this.scheduler.now() && this.pending.length === 0 && this.o.rateBitsPerSec === 0;
  }

  /** Frames still inside the lane (held, delayed or rate-queued). */
  get inFlight(): number {
    return this.pending.length;
  }

  clear(): void {
    this.pending.length = 0;
    this.held = null;
    this.scheduler.cancel(this.release);
  }

  /** Delay plus jitter; the rate limit is applied in `schedule`, once the frame is admitted to the queue. */
  private departureTime(_length: number): number {
    const o = this.o;
    return this.scheduler.now() + o.delayMs + (o.jitterMs > 0 ? this.rng.next() * o.jitterMs : 0);
  }

  private schedule(frame: Uint8Array, atMs: number, isHeld: boolean): void {
    const o = this.o;
    if (!isHeld && o.rateBitsPerSec > 0) {
      if (this.rateQueuedBytes + frame.length > o.rateQueueBytes) {
        this.stats.rateDropped++;
        return;
      }
      this.rateQueuedBytes += frame.length;
      // Reserve the link only for an admitted frame: a dropped one must not delay the frames after it.
      const start = Math.max(this.scheduler.now(), this.rateFreeAtMs);
      this.rateFreeAtMs = start + (frame.length * 8 * 1000) / o.rateBitsPerSec;
      atMs = Math.max(atMs, this.rateFreeAtMs);
    }
    if (!isHeld && atMs <= this.scheduler.now() && this.pending.length === 0) {
      this.sink(frame, 0, frame.length);
      if (o.rateBitsPerSec > 0) this.rateQueuedBytes -= frame.length;
      return;
    }
    if (atMs > this.scheduler.now()) this.stats.delayed++;
    // Keep `pending` sorted by time (stable for equal times): insertion from the back.
    let i = this.pending.length;
    while (i > 0 && (this.pending[i - 1] as { atMs: number }).atMs > atMs) i--;
    this.pending.splice(i, 0, { frame, atMs });
    const first = this.pending[0] as { atMs: number };
    this.scheduler.set(this.release, first.atMs);
  }

  private flushHeld(): void {
    const held = this.held;
    if (held === null) return;
    this.held = null;
    const i = this.pending.findIndex((p) => p.frame === held);
    if (i >= 0) this.pending.splice(i, 1);
    this.schedule(held, this.departureTime(held.length), false);
  }

  private releaseDue(nowMs: number): void {
    while (this.pending.length > 0 && (this.pending[0] as { atMs: number }).atMs <= nowMs) {
      const p = this.pending.shift() as { frame: Uint8Array; atMs: number };
      if (p.frame === this.held) this.held = null;
      else if (this.o.rateBitsPerSec > 0) this.rateQueuedBytes -= p.frame.length;
      this.sink(p.frame, 0, p.frame.length);
    }
    const first = this.pending[0];
    if (first !== undefined) this.scheduler.set(this.release, first.atMs);
  }
}

export class FaultInjector extends DeviceWrapper {
  readonly tx: FaultLane | null;
  readonly rx: FaultLane | null;
  /** Offloaded frames cut into wire frames, and ones too malformed to cut (dropped). */
  readonly offloadStats = makeCounters(["resolved", "unresolvable"] as const);
  private rxDelivering = false;
  /** One wire frame at a time while an offloaded frame is cut up. */
  private readonly scratch = new Uint8Array(65535 + 14);
  private readonly pushRx = (bytes: Uint8Array, offset: number, length: number): void => this.rx?.push(bytes, offset, length);
  private readonly pushTx = (bytes: Uint8Array, offset: number, length: number): void => this.tx?.push(bytes, offset, length);

  constructor(inner: Device, scheduler: Scheduler, options: Partial<FaultOptions> = {}) {
    super(inner);
    const o = { ...NO_FAULTS, ...options };
    const rng = new Prng(o.seed);
    this.tx = o.directions !== "rx" ? new FaultLane(o, rng, scheduler, (b, off, len) => inner.transmit(b, off, len), "tx") : null;
    this.rx =
      o.directions !== "tx"
        ? new FaultLane(o, rng, scheduler, (b, off, len) => this.deliverUp(b, off, len), "rx")
        : null;
  }

  /** The stack above sends wire frames only, which the faults then act on one by one. */
  override get offloads(): DeviceOffloads {
    return NO_OFFLOADS;
  }

  override frame(bytes: Uint8Array, offset: number, length: number, offload: FrameOffload | null = null): void {
    if (this.rx === null) {
      super.frame(bytes, offset, length, offload);
      return;
    }
    this.rxDelivering = true;
    if (offload === null) this.rx.push(bytes, offset, length);
    else this.resolve(bytes, offset, length, offload, this.pushRx);
    this.rxDelivering = false;
  }

  override transmit(bytes: Uint8Array, offset: number, length: number, offload: FrameOffload | null = null): boolean {
    if (this.tx === null) return this.inner.transmit(bytes, offset, length, offload);
    if (offload === null) this.tx.push(bytes, offset, length);
    else return this.resolve(bytes, offset, length, offload, this.pushTx);
    return true;
  }

  private resolve(bytes: Uint8Array, offset: number, length: number, offload: FrameOffload, push: (b: Uint8Array, o: number, l: number) => void): boolean {
    if (toWireFrames(bytes, offset, length, offload, this.scratch, push) === 0) {
      this.offloadStats.unresolvable++;
      return false;
    }
    this.offloadStats.resolved++;
    return true;
  }

  override close(): void {
    this.tx?.clear();
    this.rx?.clear();
    super.close();
  }

  private deliverUp(bytes: Uint8Array, offset: number, length: number): void {
    this.receiver?.frame(bytes, offset, length);
    // A frame released by the fault timer (not inside the device's batch) forms its own batch.
    if (!this.rxDelivering) this.receiver?.endBatch();
  }
}
