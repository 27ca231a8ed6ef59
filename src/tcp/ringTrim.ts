// The shrinking half of ring-storage auto-tuning: a PCB's rings grow their stores as data must be stored
// (core/ring); this gives the stores back once the connection has been idle for `idleMs`, so a connection
// that moved a burst of data and then sits idle costs no buffer memory. Only PCBs whose rings hold storage
// are watched, and one layer-wide deadline sweeps them while any are: an idle stack arms nothing.
// Call order: tcp/tcp's output pass → note (a PCB whose rings took storage); the deadline → sweep → compact.

import { Deadline, type Scheduler } from "../core/scheduler.js";
import type { TcpPcb } from "./pcb.js";

export class RingTrimmer {
  private readonly watched = new Set<TcpPcb>();
  private readonly deadline: Deadline;

  constructor(
    private readonly scheduler: Scheduler,
    /** Quiet time after which a connection's stores are compacted (0: never). */
    private readonly idleMs: number,
  ) {
    this.deadline = new Deadline((nowMs) => this.sweep(nowMs), "tcp ring trim");
  }

  /** After a PCB's output pass: watch it once its rings hold storage. Two field reads when there is nothing to do. */
  note(pcb: TcpPcb): void {
    if (pcb.ringsWatched || this.idleMs <= 0) return;
    if (pcb.sendRing.storageBytes === 0 && pcb.recvRing.storageBytes === 0) return;
    pcb.ringsWatched = true;
    this.watched.add(pcb);
    if (!this.deadline.isArmed) this.scheduler.after(this.deadline, this.idleMs);
  }

  /** The PCB left the layer, or gave its stores back some other way. */
  forget(pcb: TcpPcb): void {
    if (!pcb.ringsWatched) return;
    pcb.ringsWatched = false;
    this.watched.delete(pcb);
    if (this.watched.size === 0) this.scheduler.cancel(this.deadline);
  }

  /** A PCB's rings were compacted outside a sweep: stop watching it if they hold nothing now. */
  recheck(pcb: TcpPcb): void {
    if (pcb.ringsWatched && pcb.sendRing.storageBytes === 0 && pcb.recvRing.storageBytes === 0) this.forget(pcb);
  }

  /** PCBs watched now, for tests. */
  get watchedCount(): number {
    return this.watched.size;
  }

  stop(): void {
    for (const pcb of this.watched) pcb.ringsWatched = false;
    this.watched.clear();
    this.scheduler.cancel(this.deadline);
  }

  private sweep(nowMs: number): void {
    for (const pcb of this.watched) {
      // Quiet means nothing received (segments, ACKs of our data) and no new data sent: a transfer in
      // either direction keeps its stores. What a ring still holds (unread or unacknowledged bytes) stays.
      if (nowMs - Math.max(pcb.lastRecvMs, pcb.lastSendMs) >= this.idleMs) {
        pcb.sendRing.compact();
        pcb.recvRing.compact();
        pcb.rack?.log.shrink();
      }
      if (pcb.sendRing.storageBytes === 0 && pcb.recvRing.storageBytes === 0) {
        pcb.ringsWatched = false;
        this.watched.delete(pcb);
      }
    }
    if (this.watched.size > 0) this.scheduler.after(this.deadline, this.idleMs);
  }
}
