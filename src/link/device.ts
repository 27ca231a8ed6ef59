// The link-layer device contract: whatever carries Ethernet frames (a TAP, an in-memory wire, a middleware
// wrapping either) implements `Device`. Frames flow up in batches: device → FrameReceiver (the netif) and
// down one at a time: netif → device.transmit. Order in the stack: link → eth/netif → ip → transports.
// A frame may travel with its offload facts (link/offload: a TCP super-frame, a partial checksum); null when
// it is a plain wire frame.

import type { DeviceOffloads, FrameOffload } from "./offload.js";

/**
 * Receives frames from a device. A batch is `frame()` called once per frame, then `endBatch()` once, so the
 * stack can run one output pass per batch (ACKs and data share segments, as in lwIP). The bytes of a frame
 * are valid only during its `frame()` call: the device reuses its buffer afterwards.
 */
export interface FrameReceiver {
  /** `offload` (valid, like the bytes, only during the call) says what the device's virtio-net header said. */
  frame(bytes: Uint8Array, offset: number, length: number, offload?: FrameOffload | null): void;
  endBatch(): void;
}

export interface Device {
  /** A short human name (the TAP name, or `mem0`). */
  readonly name: string;
  /** Largest Ethernet payload (IP packet) in bytes; the frame is 14 bytes more. */
  readonly mtu: number;
  /**
   * What `transmit` takes beyond plain frames: TCP super-frames (tso) and partial checksums (csum). The stack
   * hands a device an offloaded frame only when it says so here; on input any device may deliver one.
   */
  readonly offloads: DeviceOffloads;
  /** Where received frames go. Set once by the netif. */
  attach(receiver: FrameReceiver): void;
  /**
   * Sends one frame. The device copies or writes the bytes before returning, so the caller may reuse its
   * buffer at once. `offload` (only as `offloads` allows) asks for segmentation or a checksum. Returns false
   * if the frame was dropped (queue full, device closed).
   */
  transmit(bytes: Uint8Array, offset: number, length: number, offload?: FrameOffload | null): boolean;
  /** Stops receiving and releases the device. Idempotent. */
  close(): void;
}

/** A device that wraps another (fault injection, capture, tracing). */
export abstract class DeviceWrapper implements Device, FrameReceiver {
  protected receiver: FrameReceiver | null = null;

  constructor(protected readonly inner: Device) {}

  get name(): string {
    return this.inner.name;
  }

  get mtu(): number {
    return this.inner.mtu;
  }

  get offloads(): DeviceOffloads {
    return this.inner.offloads;
  }

  attach(receiver: FrameReceiver): void {
    this.receiver = receiver;
    this.inner.attach(this);
  }

  frame(bytes: Uint8Array, offset: number, length: number, offload: FrameOffload | null = null): void {
    this.receiver?.frame(bytes, offset, length, offload);
  }

  endBatch(): void {
    this.receiver?.endBatch();
  }

  transmit(bytes: Uint8Array, offset: number, length: number, offload: FrameOffload | null = null): boolean {
    return this.inner.transmit(bytes, offset, length, offload);
  }

  close(): void {
    this.inner.close();
  }
}
