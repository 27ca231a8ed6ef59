// The errors usocket callers see: OSError with the errno (Linux numbering, as MicroPython on lwIP) and its
// name, and ValueError for bad argument values. Inside the stack errors are Err codes (core/errors.ts); this
// is the only place they become exceptions (docs/architecture.md "Errors").

import { Errno, errnoName, errnoOf, type ErrCode } from "../core/errors.js";

/** getaddrinfo failures: negative codes, as MicroPython on lwIP raises them (-2 for "name not found"). */
const NEGATIVE_NAMES: Readonly<Record<number, string>> = { [-2]: "EAI_NONAME" };

export class OSError extends Error {
  /** The errno (`OSError.args[0]` in Python); negative for getaddrinfo failures. */
  readonly errno: number;
  /** Its name, e.g. "ETIMEDOUT". */
  readonly code: string;

  constructor(errno: number) {
    const code = errno < 0 ? (NEGATIVE_NAMES[errno] ?? `E${errno}`) : errnoName(errno);
    super(`[Errno ${errno}] ${code}`);
    this.name = "OSError";
    this.errno = errno;
    this.code = code;
  }

  /** Python's `args`: `(errno,)`. */
  get args(): [number] {
    return [this.errno];
  }
}

/** Python's ValueError: an argument of the right type with a bad value (a membership request not 8 bytes long). */
export class ValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ValueError";
  }
}

/** The OSError for an internal error code. */
export function osErrorOf(err: ErrCode): OSError {
  return new OSError(errnoOf(err));
}

export { Errno };
