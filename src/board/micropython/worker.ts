// The MicroPython worker (docs/architecture.md "The board's worker bridge"): runs one script in the WebAssembly build of MicroPython
// and gives it `_walnut`, a JS module whose calls block on Atomics.wait while the main thread, which owns
// the stack, serves them (docs/measurements.md "MicroPython in a worker"). Data moves by
// copying between the shared buffer and the wasm Memory at a Python buffer's address (uctypes.addressof):
// the Memory is captured by wrapping WebAssembly.instantiate, since the build does not export HEAPU8.
// Bridge calls never throw into Python (a throw would skip try/finally): they return a value and leave a
// status that the Python wrapper turns into OSError, ValueError, KeyboardInterrupt, …

import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import {
  argProblem,
  DATA_MAX,
  FrameSlot,
  FRAMES,
  frameLayout,
  Op,
  OP_ARGS,
  HEAP_LIMIT_HINT,
  INBOX_OFFSET,
  POST_LAYOUT,
  READ_OPS,
  Slot,
  State,
  Status,
  type Arg,
  type FrameLayout,
  type ArgKind,
  type OpCode,
  type ReplInput,
  sharedViews,
  watchMsFromEnv,
  writeRequest,
  type WorkerInput,
  type WorkerMessage,
} from "./protocol.js";
import { mountHostFolder, type EmscriptenFs } from "./hostfs.js";
import { PostWriter } from "./posts.js";
import { InboxFlag, InboxReader } from "./inbox.js";

/** Where the script's text is written in the interpreter (tracebacks name it by its own path). */
const SCRIPT_PATH = "/.walnut/script.py";

interface WasmMemoryLike {
  readonly buffer: ArrayBuffer;
}
interface WasmGlobal {
  WebAssembly: {
    Memory: new (d: { initial: number }) => WasmMemoryLike;
    instantiate: (...args: unknown[]) => Promise<unknown>;
  };
}
interface MicroPython {
  _module: { _mp_sched_keyboard_interrupt(): void; _malloc(bytes: number): number; _free(ptr: number): void };
  runPython(code: string): unknown;
  registerJsModule(name: string, module: Record<string, unknown>): void;
  replInit(): void;
  /** One byte of console input → PYEXEC_* flags (0x100: forced exit, i.e. Ctrl-D on an empty line or SystemExit). */
  replProcessChar(c: number): number;
  FS: { mkdirTree(path: string): void; writeFile(path: string, data: string): void };
}
interface MicroPythonModule {
  loadMicroPython(options: {
    heapsize: number;
    stdin: () => number | null;
    stdout: (b: Uint8Array) => void;
    stderr: (b: Uint8Array) => void;
    linebuffer: boolean;
  }): Promise<MicroPython>;
}

const input = workerData as WorkerInput;
if (parentPort === null) throw new Error("worker.ts runs only as a worker thread");
const port: MessagePort = parentPort;
const i32 = new Int32Array(input.shared);
const shared = new Uint8Array(input.shared);
const decoder = new TextDecoder();

let memory: WasmMemoryLike | null = null;
const wasm = (globalThis as unknown as WasmGlobal).WebAssembly;
const instantiate = wasm.instantiate.bind(wasm);
wasm.instantiate = async (...args: unknown[]): Promise<unknown> => {
  const r = await instantiate(...args);
  const inst = (typeof r === "object" && r !== null && "instance" in r ? (r as { instance: unknown }).instance : r) as {
    exports?: Record<string, unknown>;
  };
  for (const v of Object.values(inst.exports ?? {})) {
    if (typeof v === "object" && v !== null && "buffer" in v && "grow" in v) memory = v as WasmMemoryLike;
  }
  return r;
};

function heap(): Uint8Array {
  if (memory === null) throw new Error("wasm memory not captured");
  // A fresh view each time: growing the memory detaches the old buffer.
  return new Uint8Array(memory.buffer);
}

// ---- output: buffered per stream, flushed at a newline, before each bridge call and at the end ----
const pending: Record<"stdout" | "stderr", number[]> = { stdout: [], stderr: [] };
function flush(stream: "stdout" | "stderr"): void {
  const bytes = pending[stream];
  if (bytes.length === 0) return;
  const msg: WorkerMessage = { kind: "output", stream, text: decoder.decode(new Uint8Array(bytes)) };
  pending[stream] = [];
  port.postMessage(msg);
}
function flushAll(): void {
  flush("stdout");
  flush("stderr");
}
/** REPL: what stdout received while one character was processed (to see the continuation prompt). */
let capture: number[] | null = null;
function writer(stream: "stdout" | "stderr"): (b: Uint8Array) => void {
  return (b) => {
    for (const c of b) {
      if (capture !== null && stream === "stdout") capture.push(c);
      pending[stream].push(c);
      if (c === 0x0a || pending[stream].length >= 4096) flush(stream);
    }
  };
}

// ---- the bridge ----
/** How long a call watches for its answer before it sleeps (WALNUT_BRIDGE_SPIN_US, µs; 0 never spins). */
const SPIN_MS = watchMsFromEnv("WALNUT_BRIDGE_SPIN_US", 0);

let seq = 0;
let lastStatus: number = Status.OK;
let lastString = "";
/** The last answer's second int (a port): a call's, or the source port of a datagram taken from an inbox. */
let lastValue2 = 0;
/** The frame of the call that returned last (take() and value2() read its answer). */
let lastFrame = 0;
/** Calls under way: the next call uses frame `depth`. */
let depth = 0;
/** What run() in _walnutboot reported: the exit status and an uncaught exception's traceback. */
let outcome: { exitCode: number; traceback: string | null } | null = null;
const frames = Array.from({ length: FRAMES }, (_, f) => frameLayout(f));
const views = sharedViews(input.shared);
const doorbells: WorkerMessage[] = Array.from({ length: FRAMES }, (_, frame) => ({ kind: "call", frame }));

function refuse(status: number, message: string): number {
  lastStatus = status;
  lastString = message;
  return 0;
}

/**
 * One blocking call. Its arguments are checked here against OP_ARGS (a value the bridge cannot carry, a
 * Python object, becomes a TypeError in Python, never a message that fails to post); `ptr`/`n` > 0 copies
 * n bytes at ptr (wasm memory) into the frame's data area for the main thread. The answer's data stays
 * there until `take` copies it out. While it waits, due machine.Timer callbacks run (their own calls use
 * the next frame). → VALUE (status in lastStatus).
 */
function call(op: unknown, sid: unknown, a?: unknown, b?: unknown, c?: unknown, ptr?: unknown, n?: unknown): number {
  flushAll();
  if (Atomics.load(i32, Slot.INTERRUPT) !== 0) return interrupted(-1);
  if (typeof op !== "number" || !Object.prototype.hasOwnProperty.call(OP_ARGS, op)) return refuse(Status.VALUE_ERROR, `unknown bridge operation ${String(op)}`);
  const code = op as OpCode;
  if (typeof sid !== "number" || !Number.isInteger(sid)) return refuse(Status.TYPE_ERROR, "socket id must be an int");
  const kinds: readonly ArgKind[] = OP_ARGS[code];
  const raw = [a, b, c];
  const args: Arg[] = [];
  for (let i = 0; i < raw.length; i++) {
    const problem = argProblem(kinds[i], raw[i]);
    if (problem !== null) return refuse(Status.TYPE_ERROR, `argument ${i + 1} ${problem}`);
    const v = raw[i];
    args.push(v === undefined || v === null ? null : typeof v === "boolean" ? (v ? 1 : 0) : (v as number | string));
  }
  const len = typeof n === "number" && Number.isInteger(n) && n > 0 ? n : 0;
  if (len > DATA_MAX) return refuse(Status.VALUE_ERROR, `at most ${DATA_MAX} bytes per call`);
  const frame = depth;
  const f = frames[frame];
  if (f === undefined) return refuse(Status.RUNTIME_ERROR, "bridge calls nested too deep");
  // A read call on a socket with an inbox is made with the inbox held (inbox.ts); bytes that came into it
  // meanwhile are the caller's to take first.
  // (A read of 0 bytes, recvfrom's address of a TCP peer, takes nothing: it needs no hold.)
  let held = READ_OPS.has(code) && args[0] !== 0 ? inbox.find(sid) : -1;
  if (held >= 0) {
    const h = inbox.hold(held);
    if (h === "retry") return refuse(Status.RETRY, "");
    if (h === "nested") held = -1;
  }
  try {
    return callFrame(code, sid, args, len, ptr, frame, f);
  } finally {
    // Not opened again by the main thread (the call was not served): open it, and ask for what it missed.
    if (held >= 0 && inbox.release(held)) postRefill(sid);
  }
}

/** The call itself, in frame `frame` (layout `f`): the request out, the wait, the answer in. */
function callFrame(code: OpCode, sid: number, args: Arg[], len: number, ptr: unknown, frame: number, f: FrameLayout): number {
  if (len > 0) {
    if (typeof ptr !== "number" || !Number.isInteger(ptr) || ptr < 0) return refuse(Status.TYPE_ERROR, "object with buffer protocol required");
    const h = heap();
    if (ptr + len > h.length) return refuse(Status.VALUE_ERROR, "buffer outside the interpreter's memory");
    shared.set(h.subarray(ptr, ptr + len), f.dataOffset);
  }
  const stateSlot = f.slot0 + FrameSlot.STATE;
  Atomics.store(i32, f.slot0 + FrameSlot.DATA_LENGTH, len);
  seq += 1;
  const mySeq = seq;
  if (!writeRequest(views, { frame, seq: mySeq, op: code, sid, args })) return refuse(Status.VALUE_ERROR, "string arguments too long");
  Atomics.store(i32, stateSlot, State.WAITING);
  depth += 1;
  try {
    // The doorbell only when the main thread is not watching the frames already (it then claims the
    // request itself; a message it receives for a request it has claimed is ignored).
    if (Atomics.load(i32, Slot.MAIN_SPINNING) === 0) port.postMessage(doorbells[frame]);
    // Most answers come within tens of µs: watching the slot that long is cheaper than a futex sleep, whose
    // wake-up on an idle vCPU costs ~70 µs (docs/measurements.md "The bridge"). Then sleep as before.
    const spinEnd = SPIN_MS > 0 ? performance.now() + SPIN_MS : 0;
    for (;;) {
      const state = Atomics.load(i32, stateSlot);
      if (state === State.DONE && Atomics.load(i32, f.slot0 + FrameSlot.SEQ) === mySeq) break;
      if (Atomics.load(i32, Slot.INTERRUPT) !== 0) return interrupted(frame);
      if (spinEnd > 0 && performance.now() < spinEnd) continue;
      Atomics.wait(i32, stateSlot, state, timerWaitMs(1000));
      runDueTimers();
    }
  } finally {
    depth -= 1;
  }
  lastFrame = frame;
  lastStatus = Atomics.load(i32, f.slot0 + FrameSlot.STATUS);
  const sl = Atomics.load(i32, f.slot0 + FrameSlot.STRING_LENGTH);
  lastString = sl > 0 ? decoder.decode(shared.slice(f.stringOffset, f.stringOffset + sl)) : "";
  const value = Atomics.load(i32, f.slot0 + FrameSlot.VALUE);
  lastValue2 = Atomics.load(i32, f.slot0 + FrameSlot.VALUE2);
  if (code === Op.RECVFROM) noteSource(sid, lastStatus === Status.OK ? Atomics.load(i32, f.slot0 + FrameSlot.SOURCE_IP) >>> 0 : 0, lastValue2);
  Atomics.store(i32, stateSlot, State.IDLE);
  return value;
}

// ---- inboxes: reads that need no call (inbox.ts) ----
const inbox = new InboxReader(input.shared, INBOX_OFFSET);
// The worker imports nothing outside this folder (it is transpiled alone for tests): the errnos an inbox
// read raises, as core/errors.ts has them.
const EAGAIN = 11;
const ETIMEDOUT = 110;
/** Per UDP socket, the source of the datagram recvfrom took last (by a call or from the inbox): a posted reply goes there. */
const replyTo = new Map<number, [ip: number, port: number]>();

/** Records where `sid`'s last datagram came from (ip 0: nowhere a reply can go). */
function noteSource(sid: number, ip: number, port: number): void {
  if (ip === 0) {
    replyTo.delete(sid);
    return;
  }
  // The socket's pair is reused: a server answering datagrams allocates nothing per reply here.
  const to = replyTo.get(sid);
  if (to === undefined) replyTo.set(sid, [ip, port]);
  else {
    to[0] = ip;
    to[1] = port;
  }
}
/** The text of the last source address taken (a server replying to one client formats it once). */
let fromIp = -1;
let fromText = "";

/**
 * recv/recvfrom from the socket's inbox: waits (`timeoutMs`; < 0 for ever; 0, non-blocking or MSG_DONTWAIT,
 * not at all) until it holds something → 1 + the bytes the read takes (at most `max`; a
 * datagram's, truncated), 0 when the read must be a call instead (no inbox, max 0, end of stream or a
 * failure to report), or < 0 with the status set: -errno (EAGAIN, ETIMEDOUT) or -1 (interrupted).
 */
function rxWait(sid: unknown, max: unknown, timeoutMs: unknown): number {
  if (typeof sid !== "number" || typeof max !== "number" || max <= 0) return 0;
  const i = inbox.find(sid);
  if (i < 0) return 0;
  const waitMs = typeof timeoutMs === "number" && timeoutMs >= 0 ? timeoutMs : -1;
  const endMs = waitMs > 0 ? performance.now() + waitMs : 0;
  let flushed = false;
  for (;;) {
    const seen = inbox.signalValue(i);
    if (inbox.sidOf(i) !== sid) return 0;
    if (inbox.isDatagram(i)) {
      const d = inbox.nextDatagram(i);
      if (d !== null) return 1 + Math.min(max, d.length);
    } else {
      const n = inbox.unreadBytes(i);
      if (n > 0) return 1 + Math.min(max, n);
      const fl = inbox.flags(i);
      // Nothing more will come: b'' when that is what the stack would answer, else the call.
      if ((fl & InboxFlag.ASK) !== 0) return (fl & InboxFlag.END) !== 0 ? 1 : 0;
    }
    if (Atomics.load(i32, Slot.INTERRUPT) !== 0) {
      interrupted(-1);
      return -1;
    }
    let left = 1000;
    if (waitMs === 0) return rxError(EAGAIN);
    if (waitMs > 0) {
      left = endMs - performance.now();
      if (left <= 0) return rxError(ETIMEDOUT);
    }
    if (!flushed) {
      flushAll();
      flushed = true;
    }
    inbox.wait(i, seen, timerWaitMs(Math.min(left, 1000)));
    runDueTimers();
  }
}

function rxError(errno: number): number {
  lastStatus = Status.OSERROR;
  return -errno;
}

/**
 * Copies the `n` bytes rx_wait promised to wasm memory at `ptr` and, unless `peek`, takes them (a datagram
 * whole); a datagram's source is then string() and value2(). → n.
 */
function rxTake(sid: unknown, ptr: unknown, n: unknown, peek: unknown): number {
  if (typeof sid !== "number" || typeof ptr !== "number" || typeof n !== "number") return 0;
  const i = inbox.find(sid);
  if (i < 0) return 0;
  const isPeek = peek === true || peek === 1 || (typeof peek === "number" && peek !== 0);
  const h = heap();
  let wantsRoom: boolean;
  const d = inbox.isDatagram(i) ? inbox.nextDatagram(i) : null;
  if (d !== null) {
    wantsRoom = inbox.takeDatagram(i, d, h, ptr, n, isPeek);
    if (d.ip !== fromIp) {
      fromIp = d.ip;
      fromText = `${d.ip >>> 24}.${(d.ip >>> 16) & 255}.${(d.ip >>> 8) & 255}.${d.ip & 255}`;
    }
    lastString = fromText;
    lastValue2 = d.port;
    lastStatus = Status.OK;
    if (!isPeek) noteSource(sid, d.ip, d.port);
  } else {
    wantsRoom = inbox.takeStream(i, h, ptr, n, isPeek);
  }
  if (wantsRoom) postRefill(sid);
  return n;
}

/** Bytes (TCP) or datagrams (UDP, at most 1 counted) the socket's inbox holds now; 0 without one. */
function rxCount(sid: unknown): number {
  if (typeof sid !== "number") return 0;
  const i = inbox.find(sid);
  if (i < 0) return 0;
  if (inbox.isDatagram(i)) return inbox.nextDatagram(i) === null ? 0 : 1;
  return inbox.unreadBytes(i);
}

/** TCP: the bytes of the inbox through the first `byte` (within `max`), or -1 when it holds none. */
function rxFind(sid: unknown, byte: unknown, max: unknown): number {
  if (typeof sid !== "number" || typeof byte !== "number" || typeof max !== "number") return -1;
  const i = inbox.find(sid);
  return i < 0 || inbox.isDatagram(i) ? -1 : inbox.spanThrough(i, byte, max);
}

const NO_BYTES = new Uint8Array(0);
/** The worker made room in a socket's inbox that the main thread had filled up: it moves the rest now. */
function postRefill(sid: number): void {
  const r = posts.append(Op.REFILL, sid, NO_BYTES);
  if (r === "empty" && Atomics.load(i32, Slot.MAIN_SPINNING) === 0) port.postMessage(postBell);
}

const posts = new PostWriter(input.shared, POST_LAYOUT);
const postBell: WorkerMessage = { kind: "post" };
const NO_DATA = new Uint8Array(0);

/**
 * A call that needs no answer, appended to the post ring instead of waited for (posts.ts): a close, or a
 * TCP send, write or sendall of `n` bytes at `ptr` that fits the socket's send ring now (the room the main
 * thread published, less the sends posted since that it does not count) — its answer would be n, so it is n. → n, or -1 when it
 * cannot be posted (the Python wrapper then makes the call).
 */
function post(op: unknown, sid: unknown, ptr: unknown, n: unknown): number {
  if (typeof sid !== "number" || !Number.isInteger(sid) || typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > DATA_MAX) return -1;
  if (op === Op.CLOSE) {
    if (n !== 0) return -1;
    replyTo.delete(sid);
  } else if (op === Op.SEND || op === Op.WRITE || op === Op.SENDALL) {
    if (n === 0 || posts.room(sid) < n) return -1;
  } else if (op === Op.SENDTO) {
    // A UDP reply to the address the socket's last datagram came from (posted with it).
    if (posts.room(sid) !== -1 || !replyTo.has(sid)) return -1;
  } else return -1;
  const to = op === Op.SENDTO ? replyTo.get(sid) : undefined;
  let data: Uint8Array = NO_DATA;
  if (n > 0) {
    if (typeof ptr !== "number" || !Number.isInteger(ptr) || ptr < 0) return -1;
    const h = heap();
    if (ptr + n > h.length) return -1;
    data = h.subarray(ptr, ptr + n);
  }
  // Output first, as before a call: what the script printed before it sent comes out before.
  flushAll();
  const r = posts.append(op, sid, data, to?.[0] ?? 0, to?.[1] ?? 0, op === Op.SEND || op === Op.WRITE || op === Op.SENDALL);
  if (r === "full") return -1;
  if (r === "empty" && Atomics.load(i32, Slot.MAIN_SPINNING) === 0) port.postMessage(postBell);
  return n;
}

/** An interrupt ends the call: its frame (if it had one) goes back to idle; Python raises KeyboardInterrupt. */
function interrupted(frame: number): number {
  Atomics.store(i32, Slot.INTERRUPT, 0);
  const f = frames[frame];
  if (f !== undefined) Atomics.store(i32, f.slot0 + FrameSlot.STATE, State.IDLE);
  return refuse(Status.INTERRUPTED, "");
}

/** Copies the last answer's data (at most `max` bytes) to wasm memory at `ptr` → bytes copied. */
function take(ptr: unknown, max: unknown): number {
  if (typeof ptr !== "number" || typeof max !== "number") return 0;
  const f = frames[lastFrame] as FrameLayout;
  const n = Math.min(Atomics.load(i32, f.slot0 + FrameSlot.DATA_LENGTH), max);
  if (n > 0) heap().set(shared.subarray(f.dataOffset, f.dataOffset + n), ptr);
  return n;
}

/** time.sleep without a busy loop (due timers fire meanwhile); an interrupt ends it early → 1 if interrupted. */
function sleepMs(ms: unknown): number {
  flushAll();
  const endMs = performance.now() + (typeof ms === "number" && Number.isFinite(ms) && ms > 0 ? ms : 0);
  for (;;) {
    runDueTimers();
    const left = endMs - performance.now();
    if (left <= 0 || Atomics.load(i32, Slot.INTERRUPT) !== 0) break;
    Atomics.wait(i32, Slot.INTERRUPT, 0, timerWaitMs(left));
  }
  if (Atomics.load(i32, Slot.INTERRUPT) !== 0) {
    Atomics.store(i32, Slot.INTERRUPT, 0);
    return 1;
  }
  return 0;
}

// ---- machine.Timer: soft timers, run at blocking calls and sleeps (and while the REPL waits), as a
// board's soft timers run from its scheduler; never inside another callback ----
interface SoftTimer {
  dueMs: number;
  /** 0 for a one-shot timer. */
  periodMs: number;
  callback: () => void;
}
const timers = new Map<number, SoftTimer>();
let inCallback = false;

/** How long a wait may last before the next timer is due (at most `maxMs`). */
function timerWaitMs(maxMs: number): number {
  if (inCallback || timers.size === 0) return maxMs;
  let next = Infinity;
  for (const t of timers.values()) next = Math.min(next, t.dueMs);
  return Math.max(0, Math.min(maxMs, next - performance.now()));
}

function runDueTimers(): void {
  if (inCallback || timers.size === 0) return;
  const now = performance.now();
  inCallback = true;
  try {
    for (const [id, t] of [...timers]) {
      if (t.dueMs > now || timers.get(id) !== t) continue;
      if (t.periodMs > 0) t.dueMs = Math.max(t.dueMs + t.periodMs, now);
      else timers.delete(id);
      try {
        t.callback();
      } catch (e) {
        // As a board prints an exception raised in a scheduled callback, and goes on.
        const err = e as { name?: string; message?: string };
        writer("stderr")(new TextEncoder().encode(err.name === "PythonError" ? (err.message ?? "") : `${String(e)}\n`));
        flushAll();
      }
    }
  } finally {
    inCallback = false;
  }
  scheduleIdleTimers();
}

/** While the interpreter is idle (the REPL waiting for input), due timers still fire. */
let idleTimer: NodeJS.Timeout | null = null;
function scheduleIdleTimers(): void {
  if (idleTimer !== null) clearTimeout(idleTimer);
  idleTimer = null;
  if (timers.size === 0 || !isIdle) return;
  idleTimer = setTimeout(() => {
    idleTimer = null;
    runDueTimers();
  }, timerWaitMs(60_000));
}
/** True while no Python code runs (set by the REPL between inputs). */
let isIdle = false;

function timerSet(id: unknown, firstMs: unknown, periodMs: unknown, callback: unknown): void {
  if (typeof id !== "number" || typeof firstMs !== "number" || typeof periodMs !== "number" || typeof callback !== "function") return;
  timers.set(id, { dueMs: performance.now() + Math.max(0, firstMs), periodMs: Math.max(0, periodMs), callback: callback as () => void });
  scheduleIdleTimers();
}

function timerCancel(id: unknown): void {
  if (typeof id === "number") timers.delete(id);
}

const bridge: Record<string, unknown> = {
  call,
  post,
  take,
  sleep_ms: sleepMs,
  status: (): number => lastStatus,
  string: (): string => lastString,
  value2: (): number => lastValue2,
  rx_wait: rxWait,
  rx_take: rxTake,
  rx_count: rxCount,
  rx_find: rxFind,
  timer_set: timerSet,
  timer_cancel: timerCancel,
  done: (exitCode: unknown, traceback: unknown): void => {
    outcome = { exitCode: typeof exitCode === "number" ? exitCode : 1, traceback: typeof traceback === "string" ? traceback : null };
  },
};

// ---- the console: fd 0 of the interpreter reads walnut's standard input a line at a time ----
let stdinBytes: Uint8Array = new Uint8Array(0);
let stdinAt = 0;
let stdinEnded = false;
/** Set once the interpreter exists: schedules KeyboardInterrupt for the next bytecode. */
let keyboardInterrupt: (() => void) | null = null;

/** Emscripten's stdin device: the next byte, null at end of input; blocks (on the bridge) for a new line. */
function stdinByte(): number | null {
  if (stdinAt >= stdinBytes.length) {
    if (stdinEnded) return null;
    const n = call(Op.STDIN_LINE, 0);
    if (lastStatus === Status.INTERRUPTED) {
      keyboardInterrupt?.();
      return null;
    }
    if (lastStatus !== Status.OK || n === 0) {
      stdinEnded = lastStatus === Status.OK;
      return null;
    }
    stdinBytes = new TextEncoder().encode(lastString);
    stdinAt = 0;
  }
  return stdinBytes[stdinAt++] ?? null;
}

async function main(): Promise<void> {
  watchMemoryLimit();
  const mod = (await import(input.micropythonUrl)) as MicroPythonModule;
  const mp = await mod.loadMicroPython({
    heapsize: input.heapBytes,
    stdin: stdinByte,
    stdout: writer("stdout"),
    stderr: writer("stderr"),
    linebuffer: false,
  });
  keyboardInterrupt = () => mp._module._mp_sched_keyboard_interrupt();
  keepMemoryReserve(mp);
  mp.registerJsModule("_walnut", bridge);
  for (const [path, text] of Object.entries(input.files)) {
    const dir = path.slice(0, path.lastIndexOf("/"));
    if (dir.length > 0) mp.FS.mkdirTree(dir);
    mp.FS.writeFile(path, text);
  }
  let done: WorkerMessage;
  try {
    for (const m of input.mounts) mountHostFolder(mp.FS as unknown as EmscriptenFs, m.boardPath, m.hostPath, m.writable);
    mp.runPython(`import _walnutboot, sys\nsys.argv[:] = ${JSON.stringify([input.script?.path ?? "main.py", ...input.argv])}\n`);
    if (input.repl === true) {
      startRepl(mp);
      return;
    }
    const script = input.script;
    if (script !== null) {
      mp.FS.mkdirTree(SCRIPT_PATH.slice(0, SCRIPT_PATH.lastIndexOf("/")));
      mp.FS.writeFile(SCRIPT_PATH, script.source);
    }
    const target = script === null ? "None, None" : `${JSON.stringify(SCRIPT_PATH)}, ${JSON.stringify(script.path)}`;
    mp.runPython(`_walnutboot.run(${target})\n`);
    const o = outcome ?? { exitCode: 1, traceback: "walnut: the board's runner ended without a status\n" };
    done = { kind: "done", ok: o.traceback === null, traceback: withHeapHint(o.traceback), exitCode: o.exitCode };
  } catch (e) {
    const err = e as { name?: string; message?: string };
    const text = err.name === "PythonError" ? (err.message ?? String(e)) : `walnut: MicroPython failed: ${e instanceof Error ? e.message : String(e)}\n`;
    done = { kind: "done", ok: false, traceback: text, exitCode: 1 };
  }
  flushAll();
  port.postMessage(done);
}

/** C memory set aside at start and given back when the memory cannot grow any more (keepMemoryReserve). */
const MEMORY_RESERVE_BYTES = 32 * 1024 * 1024;

/**
 * At the memory limit the interpreter raises MemoryError in the script, but its own C code then needs
 * memory too (passing values to JavaScript, the exception's way out of the script), and an allocation
 * failing there has no handler to go to: the interpreter would spin forever. So some C memory is set
 * aside at start and freed the moment the build reports that the memory cannot grow (its one message,
 * on console.error), which lets the script end with its MemoryError and the board exit 1.
 */
function keepMemoryReserve(mp: MicroPython): void {
  const reserve = mp._module._malloc(MEMORY_RESERVE_BYTES);
  if (reserve !== 0) freeMemoryReserve = () => mp._module._free(reserve);
}

let freeMemoryReserve: (() => void) | null = null;
/** The build reported that its memory cannot grow: a MemoryError from now on is the limit's. */
let isMemoryAtLimit = false;
const memoryLimit: WorkerMessage = { kind: "memory-limit" };

/** Before the build is loaded (it binds console.error then): its "cannot grow" message frees the reserve. */
function watchMemoryLimit(): void {
  const consoleError = console.error.bind(console);
  console.error = (...args: unknown[]): void => {
    if (typeof args[0] === "string" && args[0].startsWith("Cannot enlarge memory")) {
      isMemoryAtLimit = true;
      const free = freeMemoryReserve;
      freeMemoryReserve = null;
      if (free !== null) {
        free();
        port.postMessage(memoryLimit);
      }
      return;
    }
    consoleError(...args);
  };
}

/** A MemoryError traceback gets the reason when the memory is at the limit (a real board would have collected). */
function withHeapHint(traceback: string | null): string | null {
  return traceback !== null && isMemoryAtLimit && traceback.includes("MemoryError") ? traceback + HEAP_LIMIT_HINT : traceback;
}

// ---- REPL (walnut repl) ----

const PYEXEC_FORCED_EXIT = 0x100;
const BACKSPACE = 8;
const ENTER = 13;
const CTRL_C = 3;
const CTRL_D = 4;

/**
 * The build's event-driven REPL (replInit / replProcessChar, the friendly REPL of a board's UART): the main
 * thread posts ReplInput messages, each processed synchronously, so a statement runs (and blocks on bridge
 * calls) inside replProcessChar while later input queues. BUSY tells the main thread whether Ctrl-C should
 * interrupt a running statement or go to the line editor. Piped lines are typed in as they are, except for
 * the REPL's auto-indent after a line ending in ':': the indentation it inserted (seen after the `... `
 * prompt) is taken off the line, or erased with backspaces when the line is indented less (a dedent).
 */
function startRepl(mp: MicroPython): void {
  mp.runPython("import builtins, sys\nbuiltins.exit = builtins.quit = sys.exit\n");
  mp.replInit();
  flushAll();
  let ended = false;
  let indent = 0;
  const end = (): void => {
    if (ended) return;
    ended = true;
    flushAll();
    const done: WorkerMessage = { kind: "done", ok: true, traceback: null, exitCode: 0 };
    port.postMessage(done);
  };
  /** One byte to the REPL → whether it ended. */
  const feed = (c: number): boolean => {
    Atomics.store(i32, Slot.INTERRUPT, 0);
    Atomics.store(i32, Slot.BUSY, 1);
    isIdle = false;
    let r: number;
    try {
      r = mp.replProcessChar(c);
    } finally {
      Atomics.store(i32, Slot.BUSY, 0);
      isIdle = true;
      scheduleIdleTimers();
    }
    flushAll();
    return (r & PYEXEC_FORCED_EXIT) !== 0;
  };
  const feedAll = (bytes: Uint8Array): boolean => {
    for (const c of bytes) if (feed(c)) return true;
    return false;
  };
  const eraseIndent = (): boolean => {
    for (let cur = indent; cur > 0; cur -= cur >= 4 ? 4 : 1) if (feed(BACKSPACE)) return true;
    indent = 0;
    return false;
  };
  const line = (raw: string): boolean => {
    let text = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    const lead = /^ */.exec(text)?.[0].length ?? 0;
    if (lead >= indent) text = text.slice(indent);
    else if (eraseIndent()) return true;
    if (feedAll(new TextEncoder().encode(text))) return true;
    capture = [];
    let stop: boolean;
    try {
      stop = feed(ENTER);
    } finally {
      const out = decoder.decode(new Uint8Array(capture));
      capture = null;
      indent = /\.\.\. ( *)$/.exec(out)?.[1]?.length ?? 0;
    }
    return stop;
  };
  port.on("message", (m: ReplInput) => {
    if (ended) return;
    let stop = false;
    try {
      if (m.kind === "chars") stop = feedAll(new TextEncoder().encode(m.text));
      else if (m.kind === "line") stop = line(m.text);
      else {
        // End of piped input: finish a statement still being entered, then leave as Ctrl-D does.
        stop = eraseIndent() || [CTRL_D, CTRL_D, CTRL_C, CTRL_D].some((c) => feed(c)) || true;
      }
    } catch (e) {
      ended = true;
      flushAll();
      const done: WorkerMessage = { kind: "done", ok: false, traceback: `walnut: MicroPython failed: ${e instanceof Error ? e.message : String(e)}\n`, exitCode: 1 };
      port.postMessage(done);
      return;
    }
    if (stop) end();
    else if (m.kind === "line") {
      // Piped input is one stream for the prompt and for statements that read the console: the main side
      // sends the next line only once this one is done (and a statement may have taken lines meanwhile).
      const ready: WorkerMessage = { kind: "ready" };
      port.postMessage(ready);
    }
  });
}

void main();
