// A ping client, an application on a stack's ICMP layer (ip/icmp echo): sends echo requests and matches
// replies by identifier and sequence. Used by whole-stack and interop tests; timeouts are scheduler deadlines.

import { Deadline, type Scheduler } from "../core/scheduler.js";
import { Err } from "../core/errors.js";
import type { Random } from "../core/random.js";
import type { EchoReply, Icmp } from "../ip/icmp.js";

/** What a Pinger needs of a stack (a Stack is one). */
export interface PingHost {
  readonly icmp: Icmp;
  readonly scheduler: Scheduler;
  readonly random: Random;
}

export interface PingResult {
  seq: number;
  /** Round-trip time in ms, or null when no reply came in time. */
  rttMs: number | null;
  /** Whether the reply's data matched what was sent. */
  intact: boolean;
}

interface Outstanding {
  seq: number;
  sentAtMs: number;
  deadline: Deadline;
  resolve: (r: PingResult) => void;
}

export class Pinger {
  readonly ident: number;
  private readonly outstanding = new Map<number, Outstanding>();
  private nextSeq = 1;
  private readonly onReply = (r: EchoReply): void => this.reply(r);

  constructor(
    private readonly stack: PingHost,
    readonly dst: number,
    readonly dataLength = 56,
  ) {
    // A random identifier, as a socket's would be: replies are told apart by (identifier, sequence).
    this.ident = stack.random.below(0x10000);
    stack.icmp.echoReplyListeners.push(this.onReply);
  }

  /** Sends one echo request and resolves with its result (rtt null on timeout or send failure). */
  ping(timeoutMs = 1000): Promise<PingResult> {
    const seq = this.nextSeq;
    this.nextSeq = (this.nextSeq + 1) & 0xffff;
    const scheduler = this.stack.scheduler;
    return new Promise((resolve) => {
      const deadline = new Deadline(() => {
        this.outstanding.delete(seq);
        resolve({ seq, rttMs: null, intact: false });
      }, `ping ${seq}`);
      const o: Outstanding = { seq, sentAtMs: scheduler.now(), deadline, resolve };
      this.outstanding.set(seq, o);
      scheduler.after(deadline, timeoutMs);
      const err = this.stack.icmp.sendEcho(this.dst, this.ident, seq, this.dataLength, fillPattern);
      if (err !== Err.OK) {
        scheduler.cancel(deadline);
        this.outstanding.delete(seq);
        resolve({ seq, rttMs: null, intact: false });
      }
    });
  }

  /** Stops listening; outstanding pings resolve as lost. */
  close(): void {
    const listeners = this.stack.icmp.echoReplyListeners;
    const i = listeners.indexOf(this.onReply);
    if (i >= 0) listeners.splice(i, 1);
    for (const o of this.outstanding.values()) {
      this.stack.scheduler.cancel(o.deadline);
      o.resolve({ seq: o.seq, rttMs: null, intact: false });
    }
    this.outstanding.clear();
  }

  private reply(r: EchoReply): void {
    if (r.id !== this.ident || r.src !== this.dst) return;
    const o = this.outstanding.get(r.seq);
    if (o === undefined) return;
    this.outstanding.delete(r.seq);
    this.stack.scheduler.cancel(o.deadline);
    let intact = r.dataLength === this.dataLength;
    for (let i = 0; intact && i < r.dataLength; i++) if (r.bytes[r.dataOffset + i] !== ((i * 7 + 3) & 0xff)) intact = false;
    o.resolve({ seq: r.seq, rttMs: r.nowMs - o.sentAtMs, intact });
  }
}

function fillPattern(buf: Uint8Array, offset: number, length: number): void {
  for (let i = 0; i < length; i++) buf[offset + i] = (i * 7 + 3) & 0xff;
}
