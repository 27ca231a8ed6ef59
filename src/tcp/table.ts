// The PCB table: every connection by (local port, remote address, remote port), and the listeners by local
// port. Demux (TcpLayer.input in tcp/tcp) looks segments up here; the layer inserts a PCB when a connection
// opens and removes it when it is freed, and asks here whether a port is taken or a TIME-WAIT PCB could be
// recycled. Numeric keys only (no strings per lookup); it owns no timers and sends nothing.

import type { TcpListener, TcpPcb } from "./pcb.js";
import { TcpState } from "./state.js";

/** Key for the inner PCB map: remote address and port (48 bits, exact in a double). */
function remoteKey(remoteIp: number, remotePort: number): number {
  return (remoteIp >>> 0) * 65536 + remotePort;
}

export class PcbTable {
  /** localPort → (remoteKey → PCB). */
  private readonly pcbs = new Map<number, Map<number, TcpPcb>>();
  private readonly listeners = new Map<number, TcpListener>();
  /** PCBs in the table (every state but LISTEN), against TcpConfig.maxPcbs. */
  private pcbCount = 0;

  get size(): number {
    return this.pcbCount;
  }

  lookup(localPort: number, remoteIp: number, remotePort: number): TcpPcb | null {
    return this.pcbs.get(localPort)?.get(remoteKey(remoteIp, remotePort)) ?? null;
  }

  insert(pcb: TcpPcb): void {
    let m = this.pcbs.get(pcb.localPort);
    if (m === undefined) {
      m = new Map();
      this.pcbs.set(pcb.localPort, m);
    }
    m.set(remoteKey(pcb.remoteIp, pcb.remotePort), pcb);
    this.pcbCount++;
  }

  /** Takes `pcb` out if it is the one filed under its addresses (a recycled 4-tuple may hold another). */
  remove(pcb: TcpPcb): void {
    const m = this.pcbs.get(pcb.localPort);
    if (m !== undefined && m.get(remoteKey(pcb.remoteIp, pcb.remotePort)) === pcb) {
      m.delete(remoteKey(pcb.remoteIp, pcb.remotePort));
      if (m.size === 0) this.pcbs.delete(pcb.localPort);
      this.pcbCount--;
    }
  }

  /** Every PCB, as a snapshot the caller may free from while it walks it. */
  all(): TcpPcb[] {
    const out: TcpPcb[] = [];
    for (const m of this.pcbs.values()) for (const p of m.values()) out.push(p);
    return out;
  }

  /** Every PCB, walking the live table: one inserted meanwhile may be visited too, a removed one is not. */
  *live(): Generator<TcpPcb> {
    for (const m of this.pcbs.values()) yield* m.values();
  }

  hasTimeWait(): boolean {
    for (const m of this.pcbs.values()) for (const pcb of m.values()) if (pcb.state === TcpState.TIME_WAIT) return true;
    return false;
  }

  /** The TIME-WAIT PCB closest to its end (the first to recycle, as lwIP does), or null. */
  oldestTimeWait(): TcpPcb | null {
    // Walked in place (no array of every PCB): with the table full, this runs for every new connection.
    let oldest: TcpPcb | null = null;
    for (const m of this.pcbs.values()) {
      for (const pcb of m.values()) {
        if (pcb.state === TcpState.TIME_WAIT && (oldest === null || pcb.closeDeadline.at < oldest.closeDeadline.at)) oldest = pcb;
      }
    }
    return oldest;
  }

  // ---- listeners ----

  /** The listener on `port`, open or closed, or undefined. */
  listener(port: number): TcpListener | undefined {
    return this.listeners.get(port);
  }

  hasListener(port: number): boolean {
    return this.listeners.has(port);
  }

  addListener(l: TcpListener): void {
    this.listeners.set(l.localPort, l);
  }

  /** Takes `l` out if it is the listener on its port. */
  removeListener(l: TcpListener): void {
    if (this.listeners.get(l.localPort) === l) this.listeners.delete(l.localPort);
  }

  allListeners(): TcpListener[] {
    return [...this.listeners.values()];
  }

  portInUse(port: number, reuseAddress: boolean): boolean {
    if (this.listeners.has(port)) return true;
    const m = this.pcbs.get(port);
    if (m === undefined) return false;
    // SO_REUSEADDR (as Linux): only a listener holds the port; connections left by a closed listener, in
    // TIME-WAIT or still open, do not (demux matches them by their full 4-tuple first).
    if (!reuseAddress) return m.size > 0;
    return false;
  }
}
