// The link-layer device contract: whatever carries Ethernet frames (a TAP, an in-memory wire, a middleware
// wrapping either) implements `Device`. Frames flow up in batches: device → FrameReceiver (the netif) and
// down one at a time: netif → device.transmit. Order in the stack: link → eth/netif → ip → transports.

/**
 * Receives frames from a device. A batch is `frame()` called once per frame, then `endBatch()` once, so the
 * stack can run one output pass per batch (ACKs and data share segments, as in lwIP). The bytes of a frame
 * are valid only during its `frame()` call: the device reuses its buffer afterwards.
 */
export interface FrameReceiver {
  frame(bytes: Uint8Array, offset: number, length: number): void;
  endBatch(): void;
}

export interface Device {
  /** A short human name (the TAP name, or `mem0`). */
  readonly name: string;
  /** Largest Ethernet payload (IP packet) in bytes; the frame is 14 bytes more. */
  readonly mtu: number;
  /** Where received frames go. Set once by the netif. */
  attach(receiver: FrameReceiver): void;
  /**
   * Sends one frame. The device copies or writes the bytes before returning, so the caller may reuse its
   * buffer at once. Returns false if the frame was dropped (queue full, device closed).
   */
  transmit(bytes: Uint8Array, offset: number, length: number): boolean;
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

  attach(receiver: FrameReceiver): void {
    this.receiver = receiver;
    this.inner.attach(this);
  }

  frame(bytes: Uint8Array, offset: number, length: number): void {
    this.receiver?.frame(bytes, offset, length);
  }

  endBatch(): void {
    this.receiver?.endBatch();
  }

  transmit(bytes: Uint8Array, offset: number, length: number): boolean {
    return this.inner.transmit(bytes, offset, length);
  }

  close(): void {
    this.inner.close();
  }
}
