// The virtio-net header and what undoes offloads (src/link/offload.ts): byte-exact encode/decode of struct
// virtio_net_hdr_mrg_rxbuf (layout from Linux include/uapi/linux/virtio_net.h, little-endian as on x86),
// completing a partial checksum, cutting a TCPv4 super-frame into wire segments the way the kernel's GSO does
// (checked against frames built by the independent writers in test/helpers/wire.ts), and the middleware that
// must see wire frames: FaultInjector, PcapWriter, MemLink, Tracer.

import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checksumNaive } from "../../src/core/checksum.js";
import { SimClock } from "../../src/core/clock.js";
import { Scheduler } from "../../src/core/scheduler.js";
import {
  ALL_OFFLOADS,
  completeChecksum,
  decodeVnetHdr,
  encodeVnetHdr,
  FrameOffload,
  NO_OFFLOADS,
  toWireFrames,
  VnetFlag,
  VnetGso,
} from "../../src/link/offload.js";
import { FaultInjector } from "../../src/link/fault.js";
import { memLinkPair } from "../../src/link/memlink.js";
import { PcapWriter } from "../../src/link/pcap.js";
import { offloadNote, Tracer } from "../../src/link/tracer.js";
import { ether, ipv4, prefilled, tcpSegment } from "../helpers/wire.js";

const SRC = 0x0a000001;
const DST = 0x0a000002;
const MAC_A = new Uint8Array([2, 0, 0, 0, 0, 1]);
const MAC_B = new Uint8Array([2, 0, 0, 0, 0, 2]);
const TS_OPTIONS = [1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9];

function payload(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + 3) & 0xff;
  return b;
}

/** An Ethernet/IPv4/TCP frame from the reference writers (full checksums). */
function tcpFrame(seq: number, flags: number, data: Uint8Array, id = 0x1234): Uint8Array {
  const tcp = tcpSegment({ src: SRC, dst: DST, srcPort: 7, dstPort: 40000, seq, ack: 99, flags, win: 512, urg: 0, options: TS_OPTIONS, data });
  return ether(MAC_B, MAC_A, 0x0800, ipv4({ src: SRC, dst: DST, protocol: 6, payload: tcp, id }));
}

/** `frame` with its TCP checksum replaced by the folded pseudo-header sum, as a NEEDS_CSUM sender leaves it. */
function partial(frame: Uint8Array): { frame: Uint8Array; meta: FrameOffload } {
  const f = frame.slice();
  const tcpLength = f.length - 34;
  let sum = (SRC >>> 16) + (SRC & 0xffff) + (DST >>> 16) + (DST & 0xffff) + 6 + tcpLength;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  f[50] = sum >>> 8;
  f[51] = sum & 0xff;
  const meta = new FrameOffload();
  meta.flags = VnetFlag.NEEDS_CSUM;
  meta.csumStart = 34;
  meta.csumOffset = 16;
  return { frame: f, meta };
}

function collect(): { frames: Uint8Array[]; sink: (b: Uint8Array, o: number, l: number) => void } {
  const frames: Uint8Array[] = [];
  return { frames, sink: (b, o, l) => frames.push(b.slice(o, o + l)) };
}

describe("virtio-net header", () => {
  it("encodes a TSO request byte for byte: flags, gso_type, then little-endian hdr_len, gso_size, csum_start, csum_offset, num_buffers", () => {
    const buf = prefilled(16);
    const o = new FrameOffload();
    o.flags = VnetFlag.NEEDS_CSUM;
    o.gsoType = VnetGso.TCPV4;
    o.hdrLen = 66;
    o.gsoSize = 1448;
    o.csumStart = 34;
    o.csumOffset = 16;
    encodeVnetHdr(new DataView(buf.buffer), 2, o);
    expect(Array.from(buf)).toEqual([
      0xa5, 0xa5,
      0x01, // flags: VIRTIO_NET_HDR_F_NEEDS_CSUM
      0x01, // gso_type: VIRTIO_NET_HDR_GSO_TCPV4
      0x42, 0x00, // hdr_len 66
      0xa8, 0x05, // gso_size 1448
      0x22, 0x00, // csum_start 34
      0x10, 0x00, // csum_offset 16
      0x00, 0x00, // num_buffers 0
      0xa5, 0xa5,
    ]);
  });

  it("encodes null as twelve zero bytes (no offload: GSO_NONE)", () => {
    const buf = prefilled(12);
    encodeVnetHdr(new DataView(buf.buffer), 0, null);
    expect(Array.from(buf)).toEqual(new Array(12).fill(0));
  });

  it("decodes what the kernel sends for a GRO super-frame, and a plain frame as null", () => {
    // NEEDS_CSUM and TCPV4 with gso_size 1460, as Linux's virtio_net_hdr_from_skb fills them for a CHECKSUM_PARTIAL GSO skb.
    const bytes = new Uint8Array([0x01, 0x01, 0x42, 0x00, 0xb4, 0x05, 0x22, 0x00, 0x10, 0x00, 0x00, 0x00]);
    const out = new FrameOffload();
    const o = decodeVnetHdr(new DataView(bytes.buffer), 0, out);
    expect(o).toBe(out);
    expect({ ...o }).toEqual({ flags: 1, gsoType: 1, hdrLen: 66, gsoSize: 1460, csumStart: 34, csumOffset: 16 });
    expect([o?.isGso, o?.needsCsum, o?.isChecksumTrusted]).toEqual([true, true, true]);
    expect(decodeVnetHdr(new DataView(new ArrayBuffer(12)), 0, out)).toBeNull();
    const valid = new Uint8Array(12);
    valid[0] = VnetFlag.DATA_VALID;
    const v = decodeVnetHdr(new DataView(valid.buffer), 0, new FrameOffload());
    expect([v?.isGso, v?.needsCsum, v?.isChecksumTrusted]).toEqual([false, false, true]);
  });

  it("round-trips every field (decode(encode(x)) = x)", () => {
    const o = new FrameOffload();
    Object.assign(o, { flags: 3, gsoType: VnetGso.TCPV4 | VnetGso.ECN, hdrLen: 0xffff, gsoSize: 0x1234, csumStart: 0x8001, csumOffset: 6 });
    const buf = new DataView(new ArrayBuffer(12));
    encodeVnetHdr(buf, 0, o);
    expect({ ...decodeVnetHdr(buf, 0, new FrameOffload()) }).toEqual({ ...o });
  });
});

describe("completeChecksum", () => {
  it("turns a partial TCP checksum into the one the reference writer computed", () => {
    const full = tcpFrame(1000, 0x18, payload(333));
    const { frame, meta } = partial(full);
    expect(Array.from(frame.subarray(50, 52))).not.toEqual(Array.from(full.subarray(50, 52)));
    expect(completeChecksum(frame, 0, frame.length, meta)).toBe(true);
    expect(Array.from(frame)).toEqual(Array.from(full));
  });

  it("refuses offsets outside the frame", () => {
    const { frame, meta } = partial(tcpFrame(1, 0x10, payload(10)));
    meta.csumOffset = frame.length;
    expect(completeChecksum(frame, 0, frame.length, meta)).toBe(false);
  });
});

describe("toWireFrames", () => {
  it("cuts a TCPv4 super-frame into gso_size segments exactly as the reference writer would build them", () => {
    const data = payload(3 * 1000 + 123);
    const fin = 0x01 | 0x08 | 0x10 | 0x80; // FIN PSH ACK CWR
    const { frame, meta } = partial(tcpFrame(0xfffffc00, fin, data, 0xfffe));
    meta.gsoType = VnetGso.TCPV4;
    meta.gsoSize = 1000;
    meta.hdrLen = 14 + 20 + 32;
    const { frames, sink } = collect();
    expect(toWireFrames(frame, 0, frame.length, meta, new Uint8Array(70_000), sink)).toBe(4);
    const expected = [0, 1, 2, 3].map((i) => {
      const piece = data.subarray(i * 1000, Math.min(data.length, (i + 1) * 1000));
      // PSH and FIN only on the last segment, CWR only on the first (Linux tcp_gso_segment); IP ID +1 each.
      const flags = 0x10 | (i === 3 ? 0x09 : 0) | (i === 0 ? 0x80 : 0);
      return tcpFrame((0xfffffc00 + i * 1000) >>> 0, flags, piece, (0xfffe + i) & 0xffff);
    });
    expect(frames.map((f) => Array.from(f))).toEqual(expected.map((f) => Array.from(f)));
    for (const f of frames) expect(checksumNaive(f, 14, 20)).toBe(0);
  });

  it("completes a partial checksum of a single frame, and passes plain or DATA_VALID frames as they are", () => {
    const full = tcpFrame(5, 0x18, payload(99));
    const { frame, meta } = partial(full);
    const a = collect();
    expect(toWireFrames(frame, 0, frame.length, meta, new Uint8Array(2000), a.sink)).toBe(1);
    expect(Array.from(a.frames[0]!)).toEqual(Array.from(full));
    const valid = new FrameOffload();
    valid.flags = VnetFlag.DATA_VALID;
    const b = collect();
    expect(toWireFrames(full, 0, full.length, valid, new Uint8Array(0), b.sink)).toBe(1);
    expect(toWireFrames(full, 0, full.length, null, new Uint8Array(0), b.sink)).toBe(1);
    expect(b.frames.map((f) => Array.from(f))).toEqual([Array.from(full), Array.from(full)]);
  });

  it("refuses a super-frame that is not TCPv4 or whose lengths do not fit (0 frames)", () => {
    const meta = new FrameOffload();
    meta.gsoType = VnetGso.TCPV4;
    meta.gsoSize = 100;
    const { frames, sink } = collect();
    const udpish = tcpFrame(1, 0x10, payload(500));
    udpish[23] = 17;
    expect(toWireFrames(udpish, 0, udpish.length, meta, new Uint8Array(70_000), sink)).toBe(0);
    expect(toWireFrames(udpish, 0, 30, meta, new Uint8Array(70_000), sink)).toBe(0);
    const noData = tcpFrame(1, 0x10, new Uint8Array(0));
    expect(toWireFrames(noData, 0, noData.length, meta, new Uint8Array(70_000), sink)).toBe(0);
    expect(frames).toEqual([]);
  });
});

function superFrame(): { frame: Uint8Array; meta: FrameOffload; data: Uint8Array } {
  const data = payload(4 * 1448);
  const { frame, meta } = partial(tcpFrame(777, 0x18, data));
  meta.gsoType = VnetGso.TCPV4;
  meta.gsoSize = 1448;
  meta.hdrLen = 66;
  return { frame, meta, data };
}

describe("middleware and offloaded frames", () => {
  it("FaultInjector hands the stack wire segments with full checksums, and asks it for plain frames", () => {
    const s = new Scheduler(new SimClock(0));
    const [near, far] = memLinkPair(s, { offloads: ALL_OFFLOADS });
    const fault = new FaultInjector(near, s, { loss: 0 });
    expect(fault.offloads).toBe(NO_OFFLOADS);
    const up: { bytes: Uint8Array; offload: FrameOffload | null }[] = [];
    fault.attach({ frame: (b, o, l, offload) => up.push({ bytes: b.slice(o, o + l), offload: offload ?? null }), endBatch() {} });
    const { frame, meta } = superFrame();
    far.transmit(frame, 0, frame.length, meta);
    s.advance(1);
    expect(up.length).toBe(4);
    for (const f of up) {
      expect(f.offload).toBeNull();
      const tcpLength = f.bytes.length - 34;
      expect(checksumNaive(f.bytes, 34, tcpLength, (SRC >>> 16) + (SRC & 0xffff) + (DST >>> 16) + (DST & 0xffff) + 6 + tcpLength)).toBe(0);
    }
    expect(fault.offloadStats.resolved).toBe(1);
  });

  it("MemLink with offloads delivers the sender's facts with the frame (a copy, not the sender's object)", () => {
    const s = new Scheduler(new SimClock(0));
    const [a, b] = memLinkPair(s, { offloads: ALL_OFFLOADS });
    expect(a.offloads).toBe(ALL_OFFLOADS);
    const got: (FrameOffload | null)[] = [];
    b.attach({ frame: (_b, _o, _l, offload) => got.push(offload ?? null), endBatch() {} });
    const { frame, meta } = superFrame();
    a.transmit(frame, 0, frame.length, meta);
    a.transmit(frame, 0, frame.length, null);
    meta.gsoSize = 1;
    s.advance(1);
    expect(got[0]).not.toBe(meta);
    expect(got[0]?.gsoSize).toBe(1448);
    expect(got[1]).toBeNull();
  });

  it("PcapWriter records a super-frame whole with its checksum completed in the copy, leaving the frame as it was", () => {
    const dir = mkdtempSync(join(tmpdir(), "walnut-offload-"));
    try {
      const s = new Scheduler(new SimClock(0));
      const [a] = memLinkPair(s, { offloads: ALL_OFFLOADS });
      const path = join(dir, "o.pcapng");
      const pcap = new PcapWriter(a, path, () => 0);
      const { frame, meta, data } = superFrame();
      const before = frame.slice();
      pcap.transmit(frame, 0, frame.length, meta);
      pcap.close();
      expect(Array.from(frame)).toEqual(Array.from(before));
      const file = readFileSync(path);
      // Skip the SHB (28 bytes) and the IDB (its length at offset 4) to the EPB, whose data starts 28 bytes in.
      const idbLength = file.readUInt32LE(28 + 4);
      const epb = 28 + idbLength;
      expect(file.readUInt32LE(epb + 20)).toBe(frame.length);
      const recorded = new Uint8Array(file.subarray(epb + 28, epb + 28 + frame.length));
      expect(Array.from(recorded)).toEqual(Array.from(tcpFrame(777, 0x18, data)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("Tracer notes what the header said: [gso N, csum partial], [csum valid], nothing for a plain frame", () => {
    const { meta } = superFrame();
    expect(offloadNote(meta)).toBe(" [gso 1448, csum partial]");
    const valid = new FrameOffload();
    valid.flags = VnetFlag.DATA_VALID;
    expect(offloadNote(valid)).toBe(" [csum valid]");
    expect(offloadNote(null)).toBe("");
    const s = new Scheduler(new SimClock(0));
    const [a] = memLinkPair(s, { offloads: ALL_OFFLOADS });
    const lines: string[] = [];
    const tracer = new Tracer(a, () => "IP x", (l) => lines.push(l), () => 0);
    expect(tracer.offloads).toBe(ALL_OFFLOADS);
    tracer.transmit(new Uint8Array(60), 0, 60, meta);
    expect(lines[0]).toMatch(/ Out IP x \[gso 1448, csum partial\]$/);
  });
});
