// TapDevice: a Linux TAP as a `Device`, over the N-API addon in native/tap.c (walnut_tap.node). The addon
// reads frames in batches into one slab allocated here and calls back once per batch; each frame then goes
// to the receiver (the netif): addon poll → onBatch → receiver.frame × n → receiver.endBatch.
// Transmit writes one frame now (the addon queues it, bounded, only if the kernel says EAGAIN). With the
// virtio-net header (offloads, link/offload) each frame in both directions carries one: decoded on input and
// handed up with the frame, written from the sender's FrameOffload on output.

import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Device, FrameReceiver } from "./device.js";
import { makeCounters } from "../core/stats.js";
import {
  ALL_OFFLOADS,
  decodeVnetHdr,
  encodeVnetHdr,
  FrameOffload,
  NO_OFFLOADS,
  VNET_HDR,
  type DeviceOffloads,
} from "./offload.js";

/** The addon's counters (all monotonic). */
export interface TapStats {
  rxFrames: number;
  rxBatches: number;
  /** Failed or truncated reads (a frame larger than a slab slot), and a watcher that saw the device vanish. */
  rxErrors: number;
  /** Frames the kernel accepted (at once or from the queue). */
  txFrames: number;
  /** Frames that met EAGAIN and were queued for POLLOUT. */
  txQueued: number;
  /** Frames dropped because the queue was full or the handle closed. */
  txDropped: number;
  /** Frames the kernel rejected (EINVAL for a malformed one, EIO while the link is down). */
  txErrors: number;
}

/** One open TAP file descriptor, as native/tap.c exposes it. */
export interface TapAddonHandle {
  /** The real interface name (the kernel's pick when opened with ""). */
  readonly name: string;
  readonly vnetHdr: boolean;
  /**
   * Starts the poll watcher. Frame i of a batch is at `slab[i * stride]`, its length in `lengths[i]`; one
   * `onBatch(count)` per batch of at most `maxBatch` frames. Replaces an earlier reading session.
   */
  startReading(
    slab: Uint8Array,
    lengths: Uint32Array,
    stride: number,
    maxBatch: number,
    onBatch: (count: number) => void,
  ): void;
  stopReading(): void;
  /** 1 sent, 0 queued (EAGAIN), -1 dropped (queue full, closed, or rejected by the kernel). */
  write(buf: Uint8Array, offset: number, length: number): number;
  stats(): TapStats;
  /** Stops the watcher and closes the fd. Idempotent; safe inside onBatch. */
  close(): void;
}

export interface TapAddon {
  /** Throws an Error with `code` = errno name (ENOENT, EPERM, EBUSY, EINVAL…) and advice in the message. */
  open(name: string, options: { vnetHdr: boolean }): TapAddonHandle;
  readonly VNET_HDR_BYTES: number;
}

export interface TapOptions {
  /** Interface name (≤ 15 bytes); "" or absent lets the kernel pick `tap%d`. An existing persistent TAP is attached. */
  name?: string;
  /** Largest IP packet in bytes (default 1500). */
  mtu?: number;
  /**
   * Exchange frames with a 12-byte virtio-net header, with TCP segmentation and checksum offload both ways
   * (TUN_F_CSUM | TUN_F_TSO4): the kernel may deliver 64 KiB TCP super-frames and partial checksums, and
   * takes them. Default false: plain frames.
   */
  vnetHdr?: boolean;
  /** Most frames per read batch (default 256). */
  maxBatch?: number;
}

/** struct virtio_net_hdr_mrg_rxbuf: flags, gso_type, hdr_len, gso_size, csum_start, csum_offset, num_buffers. */
export const VNET_HDR_BYTES = VNET_HDR.length;
const ETH_HEADER_BYTES = 14;
/** Room for an 802.1Q tag the kernel may leave on a frame. */
const FRAME_SLACK_BYTES = 4;
const MIN_STRIDE_BYTES = 2048;
/** With the vnet header a TCP super-frame can be a 64 KiB IP packet: header + Ethernet + 65535, rounded up. */
const VNET_STRIDE_BYTES = 65536 + 64;
const SLAB_MAX_BYTES = 16 * 1024 * 1024;
const DEFAULT_MTU = 1500;
const DEFAULT_MAX_BATCH = 256;
const ADDON_RELATIVE_PATH = "native/build/Release/walnut_tap.node";

let addonCache: TapAddon | null = null;

/** The repository root: the nearest directory above this file holding package.json (src/link or dist/src/link). */
function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "package.json"))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`walnut: no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** Loads native/build/Release/walnut_tap.node once. */
export function loadTapAddon(): TapAddon {
  if (addonCache !== null) return addonCache;
  const path = join(findPackageRoot(), ADDON_RELATIVE_PATH);
  if (!existsSync(path)) {
    throw new Error(
      `the TAP addon is not built: run npm install (needs python3, make and a C compiler); expected ${path}`,
    );
  }
  const require = createRequire(import.meta.url);
  addonCache = require(path) as TapAddon;
  return addonCache;
}

function slabStride(mtu: number, hasVnetHdr: boolean): number {
  if (hasVnetHdr) return VNET_STRIDE_BYTES;
  const frameBytes = mtu + ETH_HEADER_BYTES + FRAME_SLACK_BYTES;
  return Math.max(MIN_STRIDE_BYTES, Math.ceil(frameBytes / 64) * 64);
}

export class TapDevice implements Device {
  readonly name: string;
  readonly mtu: number;
  readonly hasVnetHdr: boolean;
  /** Bytes per slab slot; frame i of a batch starts at i * stride. */
  readonly stride: number;
  /** Most frames per batch (the slab has this many slots). */
  readonly maxBatch: number;
  /** With the vnet header the kernel takes super-frames and partial checksums; without it, nothing. */
  readonly offloads: DeviceOffloads;
  /** Offloaded frames seen each way (counted here; the addon's counters are in `stats`). */
  readonly offloadStats = makeCounters(["rxGsoFrames", "rxNeedsCsum", "rxDataValid", "txGsoFrames", "txNeedsCsum"] as const);

  private readonly handle: TapAddonHandle;
  /** One buffer for every received frame, reused batch after batch. */
  private readonly slab: Uint8Array;
  private readonly lengths: Uint32Array;
  /** With the vnet header: a zeroed header followed by the frame being sent; null without it. */
  private readonly txBuf: Uint8Array | null;
  private readonly txView: DataView | null;
  private readonly slabView: DataView;
  /** The received frame's offload facts, refilled per frame. */
  private readonly rxOffload = new FrameOffload();
  private receiver: FrameReceiver | null = null;
  private isReading = false;
  private isClosed = false;

  private constructor(handle: TapAddonHandle, mtu: number, maxBatch: number) {
    this.handle = handle;
    this.name = handle.name;
    this.mtu = mtu;
    this.hasVnetHdr = handle.vnetHdr;
    this.stride = slabStride(mtu, this.hasVnetHdr);
    this.maxBatch = Math.max(1, Math.min(maxBatch, Math.floor(SLAB_MAX_BYTES / this.stride)));
    this.slab = new Uint8Array(new ArrayBuffer(this.stride * this.maxBatch));
    this.lengths = new Uint32Array(this.maxBatch);
    this.slabView = new DataView(this.slab.buffer);
    this.txBuf = this.hasVnetHdr ? new Uint8Array(VNET_HDR_BYTES + 65535 + ETH_HEADER_BYTES) : null;
    this.txView = this.txBuf !== null ? new DataView(this.txBuf.buffer) : null;
    this.offloads = this.hasVnetHdr ? ALL_OFFLOADS : NO_OFFLOADS;
  }

  /**
   * Opens (creates, or attaches to a persistent) TAP. Throws the addon's Error: `code` is the errno name and
   * the message says what to do (load tun, run as root, pick another name).
   */
  static open(options: TapOptions = {}): TapDevice {
    const mtu = options.mtu ?? DEFAULT_MTU;
    const maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new RangeError(`TAP mtu ${mtu} is not in 68..65535`);
    if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new RangeError(`TAP maxBatch ${maxBatch} must be >= 1`);
    const handle = loadTapAddon().open(options.name ?? "", { vnetHdr: options.vnetHdr ?? false });
    return new TapDevice(handle, mtu, maxBatch);
  }

  /** Starts reading; every batch goes to `receiver`. A later call replaces the receiver. */
  attach(receiver: FrameReceiver): void {
    this.receiver = receiver;
    if (this.isReading || this.isClosed) return;
    this.isReading = true;
    this.handle.startReading(this.slab, this.lengths, this.stride, this.maxBatch, this.onBatch);
  }

  // One closure for the device's lifetime, not one per batch.
  private readonly onBatch = (count: number): void => {
    const receiver = this.receiver;
    if (receiver === null) return;
    const slab = this.slab;
    const lengths = this.lengths;
    const stride = this.stride;
    const skip = this.hasVnetHdr ? VNET_HDR_BYTES : 0;
    for (let i = 0; i < count; i++) {
      const length = lengths[i]! - skip;
      if (length <= 0) continue;
      // A super-frame (GRO/GSO) or a partial checksum comes with its facts; a plain frame with null.
      const offload = skip === 0 ? null : decodeVnetHdr(this.slabView, i * stride, this.rxOffload);
      if (offload !== null) this.countRx(offload);
      receiver.frame(slab, i * stride + skip, length, offload);
      if (this.isClosed) return; // the receiver closed us: the slab is no longer ours to hand out
    }
    receiver.endBatch();
  };

  private countRx(o: FrameOffload): void {
    const s = this.offloadStats;
    if (o.isGso) s.rxGsoFrames++;
    if (o.needsCsum) s.rxNeedsCsum++;
    else if (o.isChecksumTrusted) s.rxDataValid++;
  }

  transmit(bytes: Uint8Array, offset: number, length: number, offload: FrameOffload | null = null): boolean {
    if (this.isClosed) return false;
    const txBuf = this.txBuf;
    if (txBuf === null || this.txView === null) return this.handle.write(bytes, offset, length) >= 0;
    if (length > txBuf.length - VNET_HDR_BYTES) return false;
    // A zeroed header (flags 0, GSO_NONE) for a plain frame; the sender's request for an offloaded one.
    encodeVnetHdr(this.txView, 0, offload);
    if (offload !== null) {
      if (offload.isGso) this.offloadStats.txGsoFrames++;
      if (offload.needsCsum) this.offloadStats.txNeedsCsum++;
    }
    txBuf.set(bytes.subarray(offset, offset + length), VNET_HDR_BYTES);
    return this.handle.write(txBuf, 0, VNET_HDR_BYTES + length) >= 0;
  }

  get stats(): TapStats {
    return this.handle.stats();
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.isReading = false;
    this.handle.close();
  }
}
