// Built-in TCP services of the board (walnut up): echo (RFC 862, port 7), discard (RFC 863, port 9) and
// chargen (RFC 864, port 19). Each runs on the PCB API with events only — no buffers of its own beyond one
// scratch array — so they double as the simplest examples of using tcp/tcp.

import type { TcpLayer } from "../tcp/tcp.js";
import type { TcpListener, TcpPcb } from "../tcp/pcb.js";
import { Err, type ErrCode } from "../core/errors.js";

export const SERVICE_PORTS = { echo: 7, discard: 9, chargen: 19 } as const;

/** The services' accept-queue length (`walnut up --backlog`): Linux's SOMAXCONN before 5.4, Python's default. */
export const DEFAULT_SERVICE_BACKLOG = 128;

/** RFC 864: 72-character lines cycling through the 95 printable ASCII characters. */
function chargenPattern(): Uint8Array {
  const lines: number[] = [];
  for (let start = 0; start < 95; start++) {
    for (let i = 0; i < 72; i++) lines.push(32 + ((start + i) % 95));
    lines.push(13, 10);
  }
  return new Uint8Array(lines);
}

export class TcpServices {
  private readonly listeners: TcpListener[] = [];
  private readonly scratch = new Uint8Array(64 * 1024);
  private readonly pattern = chargenPattern();
  private readonly chargenOffset = new WeakMap<TcpPcb, number>();

  constructor(private readonly tcp: TcpLayer) {}

  /**
   * Starts the three services, each with an accept queue of `backlog` connections; returns the error of the
   * first port that could not be bound. Each listener drains its queue on every `acceptable` event, which
   * TCP fires right after the segment completing a handshake, so the queue only fills when connections
   * complete faster than a segment at a time — and then the completing ACK is dropped and retried, not reset.
   */
  start(localIp = 0, backlog = DEFAULT_SERVICE_BACKLOG): ErrCode {
    const tcp = this.tcp;
    const specs: [number, (pcb: TcpPcb) => void][] = [
      [SERVICE_PORTS.echo, (pcb) => this.startEcho(pcb)],
      [SERVICE_PORTS.discard, (pcb) => this.startDiscard(pcb)],
      [SERVICE_PORTS.chargen, (pcb) => this.startChargen(pcb)],
    ];
    for (const [port, serve] of specs) {
      const l = tcp.listen(localIp, port, backlog, {
        acceptable: (listener) => {
          for (let pcb = tcp.accept(listener); pcb !== null; pcb = tcp.accept(listener)) serve(pcb);
        },
      });
      if (typeof l === "number") {
        this.stop();
        return l;
      }
      this.listeners.push(l);
    }
    return Err.OK;
  }

  stop(): void {
    for (const l of this.listeners.splice(0)) this.tcp.closeListener(l);
  }

  private startEcho(pcb: TcpPcb): void {
    const pump = (): void => {
      // Move as much as the send ring takes; the rest waits for `writable`.
      for (;;) {
        const room = pcb.sendRing.free;
        const n = Math.min(room, pcb.recvRing.length, this.scratch.length);
        if (n <= 0) break;
        this.tcp.read(pcb, this.scratch, 0, n);
        this.tcp.write(pcb, this.scratch, 0, n);
      }
      if (pcb.finReceived && pcb.recvRing.length === 0) this.tcp.close(pcb);
    };
    pcb.events = { readable: pump, writable: pump, error: () => undefined };
    pump();
  }

  private startDiscard(pcb: TcpPcb): void {
    const drain = (): void => {
      this.tcp.consume(pcb, pcb.recvRing.length);
      if (pcb.finReceived) this.tcp.close(pcb);
    };
    pcb.events = { readable: drain, error: () => undefined };
    drain();
  }

  private startChargen(pcb: TcpPcb): void {
    const fill = (): void => {
      this.tcp.consume(pcb, pcb.recvRing.length);
      if (pcb.finReceived) {
        this.tcp.close(pcb);
        return;
      }
      let offset = this.chargenOffset.get(pcb) ?? 0;
      for (let guard = 0; guard < 64 && pcb.sendRing.free > 0; guard++) {
        const n = Math.min(pcb.sendRing.free, this.pattern.length - offset);
        const written = this.tcp.write(pcb, this.pattern, offset, n);
        if (typeof written !== "number" || written <= 0) break;
        offset = (offset + written) % this.pattern.length;
      }
      this.chargenOffset.set(pcb, offset);
    };
    pcb.events = { readable: fill, writable: fill, error: () => undefined };
    fill();
  }
}
