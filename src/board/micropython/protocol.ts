// The board's blocking bridge between the MicroPython worker and the main thread (docs/architecture.md "The
// board"): the layout of the SharedArrayBuffer both sides share, the operations a Python wrapper may ask
// for with the kinds of their arguments, and the messages the two threads exchange. The worker checks a
// call's arguments against OP_ARGS, posts a Request and blocks on Atomics.wait over STATE; the main thread
// (which owns the stack) answers by filling the response slots, the data area and the string area, then
// sets STATE to DONE and notifies. The Python side's constants (_walnutconst.py) are generated from here.

import { INBOX_REGION_BYTES } from "./inbox.js";
import { POST_RING_BYTES, ROOM_BYTES, type PostLayout } from "./posts.js";

/** Int32 slots at the start of the shared buffer, for the whole interpreter. */
export const Slot = {
  /** Set by the main thread to interrupt the script (Ctrl-C): blocked calls raise KeyboardInterrupt. */
  INTERRUPT: 0,
  /** REPL: 1 while the worker is inside replProcessChar (a statement may be running), 0 while it waits for input. */
  BUSY: 1,
  /**
   * 1 while the main thread watches the frames for the next request (right after an answer): the worker
   * then rings no doorbell message, and the request is served without a wake-up of the main thread.
   */
  MAIN_SPINNING: 2,
  /** Bytes appended to the post ring by the worker, and consumed by the main thread (posts.ts). */
  POST_WRITTEN: 3,
  POST_READ: 4,
} as const;

/**
 * Int32 slots of one call frame. A call is made in frame 0; a machine.Timer callback that runs while a call
 * waits makes its own calls in frame 1 (callbacks do not nest further), so a waiting call's request and
 * answer are never overwritten.
 */
export const FrameSlot = {
  /** IDLE, WAITING (a request is out) or DONE (its answer is in). */
  STATE: 0,
  /** The sequence number the answer belongs to (a stale answer is never written). */
  SEQ: 1,
  /** A Status code. */
  STATUS: 2,
  /** The call's int result (count, socket id, …); for stream methods -1 means None. */
  VALUE: 3,
  /** A second int result (a port). */
  VALUE2: 4,
  /** Bytes in the data area: request data (worker → main) or answer data (main → worker). */
  DATA_LENGTH: 5,
  /** Bytes of UTF-8 in the string area (answer). */
  STRING_LENGTH: 6,
  /** Request: the operation, the socket id, and per argument slot its kind (ArgSlotKind, 2 bits each). */
  OP: 7,
  SID: 8,
  ARG_KINDS: 9,
  /** Request: UTF-8 bytes of string arguments a, b, c (0 for others); they sit one after another in the string area. */
  ARG_STRING_LENGTH: 10,
  /** Answer of recvfrom on UDP: the source address as a number (the worker names it in a posted reply). */
  SOURCE_IP: 11,
} as const;

/**
 * A frame's life: IDLE → WAITING (the worker wrote a request) → TAKEN (the main thread claimed it with a
 * compare-and-swap, so a doorbell message and the main thread's own watch never serve it twice) → DONE
 * (the answer is in) → IDLE (the worker read it, or gave up on it after an interrupt).
 */
export const State = { IDLE: 0, WAITING: 1, TAKEN: 2, DONE: 3 } as const;

/** What an argument slot of a request holds. */
const ArgSlotKind = { NONE: 0, NUMBER: 1, STRING: 2 } as const;
/** Float64 index (from the frame's start, in 8-byte units) of the three number arguments. */
const ARG_NUMBER_AT = 8;

/** How a call ended; the Python wrapper raises the matching exception. */
/** RETRY: a read call was not made because the socket's inbox got bytes meanwhile: take them first. */
export const Status = { OK: 0, OSERROR: 1, VALUE_ERROR: 2, TYPE_ERROR: 3, EOF_ERROR: 4, INTERRUPTED: 5, RUNTIME_ERROR: 6, RETRY: 7 } as const;
export type StatusCode = (typeof Status)[keyof typeof Status];

const GLOBAL_BYTES = 64;
/** Int32 slots (FrameSlot) in the first 64 bytes, the three float64 arguments after them. */
const FRAME_HEADER_BYTES = 96;
/** Largest data one call moves (a UDP datagram's 65507 bytes fit); Python wrappers loop for more. */
export const DATA_MAX = 65_536;
export const STRING_MAX = 8_192;
/** Call frames: the script's, and one for timer callbacks. */
export const FRAMES = 2;
const FRAME_BYTES = FRAME_HEADER_BYTES + DATA_MAX + STRING_MAX;
const FRAMES_END = GLOBAL_BYTES + FRAMES * FRAME_BYTES;
/** The room table and the post ring (posts.ts), after the frames. */
export const POST_LAYOUT: PostLayout = {
  roomOffset: FRAMES_END,
  ringOffset: FRAMES_END + ROOM_BYTES,
  writtenSlot: Slot.POST_WRITTEN,
  readSlot: Slot.POST_READ,
};
/** The sockets' inboxes (inbox.ts), after the post ring. */
export const INBOX_OFFSET = FRAMES_END + ROOM_BYTES + POST_RING_BYTES;
export const SHARED_BYTES = INBOX_OFFSET + INBOX_REGION_BYTES;

/** Where frame `frame` keeps its slots, data and string in the shared buffer. */
export interface FrameLayout {
  /** Int32 index of FrameSlot.STATE (add a FrameSlot value for the others). */
  slot0: number;
  dataOffset: number;
  stringOffset: number;
}

export function frameLayout(frame: number): FrameLayout {
  const base = GLOBAL_BYTES + frame * FRAME_BYTES;
  return { slot0: base / 4, dataOffset: base + FRAME_HEADER_BYTES, stringOffset: base + FRAME_HEADER_BYTES + DATA_MAX };
}

/** The operations a bridge call can ask for. Python names them OP_<NAME> (generated). */
export const Op = {
  SOCKET: 1,
  CLOSE: 2,
  BIND: 3,
  LISTEN: 4,
  ACCEPT: 5,
  CONNECT: 6,
  SEND: 7,
  SENDALL: 8,
  SENDTO: 9,
  WRITE: 10,
  RECV: 11,
  RECVFROM: 12,
  READ: 13,
  READLINE: 14,
  SETTIMEOUT: 15,
  SETBLOCKING: 16,
  SETSOCKOPT: 17,
  GETADDRINFO: 18,
  POLL: 19,
  /** The next console line with its newline ('' at end of input). */
  STDIN_LINE: 20,
  NET_CONNECT: 21,
  NET_IFCONFIG: 22,
  NET_SET: 23,
  NET_DHCP: 24,
  NET_MAC: 25,
  /** machine.reset(): the script (or the REPL) starts again in a fresh interpreter; never answered. */
  RESET: 26,
  /** A virtual pin's new value (name, 0/1), logged with --trace-pins. */
  PIN: 27,
  /** The SSID network.WLAN().scan() finds ('' without --wifi: nothing in range). */
  NET_SCAN: 28,
  /** Posted only: the worker made room in the socket's inbox, which wants it (inbox.ts). */
  REFILL: 29,
} as const;
export type OpCode = (typeof Op)[keyof typeof Op];

/** The read calls: the worker makes them with the socket's inbox held, the main thread refills after (inbox.ts). */
export const READ_OPS: ReadonlySet<number> = new Set([Op.RECV, Op.RECVFROM, Op.READ, Op.READLINE]);

/**
 * What an argument slot may hold: an int (a 32-bit integer), a number (int or float), a str; `?` also
 * allows None. Slots past an op's list must be None.
 */
export type ArgKind = "int" | "num" | "str" | "int?" | "num?" | "str?";

/** The argument kinds of slots a, b, c per op (the socket id and the data area are separate). */
export const OP_ARGS = {
  [Op.SOCKET]: ["int", "int", "int"],
  [Op.CLOSE]: [],
  [Op.BIND]: ["str", "int"],
  [Op.LISTEN]: ["int"],
  [Op.ACCEPT]: [],
  [Op.CONNECT]: ["str", "int"],
  [Op.SEND]: [],
  [Op.SENDALL]: [],
  [Op.SENDTO]: ["str", "int"],
  [Op.WRITE]: [],
  [Op.RECV]: ["int", "int"],
  [Op.RECVFROM]: ["int", "int"],
  [Op.READ]: ["int"],
  [Op.READLINE]: ["int"],
  /** Seconds; None blocks. */
  [Op.SETTIMEOUT]: ["num?"],
  [Op.SETBLOCKING]: ["int"],
  /** level, option, int value (None: the value is the data area). */
  [Op.SETSOCKOPT]: ["int", "int", "int?"],
  [Op.GETADDRINFO]: ["str", "int"],
  /** "fd:mask,…" and a timeout in ms (-1: forever). */
  [Op.POLL]: ["str", "int"],
  [Op.STDIN_LINE]: [],
  [Op.NET_CONNECT]: ["str?", "str?"],
  [Op.NET_IFCONFIG]: [],
  /** "ip,mask,gw,dns". */
  [Op.NET_SET]: ["str"],
  [Op.NET_DHCP]: [],
  [Op.NET_MAC]: [],
  [Op.RESET]: [],
  [Op.PIN]: ["str", "int"],
  [Op.NET_SCAN]: [],
  [Op.REFILL]: [],
} as const satisfies Record<OpCode, readonly ArgKind[]>;

type ArgValue<K extends ArgKind> = K extends "int" | "num" ? number : K extends "str" ? string : K extends "int?" | "num?" ? number | null : string | null;
/** The decoded arguments of `op`, typed by OP_ARGS. */
export type OpArgs<O extends OpCode> = ArgsOf<(typeof OP_ARGS)[O]>;
type ArgsOf<T extends readonly ArgKind[]> = { -readonly [I in keyof T]: T[I] extends ArgKind ? ArgValue<T[I]> : never };

export type Arg = number | string | null;

/** Why `value` cannot sit in a slot of kind `kind`, or null when it can. */
export function argProblem(kind: ArgKind | undefined, value: unknown): string | null {
  if (value === null || value === undefined) return kind === undefined || kind.endsWith("?") ? null : "is None";
  if (kind === undefined) return "is not expected";
  if (typeof value === "boolean") return kind.startsWith("int") || kind.startsWith("num") ? null : "is a bool";
  if (typeof value === "number") {
    if (kind.startsWith("str")) return "is a number, not a str";
    if (!Number.isFinite(value)) return "is not finite";
    if (kind.startsWith("int") && !Number.isInteger(value)) return "is not an int";
    return null;
  }
  if (typeof value === "string") return kind.startsWith("str") ? null : "is a str, not a number";
  return "has a type the bridge cannot carry";
}

/** One bridge call: an operation, a socket id and up to three checked arguments; bulk data sits in the data area. */
export interface Request {
  /** The call frame whose slots and data areas hold this request and its answer. */
  frame: number;
  seq: number;
  op: OpCode;
  sid: number;
  args: Arg[];
}

/** The shared buffer seen as the slots, the float64 arguments and the bytes. */
export interface SharedViews {
  i32: Int32Array;
  f64: Float64Array;
  bytes: Uint8Array;
}

export function sharedViews(shared: SharedArrayBuffer): SharedViews {
  return { i32: new Int32Array(shared), f64: new Float64Array(shared), bytes: new Uint8Array(shared) };
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/**
 * Writes a request's operation and arguments into its frame (the worker, before it marks the frame
 * WAITING) → false when its strings do not fit the string area.
 */
export function writeRequest(v: SharedViews, req: Request): boolean {
  const f = frameLayout(req.frame);
  let kinds = 0;
  let at = f.stringOffset;
  for (let i = 0; i < 3; i++) {
    const a = req.args[i] ?? null;
    let length = 0;
    if (typeof a === "number") {
      kinds |= ArgSlotKind.NUMBER << (2 * i);
      v.f64[f.slot0 / 2 + ARG_NUMBER_AT + i] = a;
    } else if (typeof a === "string") {
      kinds |= ArgSlotKind.STRING << (2 * i);
      const r = utf8.encodeInto(a, v.bytes.subarray(at, f.stringOffset + STRING_MAX));
      if (r.read !== a.length) return false;
      length = r.written;
      at += length;
    }
    v.i32[f.slot0 + FrameSlot.ARG_STRING_LENGTH + i] = length;
  }
  v.i32[f.slot0 + FrameSlot.OP] = req.op;
  v.i32[f.slot0 + FrameSlot.SID] = req.sid;
  v.i32[f.slot0 + FrameSlot.ARG_KINDS] = kinds;
  v.i32[f.slot0 + FrameSlot.SEQ] = req.seq;
  return true;
}

/** Reads the request of a frame the main thread has claimed. */
export function readRequest(v: SharedViews, frame: number): Request {
  const f = frameLayout(frame);
  const kinds = v.i32[f.slot0 + FrameSlot.ARG_KINDS] as number;
  const args: Arg[] = [];
  let at = f.stringOffset;
  for (let i = 0; i < 3; i++) {
    const kind = (kinds >> (2 * i)) & 3;
    if (kind === ArgSlotKind.NUMBER) {
      args.push(v.f64[f.slot0 / 2 + ARG_NUMBER_AT + i] as number);
    } else if (kind === ArgSlotKind.STRING) {
      const length = v.i32[f.slot0 + FrameSlot.ARG_STRING_LENGTH + i] as number;
      args.push(fromUtf8.decode(v.bytes.slice(at, at + length)));
      at += length;
    } else {
      args.push(null);
    }
  }
  return {
    frame,
    seq: v.i32[f.slot0 + FrameSlot.SEQ] as number,
    op: v.i32[f.slot0 + FrameSlot.OP] as OpCode,
    sid: v.i32[f.slot0 + FrameSlot.SID] as number,
    args,
  };
}

/** Worker → main. */
export type WorkerMessage =
  /** The doorbell: frame `frame` holds a request (sent only while the main thread is not watching). */
  | { kind: "call"; frame: number }
  /** The post ring was empty and has an entry now (posts.ts). */
  | { kind: "post" }
  | { kind: "output"; stream: "stdout" | "stderr"; text: string }
  /** REPL: a piped line has been processed; the next may come. */
  | { kind: "ready" }
  /** The interpreter's memory reached its limit (the script gets MemoryError; the main thread watches it end). */
  | { kind: "memory-limit" }
  /** The script ended: `exitCode` 0 normally, sys.exit's code, 1 after an uncaught exception (its `traceback`). */
  | { kind: "done"; ok: boolean; traceback: string | null; exitCode: number };

/** What the worker is started with. */
export interface WorkerInput {
  shared: SharedArrayBuffer;
  /** file: URL of micropython.mjs. */
  micropythonUrl: string;
  /** Files to write into the interpreter's filesystem (path → text), e.g. /lib/usocket.py. */
  files: Record<string, string>;
  /** The script to run: its text and the path it is known by (tracebacks, sys.argv[0]); null for the REPL or --fs boot. */
  script: { source: string; path: string } | null;
  /** sys.argv after argv[0]. */
  argv: string[];
  /** Host folders to mount (see hostfs.ts), board path → host path; read-only unless `writable`. */
  mounts: { boardPath: string; hostPath: string; writable: boolean }[];
  /** Folders put first on sys.path (the script's folder). */
  pathFirst: string[];
  /** With --fs: the board's flash (mounted at FLASH_DIR), which boot.py/main.py run from. */
  flash: boolean;
  heapBytes: number;
  /** Run the interactive REPL (fed by ReplInput messages) instead of a script. */
  repl?: boolean;
}

/** Where a `--fs` folder is mounted in the interpreter; Python sees it as `/` through the board's path mapping. */
export const FLASH_DIR = "/flash";

/** Main → worker, REPL only: raw characters (a terminal), one line of piped input (no newline), or end of input. */
export type ReplInput = { kind: "chars"; text: string } | { kind: "line"; text: string } | { kind: "eof" };

/**
 * A watch time from the environment (µs; absent or empty: `defaultUs`; not a positive number: 0, off), in ms,
 * at most 100 ms: WALNUT_BRIDGE_SPIN_US (the worker) and WALNUT_BRIDGE_MAIN_SPIN_US (the main thread).
 */
export function watchMsFromEnv(name: string, defaultUs: number): number {
  const text = process.env[name];
  const us = text === undefined || text === "" ? defaultUs : Number(text);
  return Number.isFinite(us) && us > 0 ? Math.min(us, 100_000) / 1000 : 0;
}

/** Said after a MemoryError at the interpreter's memory limit (docs/usocket.md, "Memory"). */
export const HEAP_LIMIT_HINT =
  "walnut: the interpreter's memory reached its 2 GiB limit. This MicroPython build (WebAssembly) frees garbage only\n" +
  "  when a script returns to the top level, so a script that runs long keeps all it ever allocated; allocate less\n" +
  "  per call (readinto into one buffer instead of recv, for example): see docs/usocket.md, \"Memory\".\n";
