// Capture as device middleware: every frame the stack receives or sends is written to a pcapng file
// (Section Header, one Ethernet Interface Description with µs timestamps, an Enhanced Packet Block per frame
// with its direction in epb_flags), which Wireshark and tshark open directly. Writes are buffered.
// Offloaded frames are recorded as the stack sees them, a TCP super-frame whole (as tcpdump on a host with
// GRO/TSO shows it), but a partial checksum (NEEDS_CSUM) is completed in the copy, so readers that verify
// checksums find them right.

import { closeSync, openSync, writeSync } from "node:fs";
import { DeviceWrapper, type Device } from "./device.js";
import { completeChecksum, type FrameOffload } from "./offload.js";

const BLOCK_SHB = 0x0a0d0d0a;
const BLOCK_IDB = 0x00000001;
const BLOCK_EPB = 0x00000006;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const LINKTYPE_ETHERNET = 1;
const OPT_END = 0;
const OPT_EPB_FLAGS = 2;
const OPT_IF_NAME = 2;
const OPT_IF_TSRESOL = 9;
/** epb_flags direction bits (pcapng spec §4.3.1): 01 inbound, 10 outbound. */
const DIR_INBOUND = 1;
const DIR_OUTBOUND = 2;
const FLUSH_BYTES = 256 * 1024;
/** The IDB's snap length: tcpdump's default, above the largest super-frame (14 + 65 535 bytes). */
const SNAPLEN = 262144;
/** Largest frame recorded whole. */
const MAX_FRAME_BYTES = 14 + 65535;
const FLUSH_INTERVAL_MS = 200;

/** Microseconds since the Unix epoch, from the host's high-resolution clock. */
export function wallClockMicros(): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}

/**
 * writeSync until all `length` bytes are out. A pipe another part of the process made non-blocking (Node does
 * that to stdout once it is used as a stream) answers EAGAIN when full: wait 1 ms and go on, a bounded
 * number of times (about 10 s), so a reader that stopped reading ends the capture rather than the board.
 */
function writeFully(fd: number, buf: Uint8Array, length: number): void {
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  let done = 0;
  for (let waits = 0; done < length; ) {
    try {
      done += writeSync(fd, buf, done, length - done);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EAGAIN" || ++waits > 10_000) throw err;
      Atomics.wait(sleeper, 0, 0, 1);
    }
  }
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

/**
 * Where a capture goes: a file path, or an open file descriptor (stdout for `--pcap -`), closed at the end
 * only when `owned`.
 */
export type PcapTarget = string | { fd: number; owned?: boolean };

export class PcapWriter extends DeviceWrapper {
  private fd: number | null;
  /** False for a descriptor handed in (it stays open at close). */
  private readonly ownsFd: boolean;
  /**
   * Told once when a write fails (the reader of a pipe went away: EPIPE; a full disk); capture stops there
   * and frames keep flowing through. Null: the failure is only kept in `writeError`.
   */
  onWriteError: ((err: Error) => void) | null = null;
  writeError: Error | null = null;
  private readonly buf = new Uint8Array(FLUSH_BYTES + MAX_FRAME_BYTES + 64);
  private readonly view = new DataView(this.buf.buffer);
  private used = 0;
  private readonly timer: ReturnType<typeof setInterval>;
  framesWritten = 0;

  constructor(
    inner: Device,
    target: PcapTarget,
    private readonly micros: () => number = wallClockMicros,
  ) {
    super(inner);
    this.ownsFd = typeof target === "string" || target.owned === true;
    this.fd = typeof target === "string" ? openSync(target, "w") : target.fd;
    this.writeHeaderBlocks(inner.name);
    this.timer = setInterval(() => this.flush(), FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  override frame(bytes: Uint8Array, offset: number, length: number, offload: FrameOffload | null = null): void {
    this.record(bytes, offset, length, DIR_INBOUND, offload);
    super.frame(bytes, offset, length, offload);
  }

  override transmit(bytes: Uint8Array, offset: number, length: number, offload: FrameOffload | null = null): boolean {
    this.record(bytes, offset, length, DIR_OUTBOUND, offload);
    return super.transmit(bytes, offset, length, offload);
  }

  override close(): void {
    clearInterval(this.timer);
    this.flush();
    if (this.fd !== null && this.ownsFd) closeSync(this.fd);
    this.fd = null;
    super.close();
  }

  /** Writes buffered blocks to the file. */
  flush(): void {
    if (this.fd === null || this.used === 0) return;
    try {
      writeFully(this.fd, this.buf, this.used);
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
    }
    this.used = 0;
  }

  private fail(err: Error): void {
    if (this.fd !== null && this.ownsFd) {
      try {
        closeSync(this.fd);
      } catch {
        // Closing after a failed write: nothing more to lose.
      }
    }
    this.fd = null;
    this.writeError = err;
    this.onWriteError?.(err);
  }

  private record(bytes: Uint8Array, offset: number, length: number, direction: number, offload: FrameOffload | null): void {
    if (this.fd === null) return;
    const captured = Math.min(length, MAX_FRAME_BYTES);
    // EPB: 28 fixed bytes + data (padded) + epb_flags option (8: code, length, u32 value) + end of options (4)
    // + trailing length (4). The trailing length must sit at the block's last 4 bytes and equal the leading
    // one, or readers reject the file ("total block lengths don't match").
    const total = 28 + pad4(captured) + 8 + 4 + 4;
    if (this.used + total > this.buf.length) this.flush();
    const v = this.view;
    const o = this.used;
    const t = this.micros();
    v.setUint32(o, BLOCK_EPB, true);
    v.setUint32(o + 4, total, true);
    v.setUint32(o + 8, 0, true); // interface 0
    v.setUint32(o + 12, Math.floor(t / 0x100000000), true);
    v.setUint32(o + 16, t % 0x100000000, true);
    v.setUint32(o + 20, captured, true);
    v.setUint32(o + 24, length, true);
    this.buf.set(bytes.subarray(offset, offset + captured), o + 28);
    if (offload !== null && offload.needsCsum && captured === length) completeChecksum(this.buf, o + 28, captured, offload);
    let p = o + 28 + captured;
    while (p & 3) this.buf[p++] = 0;
    v.setUint16(p, OPT_EPB_FLAGS, true);
    v.setUint16(p + 2, 4, true);
    v.setUint32(p + 4, direction, true);
    v.setUint32(p + 8, OPT_END, true);
    v.setUint32(p + 12, total, true);
    this.used += total;
    this.framesWritten++;
  }

  private writeHeaderBlocks(ifName: string): void {
    const v = this.view;
    // Section Header Block: no options, section length unknown (-1).
    let o = 0;
    v.setUint32(o, BLOCK_SHB, true);
    v.setUint32(o + 4, 28, true);
    v.setUint32(o + 8, BYTE_ORDER_MAGIC, true);
    v.setUint16(o + 12, 1, true);
    v.setUint16(o + 14, 0, true);
    v.setInt32(o + 16, -1, true);
    v.setInt32(o + 20, -1, true);
    v.setUint32(o + 24, 28, true);
    o += 28;
    // Interface Description Block: Ethernet, snaplen, if_name, if_tsresol = 6 (microseconds).
    const name = new TextEncoder().encode(ifName);
    const nameOpt = 4 + pad4(name.length);
    const idbLength = 20 + nameOpt + 8 + 4;
    v.setUint32(o, BLOCK_IDB, true);
    v.setUint32(o + 4, idbLength, true);
    v.setUint16(o + 8, LINKTYPE_ETHERNET, true);
    v.setUint16(o + 10, 0, true);
    v.setUint32(o + 12, SNAPLEN, true);
    let p = o + 16;
    v.setUint16(p, OPT_IF_NAME, true);
    v.setUint16(p + 2, name.length, true);
    this.buf.set(name, p + 4);
    p += nameOpt;
    for (let q = p - (nameOpt - 4 - name.length); q < p; q++) this.buf[q] = 0;
    v.setUint16(p, OPT_IF_TSRESOL, true);
    v.setUint16(p + 2, 1, true);
    v.setUint32(p + 4, 6, true); // one byte of value (6) then padding
    p += 8;
    v.setUint32(p, OPT_END, true);
    p += 4;
    v.setUint32(p, idbLength, true);
    this.used = p + 4;
  }
}
