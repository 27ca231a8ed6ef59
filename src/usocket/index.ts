// The TypeScript usocket API (docs/usocket.md "TypeScript API"): the board's constants, OSError, and a
// factory bound to one stack — `usocketFor(stack)` → { socket, getaddrinfo, select, poll }. Calls that can
// block return Promises; errors are OSError with `errno` and `code`. The board binds one per stack.

import { Errno } from "../core/errors.js";
import { formatIpv4, tryParseIpv4 } from "../core/addr.js";
import type { Stack } from "../stack/stack.js";
import { AF_INET, SOCK_DGRAM, SOCK_RAW, SOCK_STREAM } from "./constants.js";
import { OSError, ValueError } from "./oserror.js";
import { Poll, select } from "./poll.js";
import { DEFAULT_USOCKET_OPTIONS, Socket, SocketContext, type UsocketOptions } from "./socket.js";

export * from "./constants.js";
export { OSError, ValueError } from "./oserror.js";
export { Poll } from "./poll.js";
export { DEFAULT_USOCKET_OPTIONS, Socket, type BufferLike, type SockAddr, type UsocketOptions } from "./socket.js";

/** getaddrinfo's 5-tuple: (family, type, proto, canonname, (ip, port)). */
export type AddrInfo = [family: number, type: number, proto: number, canonname: string, sockaddr: [string, number]];

/** getaddrinfo failures carry lwIP's negative code, as MicroPython raises it. */
const EAI_NONAME = -2;
/** 'localhost' needs no resolver: the board's lwIP answers it with its loopback address. */
const LOOPBACK = 0x7f000001;
const DECODER = new TextDecoder();

export interface Usocket {
  readonly stack: Stack;
  /** A new socket: AF_INET only (AF_INET6 → EAFNOSUPPORT); SOCK_STREAM, SOCK_DGRAM or SOCK_RAW (proto = IP protocol). */
  socket(af?: number, type?: number, proto?: number): Socket;
  /**
   * → exactly one tuple `[2, 1, 0, host, [ip, port]]`, whatever type was asked. A dotted quad needs no
   * lookup, nor does 'localhost' (127.0.0.1); a name goes to the stack's DNS resolver; failure → OSError(-2).
   */
  getaddrinfo(host: string | Uint8Array, port: number, af?: number, type?: number, proto?: number, flags?: number): Promise<AddrInfo[]>;
  /** select.select(r, w, x[, timeout_s]). */
  select(r: readonly Socket[], w: readonly Socket[], x: readonly Socket[], timeoutS?: number | null): Promise<[Socket[], Socket[], Socket[]]>;
  /** select.poll(). */
  poll(): Poll;
  /** Closes every socket still open (a board program that ended without closing its sockets). */
  closeAll(): void;
  /**
   * closeAll, then forgets the 10 s abort deadlines of closes still under way: for just before the stack
   * stops (Stack.stop frees every PCB itself), so no usocket deadline outlives it.
   */
  shutdown(): void;
}

export function usocketFor(stack: Stack, options: Partial<UsocketOptions> = {}): Usocket {
  const ctx = new SocketContext(stack, { ...DEFAULT_USOCKET_OPTIONS, ...options });
  return {
    stack,
    socket(af = AF_INET, type = SOCK_STREAM, proto = 0): Socket {
      if (af !== AF_INET) throw new OSError(Errno.EAFNOSUPPORT);
      if (type !== SOCK_STREAM && type !== SOCK_DGRAM && type !== SOCK_RAW) throw new OSError(Errno.EINVAL);
      if (type === SOCK_RAW && (!Number.isInteger(proto) || proto < 0 || proto > 255)) throw new OSError(Errno.EINVAL);
      return new Socket(ctx, type, proto);
    },
    async getaddrinfo(hostArg: string | Uint8Array, port: number, _af = 0, _type = 0, _proto = 0, _flags = 0): Promise<AddrInfo[]> {
      // bytes hosts as well as str (upstream's HTTP client passes b"example.org").
      const host = hostArg instanceof Uint8Array ? DECODER.decode(hostArg) : hostArg;
      if (typeof host !== "string") throw new TypeError("host must be a str or bytes");
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ValueError(`port ${port} out of range 0-65535`);
      let addr = host.toLowerCase() === "localhost" ? LOOPBACK : tryParseIpv4(host);
      if (addr < 0) {
        const r = await stack.dns.resolve(host);
        if (!r.ok || r.addresses.length === 0) throw new OSError(EAI_NONAME);
        addr = r.addresses[0] as number;
      }
      return [[AF_INET, SOCK_STREAM, 0, host, [formatIpv4(addr), port]]];
    },
    select(r, w, x, timeoutS = null) {
      return select(stack.scheduler, r, w, x, timeoutS);
    },
    poll(): Poll {
      return new Poll(stack.scheduler);
    },
    closeAll(): void {
      for (const s of [...ctx.open]) s.close();
    },
    shutdown(): void {
      this.closeAll();
      for (const d of ctx.closeDeadlines) stack.scheduler.cancel(d);
      ctx.closeDeadlines.clear();
    },
  };
}
