// The iperf3 wire protocol's constants and the framing of its control connection, with no PCBs: state bytes
// (one signed char each), JSON messages behind a 4-byte big-endian length, the 37-byte cookie, the UDP
// stream handshake words and the UDP payload header. Written from iperf3's behaviour as its documentation
// and source describe it (esnet/iperf). Call order: control.ts feeds received bytes → ControlReader → the
// server or client state machine (server.ts, client.ts), which encodes its answers here.

import type { Random } from "../../core/random.js";

/** The port `iperf3 -s` listens on, TCP (control and TCP streams) and UDP (UDP streams). */
export const IPERF3_PORT = 5201;

/** 36 characters of iperf3's base32 alphabet and a NUL: sent first on every TCP connection of a test. */
export const COOKIE_BYTES = 37;
const COOKIE_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";

/** Control states, as iperf3 sends them (one byte, signed). */
export const IperfState = {
  TEST_START: 1,
  TEST_RUNNING: 2,
  TEST_END: 4,
  PARAM_EXCHANGE: 9,
  CREATE_STREAMS: 10,
  SERVER_TERMINATE: 11,
  CLIENT_TERMINATE: 12,
  EXCHANGE_RESULTS: 13,
  DISPLAY_RESULTS: 14,
  IPERF_START: 15,
  IPERF_DONE: 16,
  ACCESS_DENIED: -1,
  SERVER_ERROR: -2,
} as const;

export type IperfStateCode = (typeof IperfState)[keyof typeof IperfState];

const STATE_NAMES: Readonly<Record<number, string>> = Object.fromEntries(Object.entries(IperfState).map(([k, v]) => [v, k]));

/** The state's name (`TEST_END`), or `state N` for a number iperf3 does not define. */
export function stateName(state: number): string {
  return STATE_NAMES[state] ?? `state ${state}`;
}

/**
 * iperf3's error numbers (`i_errno`) that a server sends after SERVER_ERROR, and that a client prints as
 * iperf3's own message. Only those the board uses; the numbering is iperf3's (parameter errors below 100).
 */
export const IperfError = {
  IEDURATION: 5,
  IENUMSTREAMS: 6,
  IEBLOCKSIZE: 7,
  IEUNIMP: 13,
  IEUDPBLOCKSIZE: 20,
  IERECVPARAMS: 114,
  IESTREAMLISTEN: 202,
  IESTREAMID: 208,
} as const;

/** iperf3's limits (iperf.h): a longer test, more streams or a larger block is refused. */
export const IperfLimits = {
  maxTimeS: 86_400,
  maxStreams: 128,
  maxTcpBlockBytes: 1024 * 1024,
  /** 65 535 − 20 (IP) − 8 (UDP). */
  maxUdpBlockBytes: 65_507,
  /** The UDP payload header: sec, usec, 32-bit counter. */
  minUdpBlockBytes: 12,
  /** Defaults when the client names no length (iperf3's DEFAULT_TCP_BLKSIZE, DEFAULT_UDP_BLKSIZE). */
  defaultTcpBlockBytes: 128 * 1024,
  defaultUdpBlockBytes: 1460,
} as const;

/**
 * The UDP stream handshake: the client sends one 4-byte datagram from the stream's socket, the server answers
 * on the same pair of ports. iperf3 writes these ints in host order, so on the (little-endian) hosts it runs
 * on, the bytes are little-endian: "9876" and "6789" in ASCII (3.12 sends these; before it, 123456789 and
 * 987654321, which iperf3 still accepts). Neither side depends on the value.
 */
export const UDP_CONNECT_MSG = 0x36373839;
export const UDP_CONNECT_REPLY = 0x39383736;
export const UDP_HANDSHAKE_BYTES = 4;

/** A fresh cookie: 36 random base32 characters and the terminating NUL. */
export function makeCookie(random: Random): Uint8Array {
  const cookie = new Uint8Array(COOKIE_BYTES);
  for (let i = 0; i < COOKIE_BYTES - 1; i++) cookie[i] = COOKIE_ALPHABET.charCodeAt(random.below(COOKIE_ALPHABET.length));
  return cookie;
}

/** The cookie as text, without its NUL (for reports). */
export function cookieText(cookie: Uint8Array): string {
  const end = cookie.indexOf(0);
  return String.fromCharCode(...cookie.subarray(0, end < 0 ? cookie.length : end));
}

/** A cookie compares by its bytes up to the NUL, as iperf3's strcmp does. */
export function cookiesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return cookieText(a) === cookieText(b);
}

/** One state byte (two's complement for ACCESS_DENIED and SERVER_ERROR). */
export function encodeState(state: number): Uint8Array {
  return Uint8Array.of(state & 0xff);
}

/** SERVER_ERROR with iperf3's error number and an errno, each a 4-byte big-endian int, as a server sends it. */
export function encodeServerError(iperfErrno: number, errno = 0): Uint8Array {
  const out = new Uint8Array(9);
  const view = new DataView(out.buffer);
  out[0] = IperfState.SERVER_ERROR & 0xff;
  view.setInt32(1, iperfErrno);
  view.setInt32(5, errno);
  return out;
}

/** A JSON message: its UTF-8 length as a 4-byte big-endian integer, then the text (no NUL). */
export function encodeJson(value: unknown): Uint8Array {
  const text = new TextEncoder().encode(JSON.stringify(value));
  const out = new Uint8Array(4 + text.length);
  new DataView(out.buffer).setUint32(0, text.length);
  out.set(text, 4);
  return out;
}

/** What `takeJson` found: a whole message, not enough bytes yet, or a message that cannot be one. */
export type JsonTake = { kind: "ok"; value: unknown } | { kind: "incomplete" } | { kind: "bad"; reason: string };

/**
 * Bytes received on a control connection, taken off as the state machine expects them: a state byte, a
 * 4-byte integer or a length-prefixed JSON message. Bounded: a JSON message longer than `maxMessageBytes`
 * is refused rather than buffered (a results message with 128 streams is about 20 KB).
 */
export class ControlReader {
  private buf: Uint8Array;
  private start = 0;
  private end = 0;

  constructor(readonly maxMessageBytes = 1024 * 1024) {
    this.buf = new Uint8Array(4096);
  }

  get available(): number {
    return this.end - this.start;
  }

  /** Appends received bytes; false (nothing kept) when they would exceed the bound. */
  push(src: Uint8Array, offset: number, length: number): boolean {
    if (this.available + length > this.maxMessageBytes + 8) return false;
    if (this.end + length > this.buf.length) {
      // Compact first; grow (doubling) only when the live bytes need it.
      const live = this.available;
      if (live + length > this.buf.length) {
        let size = this.buf.length * 2;
        while (size < live + length) size *= 2;
        const next = new Uint8Array(size);
        next.set(this.buf.subarray(this.start, this.end));
        this.buf = next;
      } else {
        this.buf.copyWithin(0, this.start, this.end);
      }
      this.start = 0;
      this.end = live;
    }
    this.buf.set(src.subarray(offset, offset + length), this.end);
    this.end += length;
    return true;
  }

  /** The next state byte as a signed char, or null when none has arrived. */
  takeState(): number | null {
    if (this.available < 1) return null;
    const b = this.buf[this.start++] as number;
    return b >= 128 ? b - 256 : b;
  }

  /** The next state byte without taking it, or null. */
  peekState(): number | null {
    if (this.available < 1) return null;
    const b = this.buf[this.start] as number;
    return b >= 128 ? b - 256 : b;
  }

  /** The next 4-byte big-endian signed integer, or null. */
  takeInt32(): number | null {
    if (this.available < 4) return null;
    const b = this.buf;
    const s = this.start;
    this.start += 4;
    return (((b[s] as number) << 24) | ((b[s + 1] as number) << 16) | ((b[s + 2] as number) << 8) | (b[s + 3] as number)) | 0;
  }

  /** The next `n` bytes (a copy), or null until all have arrived. */
  takeBytes(n: number): Uint8Array | null {
    if (this.available < n) return null;
    const out = this.buf.slice(this.start, this.start + n);
    this.start += n;
    return out;
  }

  /** The next JSON message; nothing is consumed while it is incomplete. */
  takeJson(): JsonTake {
    if (this.available < 4) return { kind: "incomplete" };
    const b = this.buf;
    const s = this.start;
    const length = ((b[s] as number) * 0x1000000 + (((b[s + 1] as number) << 16) | ((b[s + 2] as number) << 8) | (b[s + 3] as number))) >>> 0;
    if (length > this.maxMessageBytes) return { kind: "bad", reason: `a JSON message of ${length} bytes (the limit is ${this.maxMessageBytes})` };
    if (this.available < 4 + length) return { kind: "incomplete" };
    const text = new TextDecoder().decode(b.subarray(s + 4, s + 4 + length));
    this.start += 4 + length;
    try {
      return { kind: "ok", value: JSON.parse(text) as unknown };
    } catch {
      return { kind: "bad", reason: "a JSON message that does not parse" };
    }
  }
}

/** Offsets of the UDP payload header (iperf3: sec, usec, then a 32- or 64-bit packet counter; big-endian). */
export const UdpPayload = { sec: 0, usec: 4, counter: 8, headerBytes32: 12, headerBytes64: 16 } as const;

/** Writes the header of UDP datagram `counter` sent at `wallMicros` (microseconds since the Unix epoch). */
export function writeUdpPayloadHeader(view: DataView, offset: number, wallMicros: number, counter: number, counters64: boolean): void {
  const sec = Math.floor(wallMicros / 1e6);
  view.setUint32(offset + UdpPayload.sec, sec >>> 0);
  view.setUint32(offset + UdpPayload.usec, Math.floor(wallMicros - sec * 1e6) >>> 0);
  if (counters64) {
    view.setUint32(offset + UdpPayload.counter, Math.floor(counter / 0x100000000) >>> 0);
    view.setUint32(offset + UdpPayload.counter + 4, counter >>> 0);
  } else {
    view.setUint32(offset + UdpPayload.counter, counter >>> 0);
  }
}

/** The sender's time of a UDP datagram, in microseconds since the epoch (as the header carries it). */
export function udpPayloadSentMicros(view: DataView, offset: number): number {
  return view.getUint32(offset + UdpPayload.sec) * 1e6 + view.getUint32(offset + UdpPayload.usec);
}

/** The packet counter of a UDP datagram. */
export function udpPayloadCounter(view: DataView, offset: number, counters64: boolean): number {
  if (!counters64) return view.getUint32(offset + UdpPayload.counter);
  return view.getUint32(offset + UdpPayload.counter) * 0x100000000 + view.getUint32(offset + UdpPayload.counter + 4);
}
