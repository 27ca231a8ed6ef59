// What the sockets of one stack share: the stack, the options, the TCP ports bound but not yet listening or
// connecting, the open sockets (closed together when a board program ends) and the closes still under way.

import type { Deadline, Scheduler } from "../core/scheduler.js";
import type { Stack } from "../stack/stack.js";

export interface UsocketOptions {
  /** Datagrams a UDP or raw socket queues before it drops (the board queues 4; raise it for benchmarks). */
  maxQueuedDatagrams: number;
  /** A TCP close that has not finished by then is aborted with a reset (lwIP boards: 10 s). */
  closeAbortMs: number;
}

export const DEFAULT_USOCKET_OPTIONS: UsocketOptions = { maxQueuedDatagrams: 4, closeAbortMs: 10_000 };

/** Something the context can close: a socket (the facade lives above this module). */
export interface Closable {
  close(): void;
}

export class SocketContext {
  /** TCP ports taken by bind() on sockets not closed yet: the TCP layer knows a port only once it listens or connects. */
  readonly tcpBound = new Map<number, object>();
  /** Every socket not closed yet (closeAll, when a board's program ends without closing). */
  readonly open = new Set<Closable>();
  /** The abort deadlines of TCP closes still under way (cancelled by shutdown). */
  readonly closeDeadlines = new Set<Deadline>();
  private nextFd = 3;

  constructor(
    readonly stack: Stack,
    readonly options: UsocketOptions,
  ) {}

  get scheduler(): Scheduler {
    return this.stack.scheduler;
  }

  takeFd(): number {
    return this.nextFd++;
  }

  tcpPortBusy(port: number, reuseAddress: boolean): boolean {
    return this.tcpBound.has(port) || this.stack.tcp.portInUse(port, reuseAddress);
  }
}
