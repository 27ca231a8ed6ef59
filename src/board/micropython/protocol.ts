// The board's blocking bridge between the MicroPython worker and the main thread (docs/architecture.md "The board's worker bridge"):
// the layout of the SharedArrayBuffer both sides share and the messages they exchange. The worker posts a
// Request and blocks on Atomics.wait over STATE; the main thread (which owns the stack) answers by filling
// the response slots, the data area and the string area, then sets STATE to DONE and notifies.

/** Int32 slots at the start of the shared buffer. */
export const Slot = {
  /** IDLE, WAITING (a request is out) or DONE (its answer is in). */
  STATE: 0,
  /** Set by the main thread to interrupt the script (Ctrl-C): blocked calls raise KeyboardInterrupt. */
  INTERRUPT: 1,
  /** The sequence number the answer belongs to (a stale answer is never written). */
  SEQ: 2,
  /** A Status code. */
  STATUS: 3,
  /** The call's int result (count, socket id, …); for stream methods -1 means None. */
  VALUE: 4,
  /** A second int result (a port). */
  VALUE2: 5,
  /** Bytes in the data area: request data (worker → main) or answer data (main → worker). */
  DATA_LENGTH: 6,
  /** Bytes of UTF-8 in the string area (answer). */
  STRING_LENGTH: 7,
  /** REPL: 1 while the worker is inside replProcessChar (a statement may be running), 0 while it waits for input. */
  BUSY: 8,
} as const;

export const State = { IDLE: 0, WAITING: 1, DONE: 2 } as const;

/** How a call ended; the Python wrapper raises the matching exception. */
export const Status = { OK: 0, OSERROR: 1, VALUE_ERROR: 2, TYPE_ERROR: 3, EOF_ERROR: 4, INTERRUPTED: 5, RUNTIME_ERROR: 6 } as const;

const HEADER_BYTES = 64;
/** Largest data one call moves (a UDP datagram's 65507 bytes fit); Python wrappers loop for more. */
export const DATA_MAX = 65_536;
export const STRING_MAX = 8_192;
export const DATA_OFFSET = HEADER_BYTES;
export const STRING_OFFSET = HEADER_BYTES + DATA_MAX;
export const SHARED_BYTES = HEADER_BYTES + DATA_MAX + STRING_MAX;

/** One bridge call: an operation name, a socket id and up to three arguments; bulk data sits in the data area. */
export interface Request {
  kind: "call";
  seq: number;
  op: string;
  sid: number;
  a: number | string | null;
  b: number | string | null;
  c: number | string | null;
}

/** Worker → main. */
export type WorkerMessage =
  | Request
  | { kind: "output"; stream: "stdout" | "stderr"; text: string }
  | { kind: "done"; ok: boolean; traceback: string | null };

/** What the worker is started with. */
export interface WorkerInput {
  shared: SharedArrayBuffer;
  /** file: URL of micropython.mjs. */
  micropythonUrl: string;
  /** Files to write into the interpreter's filesystem (path → text), e.g. /lib/usocket.py. */
  files: Record<string, string>;
  source: string;
  heapBytes: number;
  /** Run the interactive REPL (fed by ReplInput messages) instead of `source`. */
  repl?: boolean;
}

/** Main → worker, REPL only: raw characters (a terminal), one line of piped input (no newline), or end of input. */
export type ReplInput = { kind: "chars"; text: string } | { kind: "line"; text: string } | { kind: "eof" };
