// Small read-only questions about a connection's buffers, for the layers above TCP (usocket, services): how
// much may be queued now, how much has arrived, and a look at it without taking it. They keep the callers
// out of the PCB's rings, whose layout is the TCP layer's business.

import type { TcpPcb } from "./pcb.js";
import { canSendData } from "./state.js";

/** Bytes the send ring takes now: 0 once our FIN is queued or the state forbids sending (RFC 9293 §3.10.2). */
export function sendSpace(pcb: TcpPcb): number {
  if (pcb.freed || pcb.finQueued || !canSendData(pcb.state)) return 0;
  return pcb.sendRing.free;
}

/** Received bytes waiting to be read (they survive a reset until read: the board returns them first). */
export function available(pcb: TcpPcb): number {
  return pcb.recvRing.length;
}

/** Copies up to `length` received bytes into dst[offset…] without taking them (MSG_PEEK) → the count. */
export function peek(pcb: TcpPcb, dst: Uint8Array, offset: number, length: number): number {
  const n = Math.min(length, pcb.recvRing.length);
  pcb.recvRing.peek(0, dst, offset, n);
  return n;
}

/** Bytes up to and including the first `byte` among the first `limit` received ones, or `limit` if none. */
export function spanThrough(pcb: TcpPcb, byte: number, limit: number): number {
  const n = Math.min(limit, pcb.recvRing.length);
  const i = pcb.recvRing.indexOf(byte);
  return i >= 0 && i < n ? i + 1 : n;
}
