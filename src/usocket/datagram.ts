// The datagram half of a usocket socket: one UDP or raw PCB. Both queue whole datagrams in a PacketRing, so
// taking one (truncated, or peeked) is the same path; they differ in binding (UDP has ports, raw only an
// address), in sending and in what recvfrom reports as the source port (0 for raw).

import { Err, Errno, type ErrCode } from "../core/errors.js";
import type { PacketRing } from "../core/packetRing.js";
import type { Stack } from "../stack/stack.js";
import { UDP_MAX_DATA, type UdpPcb } from "../udp/udp.js";
import type { RawPcb } from "../ip/raw.js";
import { POLLIN, POLLOUT } from "./constants.js";
import { OSError, osErrorOf } from "./oserror.js";
import { AGAIN, type Again } from "./wait.js";

/** A datagram taken from the queue: its bytes (truncated) and source. */
export type Datagram = [bytes: Uint8Array, srcIp: number, srcPort: number];

export abstract class DatagramPart {
  constructor(
    protected readonly stack: Stack,
    private readonly queue: PacketRing,
  ) {}

  abstract bind(ip: number, port: number): void;
  abstract connect(ip: number, port: number): void;
  /** One datagram to `to`, or to the connected peer when null. Never blocks. */
  abstract send(bytes: Uint8Array, to: [number, number] | null): void;
  abstract set broadcast(on: boolean);
  abstract set reuseAddress(on: boolean);
  abstract close(): void;
  /** The source port recvfrom reports for a queued datagram. */
  protected abstract nextSrcPort(): number;

  /** The next datagram truncated to `max` (the rest is discarded unless peeking), or AGAIN. */
  take(max: number, isPeek: boolean): Datagram | Again {
    const q = this.queue;
    if (q.isEmpty) return AGAIN;
    const src = q.nextSrcIp;
    const srcPort = this.nextSrcPort();
    const out = new Uint8Array(Math.min(max, q.nextLength));
    q.pop(out, 0, out.length, isPeek);
    return [out, src, srcPort];
  }

  /** The next queued datagram's length, or -1 when none. */
  nextLength(): number {
    return this.queue.isEmpty ? -1 : this.queue.nextLength;
  }

  /** Moves the next datagram, whole, into dst[offset…] (one must be queued); `source` gets its [ip, port]. */
  takeInto(dst: Uint8Array, offset: number, source: [number, number]): void {
    const q = this.queue;
    source[0] = q.nextSrcIp;
    source[1] = this.nextSrcPort();
    q.pop(dst, offset, q.nextLength);
  }

  /** Datagrams a reader took out of the queue but has not read yet: they count against its limit. */
  set heldElsewhere(count: () => number) {
    this.queue.heldElsewhere = count;
  }

  /** Always writable (a datagram is sent or dropped, never queued behind others); readable when one waits. */
  readiness(): number {
    return POLLOUT | (this.queue.isEmpty ? 0 : POLLIN);
  }
}

function check(err: ErrCode): void {
  if (err !== Err.OK) throw osErrorOf(err);
}

export class UdpPart extends DatagramPart {
  constructor(
    stack: Stack,
    private readonly pcb: UdpPcb,
  ) {
    super(stack, pcb.queue);
  }

  bind(ip: number, port: number): void {
    check(this.stack.udp.bind(this.pcb, ip, port));
  }

  connect(ip: number, port: number): void {
    check(this.stack.udp.connect(this.pcb, ip, port));
  }

  send(bytes: Uint8Array, to: [number, number] | null): void {
    if (bytes.length > UDP_MAX_DATA) throw new OSError(Errno.EMSGSIZE);
    check(this.stack.udp.sendTo(this.pcb, bytes, 0, bytes.length, to === null ? null : to[0], to === null ? 0 : to[1]));
  }

  set broadcast(on: boolean) {
    this.pcb.broadcast = on;
  }

  set reuseAddress(on: boolean) {
    this.pcb.reuseAddress = on;
  }

  close(): void {
    this.stack.udp.close(this.pcb);
  }

  protected nextSrcPort(): number {
    return this.pcb.queue.nextSrcPort;
  }
}

export class RawPart extends DatagramPart {
  private isBound = false;

  constructor(
    stack: Stack,
    private readonly pcb: RawPcb,
  ) {
    super(stack, pcb.queue);
  }

  /** Raw PCBs have no ports: the address filters what is received and is the source of what is sent. */
  bind(ip: number, _port: number): void {
    if (this.isBound) throw new OSError(Errno.EINVAL);
    check(this.stack.raw.bind(this.pcb, ip));
    this.isBound = true;
  }

  connect(ip: number, _port: number): void {
    check(this.stack.raw.connect(this.pcb, ip));
  }

  send(bytes: Uint8Array, to: [number, number] | null): void {
    check(this.stack.raw.sendTo(this.pcb, bytes, 0, bytes.length, to === null ? null : to[0]));
  }

  set broadcast(on: boolean) {
    this.pcb.broadcast = on;
  }

  set reuseAddress(_on: boolean) {
    // Nothing to share: raw sockets bind no port.
  }

  close(): void {
    this.stack.raw.close(this.pcb);
  }

  protected nextSrcPort(): number {
    return 0;
  }
}
