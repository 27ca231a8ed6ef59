// What the segment-processing and timer modules (tcp/input and the modules it calls) may ask of the TCP
// layer: its configuration, counters, clock and output, and the few operations that change which PCBs
// exist or when their owners hear of them. TcpLayer (tcp/tcp) implements it and passes itself to them (per
// segment, and to a PCB's deadlines), so those modules import this interface, never tcp/tcp.

import type { ErrCode } from "../core/errors.js";
import type { Scheduler } from "../core/scheduler.js";
import type { TcpConfig } from "./config.js";
import type { IsnSource } from "./isn.js";
import type { TcpOutput } from "./output.js";
import type { TcpListener, TcpPcb, TcpPcbOptions } from "./pcb.js";
import type { TcpStateCode } from "./state.js";
import type { TcpStats } from "./stats.js";
import type { SynCookies } from "./syncookie.js";

export interface TcpContext {
  readonly config: TcpConfig;
  readonly stats: TcpStats;
  readonly scheduler: Scheduler;
  readonly output: TcpOutput;
  readonly isn: IsnSource;
  readonly cookies: SynCookies;
  /** Largest MSS our interface allows: its MTU − 40 (RFC 9293 §3.7.1, RFC 6691). */
  interfaceMssBytes(): number;

  // ---- which PCBs exist ----
  /** A fresh PCB with its rings, estimator, congestion control and timers; not yet inserted. */
  newPcb(options: TcpPcbOptions): TcpPcb;
  /** Sets the send sequence space of a fresh PCB from its ISS. */
  initSendSpace(pcb: TcpPcb): void;
  insert(pcb: TcpPcb): void;
  /** Whether makeRoom would succeed; changes nothing. */
  hasRoom(): boolean;
  /** Room for one more PCB, recycling the oldest TIME-WAIT one if needed; false (counted) at the limit. */
  makeRoom(): boolean;
  /** Removes a PCB and cancels its timers (no segment sent). */
  free(pcb: TcpPcb): void;
  /** Sends a reset if synchronized, then frees (RFC 9293 §3.10.5 ABORT). */
  abort(pcb: TcpPcb): void;
  /** The connection failed: its owner hears `err` after the batch, and the PCB is freed. */
  fail(pcb: TcpPcb, err: ErrCode): void;
  /** Gives a PCB's ring stores back to the pool and points it at empty rings (a PCB nobody will read again). */
  releaseRings(pcb: TcpPcb): void;
  /** The open listener on `port`, or null. */
  listenerOn(port: number): TcpListener | null;

  // ---- state and owners ----
  /** Changes state, with the timers and close notification the new state brings. */
  setState(pcb: TcpPcb, state: TcpStateCode): void;
  /** Marks a PCB for the end-of-batch pass (events, then output). */
  touch(pcb: TcpPcb): void;
  /** Marks a PCB and, outside an input batch (a timer), runs its output pass now. */
  kick(pcb: TcpPcb): void;
  /** Marks a listener whose accept queue gained a connection. */
  touchListener(l: TcpListener): void;
  /** RFC 5961 §7: one rate limit for every challenge ACK; false when none may go now (counted). */
  takeChallengeToken(nowMs: number): boolean;
}
