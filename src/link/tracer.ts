// Tracing as device middleware: one decoded line per frame, both directions, tcpdump style. The decoder is
// handed in (it knows every protocol, which the link layer must not import). Only wrapped in when tracing
// is on, so it costs nothing otherwise. An offloaded frame's line ends with what its virtio-net header
// said: `[gso 1448]` for a super-frame of 1448-byte segments, `[csum partial]` or `[csum valid]`.

import { DeviceWrapper, type Device } from "./device.js";
import type { FrameOffload } from "./offload.js";

export type FrameDescriber = (bytes: Uint8Array, offset: number, length: number) => string;

/** hh:mm:ss.uuuuuu of the wall clock, as tcpdump prints it. */
export function traceTimestamp(micros: number): string {
  const d = new Date(Math.floor(micros / 1000));
  const hh = String(d.getHours()).padStart(2, "0");
  const mm = String(d.getMinutes()).padStart(2, "0");
  const ss = String(d.getSeconds()).padStart(2, "0");
  return `${hh}:${mm}:${ss}.${String(micros % 1_000_000).padStart(6, "0")}`;
}

export class Tracer extends DeviceWrapper {
  constructor(
    inner: Device,
    private readonly describe: FrameDescriber,
    private readonly write: (line: string) => void,
    private readonly micros: () => number,
  ) {
    super(inner);
  }

  override frame(bytes: Uint8Array, offset: number, length: number, offload: FrameOffload | null = null): void {
    this.write(`${traceTimestamp(this.micros())} In  ${this.describe(bytes, offset, length)}${offloadNote(offload)}`);
    super.frame(bytes, offset, length, offload);
  }

  override transmit(bytes: Uint8Array, offset: number, length: number, offload: FrameOffload | null = null): boolean {
    this.write(`${traceTimestamp(this.micros())} Out ${this.describe(bytes, offset, length)}${offloadNote(offload)}`);
    return super.transmit(bytes, offset, length, offload);
  }
}

/** " [gso N]", " [csum partial]", " [csum valid]" or nothing, for a frame's trace line. */
export function offloadNote(o: FrameOffload | null): string {
  if (o === null) return "";
  const notes: string[] = [];
  if (o.isGso) notes.push(`gso ${o.gsoSize}`);
  if (o.needsCsum) notes.push("csum partial");
  else if (o.isChecksumTrusted) notes.push("csum valid");
  return notes.length > 0 ? ` [${notes.join(", ")}]` : "";
}
