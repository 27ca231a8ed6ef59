// PcapWriter: the pcapng file it writes is walked block by block here (SHB, IDB, one EPB per frame with
// matching leading and trailing lengths, epb_flags direction), and read back by tshark for frame count,
// EtherTypes, directions and increasing timestamps.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SimClock } from "../../src/core/clock.js";
import { Scheduler } from "../../src/core/scheduler.js";
import { memLinkPair } from "../../src/link/memlink.js";
import { PcapWriter } from "../../src/link/pcap.js";
import { ARP_REPLY, ARP_REQUEST, ECHO_REQUEST, u8 } from "../helpers/vectors.js";

const TSHARK = "/usr/bin/tshark";

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "walnut-pcap-"));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Block {
  type: number;
  length: number;
  body: DataView;
}

/** Splits a little-endian pcapng file into blocks, checking each trailing length equals the leading one. */
function blocks(file: Uint8Array): Block[] {
  const v = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const out: Block[] = [];
  for (let o = 0; o < file.length; ) {
    const type = v.getUint32(o, true);
    const length = v.getUint32(o + 4, true);
    expect(length % 4).toBe(0);
    expect(o + length).toBeLessThanOrEqual(file.length);
    expect(v.getUint32(o + length - 4, true)).toBe(length);
    out.push({ type, length, body: new DataView(file.buffer, file.byteOffset + o, length) });
    o += length;
  }
  return out;
}

/** Writes the three frames of an ARP exchange and a ping through a PcapWriter on a MemLink. */
function capture(path: string): { micros: number[] } {
  const s = new Scheduler(new SimClock(0));
  const [near, far] = memLinkPair(s);
  const micros: number[] = [];
  let t = 1_700_000_000_000_000; // µs since the epoch, advanced 1.5 ms per frame
  const pcap = new PcapWriter(near, path, () => {
    t += 1500;
    micros.push(t);
    return t;
  });
  pcap.attach({ frame() {}, endBatch() {} });
  far.attach({ frame() {}, endBatch() {} });
  pcap.transmit(u8(ARP_REQUEST), 0, 42); // out
  far.transmit(u8(ARP_REPLY), 0, 42); // in
  s.advance(0);
  const padded = new Uint8Array(3 + ECHO_REQUEST.length);
  padded.set(ECHO_REQUEST, 3);
  pcap.transmit(padded, 3, ECHO_REQUEST.length); // out, 45 bytes: data needs 3 bytes of block padding
  expect(pcap.framesWritten).toBe(3);
  pcap.close();
  return { micros };
}

describe("PcapWriter", () => {
  it("writes well-formed pcapng blocks with the frames, directions and timestamps", () => {
    const path = join(dir, "a.pcapng");
    const { micros } = capture(path);
    const b = blocks(new Uint8Array(readFileSync(path)));
    expect(b.map((x) => x.type)).toEqual([0x0a0d0d0a, 1, 6, 6, 6]);
    // SHB: byte-order magic, version 1.0.
    expect(b[0]?.body.getUint32(8, true)).toBe(0x1a2b3c4d);
    expect([b[0]?.body.getUint16(12, true), b[0]?.body.getUint16(14, true)]).toEqual([1, 0]);
    // IDB: LINKTYPE_ETHERNET, snaplen 262144 (tcpdump's, above the largest 64 KiB super-frame).
    expect(b[1]?.body.getUint16(8, true)).toBe(1);
    expect(b[1]?.body.getUint32(12, true)).toBe(262144);
    const frames = [u8(ARP_REQUEST), u8(ARP_REPLY), u8(ECHO_REQUEST)];
    b.slice(2).forEach((epb, i) => {
      const v = epb.body;
      const frame = frames[i] as Uint8Array;
      const ts = v.getUint32(12, true) * 0x100000000 + v.getUint32(16, true);
      expect(ts).toBe(micros[i]);
      expect([v.getUint32(8, true), v.getUint32(20, true), v.getUint32(24, true)]).toEqual([0, frame.length, frame.length]);
      expect(new Uint8Array(v.buffer, v.byteOffset + 28, frame.length)).toEqual(frame);
      // epb_flags option (code 2, length 4): inbound 1 / outbound 2, then opt_endofopt.
      const opt = 28 + ((frame.length + 3) & ~3);
      expect([v.getUint16(opt, true), v.getUint16(opt + 2, true), v.getUint32(opt + 4, true)]).toEqual([2, 4, i === 1 ? 1 : 2]);
      expect(v.getUint32(opt + 8, true)).toBe(0);
      expect(epb.length).toBe(opt + 16);
    });
  });

  it.skipIf(!existsSync(TSHARK))("is read back by tshark: frame count, EtherTypes, directions, increasing times", () => {
    const path = join(dir, "b.pcapng");
    capture(path);
    const text = execFileSync(
      TSHARK,
      ["-r", path, "-T", "fields", "-E", "separator=,", "-e", "frame.number", "-e", "eth.type", "-e", "frame.packet_flags_direction", "-e", "frame.time_epoch", "-e", "frame.interface_name"],
      { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
    );
    const rows = text.trim().split("\n").map((l) => l.split(","));
    expect(rows.map((r) => r.slice(0, 3))).toEqual([
      ["1", "0x0806", "0x00000002"],
      ["2", "0x0806", "0x00000001"],
      ["3", "0x0800", "0x00000002"],
    ]);
    expect(rows.every((r) => r[4] === "mem0")).toBe(true);
    const times = rows.map((r) => Number(r[3]));
    expect(times[0]).toBeCloseTo(1_700_000_000.0015, 6);
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThan(times[i - 1] as number);
  });

  it("passes frames through untouched both ways and stops writing after close", () => {
    const s = new Scheduler(new SimClock(0));
    const [near, far] = memLinkPair(s);
    const path = join(dir, "c.pcapng");
    const pcap = new PcapWriter(near, path, () => 1);
    const up: number[][] = [];
    const down: number[][] = [];
    pcap.attach({ frame: (b, o, l) => up.push([...b.subarray(o, o + l)]), endBatch() {} });
    far.attach({ frame: (b, o, l) => down.push([...b.subarray(o, o + l)]), endBatch() {} });
    expect(pcap.transmit(u8([1, 2, 3]), 0, 3)).toBe(true);
    far.transmit(u8([4, 5]), 0, 2);
    s.advance(0);
    expect(down).toEqual([[1, 2, 3]]);
    expect(up).toEqual([[4, 5]]);
    pcap.close();
    const size = readFileSync(path).length;
    pcap.flush();
    expect(pcap.transmit(u8([6]), 0, 1)).toBe(false); // the device is closed too
    expect(readFileSync(path).length).toBe(size);
    expect(pcap.framesWritten).toBe(2);
  });

  it("writes to a descriptor it was handed and leaves it open at close (--pcap - on stdout)", () => {
    const s = new Scheduler(new SimClock(0));
    const [near] = memLinkPair(s);
    const path = join(dir, "d.pcapng");
    const fd = openSync(path, "w");
    const pcap = new PcapWriter(near, { fd }, () => 1);
    pcap.transmit(u8(ARP_REQUEST), 0, 42);
    pcap.close();
    // Still open: the writer did not own it.
    writeSync(fd, u8([0xee]));
    closeSync(fd);
    const bytes = readFileSync(path);
    expect([...bytes.subarray(0, 4)]).toEqual([0x0a, 0x0d, 0x0d, 0x0a]);
    expect(bytes[bytes.length - 1]).toBe(0xee);
  });

  it("stops capturing, once and quietly, when a write fails, while frames keep flowing", () => {
    const s = new Scheduler(new SimClock(0));
    const [near, far] = memLinkPair(s);
    const path = join(dir, "e.pcapng");
    writeFileSync(path, "");
    // A descriptor opened for reading: every write fails (EBADF), as a pipe whose reader left fails (EPIPE).
    const fd = openSync(path, "r");
    const pcap = new PcapWriter(near, { fd, owned: true }, () => 1);
    const errors: string[] = [];
    pcap.onWriteError = (err) => errors.push((err as NodeJS.ErrnoException).code ?? "?");
    const down: number[][] = [];
    far.attach({ frame: (b, o, l) => down.push([...b.subarray(o, o + l)]), endBatch() {} });
    pcap.flush();
    expect(errors).toEqual(["EBADF"]);
    expect(pcap.transmit(u8([1, 2, 3]), 0, 3)).toBe(true);
    pcap.flush();
    s.advance(0);
    expect(down).toEqual([[1, 2, 3]]);
    expect(errors).toEqual(["EBADF"]);
    expect(pcap.writeError).not.toBeNull();
    pcap.close();
  });
});
