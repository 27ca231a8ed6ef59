// Internal error codes, modelled on lwIP's err_t meanings, and the one table that maps them to errno values
// (Linux numbering, which MicroPython on lwIP boards also uses). The stack returns these numbers; only the
// usocket boundary turns them into OSError.

export const Err = {
  OK: 0,
  /** Out of memory or a bound reached. */
  MEM: -1,
  /** Buffer error (no room in a ring). */
  BUF: -2,
  TIMEOUT: -3,
  /** No route to host (includes ARP resolution failure). */
  RTE: -4,
  INPROGRESS: -5,
  /** Illegal value. */
  VAL: -6,
  WOULDBLOCK: -7,
  /** Address in use. */
  USE: -8,
  ALREADY: -9,
  ISCONN: -10,
  /** Not connected. */
  CONN: -11,
  /** Low-level interface error. */
  IF: -12,
  /** Connection aborted. */
  ABRT: -13,
  /** Connection reset. */
  RST: -14,
  /** Connection closed. */
  CLSD: -15,
  /** Illegal argument. */
  ARG: -16,
  /** Message too long. */
  MSGSIZE: -17,
} as const;

export type ErrCode = (typeof Err)[keyof typeof Err];

export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EINVAL: 22,
  EMSGSIZE: 90,
  EOPNOTSUPP: 95,
  EAFNOSUPPORT: 97,
  EADDRINUSE: 98,
  ECONNABORTED: 103,
  ECONNRESET: 104,
  ENOBUFS: 105,
  EISCONN: 106,
  ENOTCONN: 107,
  ETIMEDOUT: 110,
  ECONNREFUSED: 111,
  EHOSTUNREACH: 113,
  EALREADY: 114,
  EINPROGRESS: 115,
} as const;

export type ErrnoName = keyof typeof Errno;

/** errno for each internal code (lwIP's err_to_errno_table, which MicroPython boards expose). */
const ERRNO_OF_ERR: Readonly<Record<number, number>> = {
  [Err.OK]: 0,
  [Err.MEM]: Errno.ENOMEM,
  [Err.BUF]: Errno.ENOBUFS,
  [Err.TIMEOUT]: Errno.ETIMEDOUT,
  [Err.RTE]: Errno.EHOSTUNREACH,
  [Err.INPROGRESS]: Errno.EINPROGRESS,
  [Err.VAL]: Errno.EINVAL,
  [Err.WOULDBLOCK]: Errno.EAGAIN,
  [Err.USE]: Errno.EADDRINUSE,
  [Err.ALREADY]: Errno.EALREADY,
  [Err.ISCONN]: Errno.EISCONN,
  [Err.CONN]: Errno.ENOTCONN,
  [Err.IF]: Errno.EIO,
  [Err.ABRT]: Errno.ECONNABORTED,
  [Err.RST]: Errno.ECONNRESET,
  [Err.CLSD]: Errno.ENOTCONN,
  [Err.ARG]: Errno.EIO,
  [Err.MSGSIZE]: Errno.EMSGSIZE,
};

export function errnoOf(err: ErrCode): number {
  return ERRNO_OF_ERR[err] ?? Errno.EIO;
}

const NAME_OF_ERRNO: ReadonlyMap<number, string> = new Map(Object.entries(Errno).map(([k, v]) => [v, k]));

export function errnoName(errno: number): string {
  return NAME_OF_ERRNO.get(errno) ?? `E${errno}`;
}
