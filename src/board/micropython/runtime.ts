// Runs a MicroPython script on a board (docs/architecture.md "The board's worker bridge"): the interpreter lives in a worker thread
// (worker.ts); this side owns the stack and serves the worker's blocking bridge calls with the TypeScript
// usocket API, writing each answer into the shared buffer and waking the worker (protocol.ts). Blocking,
// timeouts and errnos are usocket's. When the script ends its sockets are closed; if the worker dies or is
// terminated, the board's sockets are freed here (usocket shutdown). The REPL can be soft-reset: a fresh
// interpreter on the same board.

import { Worker } from "node:worker_threads";
import { createRequire } from "node:module";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { formatIpv4, formatMac, parseIpv4, tryParseIpv4 } from "../../core/addr.js";
import { Errno } from "../../core/errors.js";
import type { Stack } from "../../stack/stack.js";
import { OSError, POLLIN, ValueError, usocketFor, type Socket, type Usocket } from "../../usocket/index.js";
import { Poll, type Pollable } from "../../usocket/poll.js";
import { SOCK_DGRAM, SOCK_STREAM, SOL_SOCKET, SO_LINGER } from "../../usocket/constants.js";
import { boardLibFiles } from "./libfiles.js";
import { walnutConstSource, WlanStatus } from "./pyconst.js";
import { LineConsole, type ConsoleInput } from "./console.js";
import { PostReader } from "./posts.js";
import { InboxKind, InboxWriter } from "./inbox.js";
import {
  DATA_MAX,
  FLASH_DIR,
  FRAMES,
  frameLayout,
  FrameSlot,
  HEAP_LIMIT_HINT,
  INBOX_OFFSET,
  Op,
  POST_LAYOUT,
  READ_OPS,
  SHARED_BYTES,
  Slot,
  State,
  Status,
  STRING_MAX,
  type OpArgs,
  type OpCode,
  type ReplInput,
  readRequest,
  watchMsFromEnv,
  sharedViews,
  type Request,
  type SharedViews,
  type WorkerInput,
  type WorkerMessage,
} from "./protocol.js";

/**
 * How long the main thread watches for a script's next call after answering one (WALNUT_BRIDGE_MAIN_SPIN_US,
 * µs without a call; 0 turns it off), and how long one watch may hold the event loop in all.
 */
const MAIN_SPIN_MS = watchMsFromEnv("WALNUT_BRIDGE_MAIN_SPIN_US", 0);
const MAIN_SPIN_MAX_MS = 2;

export { LineConsole, type ConsoleInput } from "./console.js";

/** What the runtime needs of a board: its stack. network.WLAN waits for the netif's address, whoever sets it. */
export interface BoardNetwork {
  readonly stack: Stack;
}

export interface ScriptOptions {
  /** Receives the script's output as it is produced (default: process.stdout / process.stderr). */
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  /** The console the script reads (sys.stdin, input()); without one, reads meet end of input. */
  console?: ConsoleInput;
  /** The script's file on the host: tracebacks and sys.argv[0] name it, its folder is first on sys.path. */
  scriptPath?: string;
  /** sys.argv[1:]. */
  argv?: readonly string[];
  /** A host folder mounted read-write as the board's flash (`/`, with `/lib` on sys.path). */
  fsDir?: string;
  /** MicroPython heap (default 2 MiB). */
  heapBytes?: number;
  /** Report machine.Pin value changes to `pinChanged` (--trace-pins). */
  tracePins?: boolean;
  /** A virtual pin changed (default: a line on stderr). */
  pinChanged?: (name: string, value: number) => void;
  /** Soft resets before this run (machine.reset_cause() says SOFT_RESET after one). */
  softResets?: number;
  /** How long network.WLAN().connect() waits for an address (default 30 s). */
  connectTimeoutMs?: number;
  /** The one access point WLAN.connect() accepts (`--wifi SSID:KEY`); null or absent: every SSID and key join. */
  wifi?: WifiNetwork | null;
}

/** An access point the virtual board can join. */
export interface WifiNetwork {
  ssid: string;
  key: string;
}

export interface ScriptResult {
  /** The script ended without an uncaught exception (normally, or by SystemExit). */
  ok: boolean;
  /** The traceback of the uncaught exception, null when ok. */
  traceback: string | null;
  /** The exit status: 0, sys.exit's code, or 1 after an uncaught exception. */
  exitCode: number;
  /** The script called machine.reset(): it is to start again, on the same board. */
  reset?: boolean;
}

/** A running script. */
export interface ScriptRun {
  readonly done: Promise<ScriptResult>;
  /** Ctrl-C: a blocked call or sleep raises KeyboardInterrupt (a pure-Python busy loop needs terminate). */
  interrupt(): void;
  /** Stops the worker at once (no Python cleanup); the board's sockets are freed here. */
  terminate(): Promise<void>;
}

const encoder = new TextEncoder();
/** struct.pack('ii', 1, 0): SO_LINGER on with 0 s, the abortive close of a socket whose inbox holds unread bytes. */
const LINGER_ABORT = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]);

const NO_CONSOLE = new LineConsole();
NO_CONSOLE.end();

/** A --trace-pins log line on stderr, with the time since the first change (`eol`: "\r\n" on a raw terminal). */
export function pinLogger(eol = "\n"): (name: string, value: number) => void {
  let startMs: number | null = null;
  return (name, value) => {
    const now = Date.now();
    startMs ??= now;
    process.stderr.write(`walnut: pin ${name} = ${value} at ${((now - startMs) / 1000).toFixed(3)} s${eol}`);
  };
}

/** The files, mounts and path of one interpreter: the board's modules, its constants, the script's folder, the flash. */
function workerInput(shared: SharedArrayBuffer, options: ScriptOptions, script: WorkerInput["script"], repl: boolean): WorkerInput {
  const mounts: WorkerInput["mounts"] = [];
  const pathFirst: string[] = [];
  if (options.scriptPath !== undefined) {
    // The script's folder, read-only at its own host path, so tracebacks of modules beside it name real files.
    const folder = dirname(resolve(options.scriptPath));
    mounts.push({ boardPath: folder, hostPath: folder, writable: false });
    pathFirst.push(folder);
  }
  if (options.fsDir !== undefined) {
    const dir = resolve(options.fsDir);
    if (!statSync(dir).isDirectory()) throw new Error(`--fs ${options.fsDir} is not a folder`);
    mounts.push({ boardPath: FLASH_DIR, hostPath: dir, writable: true });
  }
  const files: Record<string, string> = { ...boardLibFiles() };
  files["/lib/_walnutconst.py"] = walnutConstSource({
    hasFlash: options.fsDir !== undefined,
    pathFirst,
    tracePins: options.tracePins === true,
    softResets: options.softResets ?? 0,
  });
  return {
    shared,
    micropythonUrl: micropythonUrl(),
    files,
    script,
    argv: [...(options.argv ?? [])],
    mounts,
    pathFirst,
    flash: options.fsDir !== undefined,
    heapBytes: options.heapBytes ?? 2 * 1024 * 1024,
    repl,
  };
}

/**
 * Starts `source` on the board (named `options.scriptPath` when given). With `source` null and
 * `options.fsDir`, runs boot.py then main.py from the flash as a board does at power-on.
 */
export async function runScript(net: BoardNetwork, source: string | null, options: ScriptOptions = {}): Promise<ScriptRun> {
  const url = await workerUrl();
  const shared = new SharedArrayBuffer(SHARED_BYTES);
  // A script given as text is the board's main.py, as far as tracebacks and sys.argv[0] tell.
  const script = source === null ? null : { source, path: options.scriptPath ?? "main.py" };
  if (script === null && options.fsDir === undefined) throw new Error("runScript: no script and no --fs folder to boot from");
  const worker = new Worker(url, { workerData: workerInput(shared, options, script, false) });
  return new Bridge(net, worker, shared, options);
}

/** A running REPL: input goes in with these; output, tracebacks included, comes out through `stdout`. */
export interface ReplRun extends ScriptRun {
  /** Characters as a terminal in raw mode sends them (Enter is \r, Ctrl-D on an empty line leaves). */
  chars(text: string): void;
  /** One line of piped input, without its newline. */
  line(text: string): void;
  /** End of piped input: the statement being entered runs, then the REPL ends as with Ctrl-D. */
  eof(): void;
  /**
   * Ctrl-C: a running statement blocked in a call or sleep raises KeyboardInterrupt ("interrupted"); at the
   * prompt it clears the line being entered ("line").
   */
  ctrlC(): "interrupted" | "line";
  /**
   * A soft reset, as Ctrl-D or machine.soft_reset() on a board: the interpreter (and whatever it runs, a
   * pure-Python loop included) is replaced by a fresh one at a new prompt; the board — stack, address,
   * TAP, built-in services — stays up. The old interpreter's sockets are closed.
   */
  softReset(): Promise<void>;
  /** A statement is running (not waiting at the prompt). */
  isBusy(): boolean;
}

/** Starts MicroPython's interactive REPL on the board (its banner and `>>> ` prompt arrive through stdout). */
export async function startRepl(net: BoardNetwork, options: ScriptOptions = {}): Promise<ReplRun> {
  const session = new ReplSession(net, options);
  await session.start();
  return session;
}

/**
 * The REPL over one interpreter after another. While a statement reads the console (input(),
 * sys.stdin), typed input is a line for it — echoed, with backspace — instead of keys for the prompt.
 */
class ReplSession implements ReplRun {
  readonly done: Promise<ScriptResult>;
  private resolveDone: (r: ScriptResult) => void = () => undefined;
  private bridge: Bridge | null = null;
  private worker: Worker | null = null;
  private i32: Int32Array | null = null;
  /**
   * The console as one stream: piped lines wait here until the prompt takes the next one (the worker is
   * idle) or a running statement reads one (input(), sys.stdin).
   */
  private readonly console = new LineConsole();
  /** Piped lines not yet taken, and whether the worker is ready for the next one at its prompt. */
  private readonly piped: string[] = [];
  private isPromptReady = true;
  private pipedEnded = false;
  /** The line being typed for a statement that reads the console (terminal input). */
  private typed = "";
  private isResetting = false;
  private softResets = 0;
  private readonly out: (t: string) => void;
  /** What a running statement reads: piped lines that arrived while it ran first, then the console. */
  private readonly statementConsole: ConsoleInput = {
    readLine: () => {
      const line = this.piped.shift();
      if (line !== undefined) return Promise.resolve(line);
      if (this.pipedEnded) return Promise.resolve(null);
      return this.console.readLine();
    },
    isReady: () => this.piped.length > 0 || this.pipedEnded || this.console.isReady(),
    onReady: (f) => this.console.onReady(f),
  };

  constructor(
    private readonly net: BoardNetwork,
    private readonly options: ScriptOptions,
  ) {
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.out = options.stdout ?? ((t: string): void => void process.stdout.write(t));
  }

  async start(): Promise<void> {
    const url = await workerUrl();
    const shared = new SharedArrayBuffer(SHARED_BYTES);
    const worker = new Worker(url, { workerData: workerInput(shared, { ...this.options, softResets: this.softResets }, null, true) });
    const bridge = new Bridge(this.net, worker, shared, { ...this.options, console: this.statementConsole }, () => {
      this.isPromptReady = true;
      this.feedPrompt();
    });
    this.worker = worker;
    this.bridge = bridge;
    this.i32 = new Int32Array(shared);
    this.isPromptReady = true;
    void bridge.done.then((r) => {
      if (this.bridge !== bridge || this.isResetting) return;
      if (r.reset === true) void this.softReset();
      else this.resolveDone(r);
    });
  }

  private post(m: ReplInput): void {
    this.worker?.postMessage(m);
  }

  /** The next piped line to the prompt, or the end of input once every line was taken. */
  private feedPrompt(): void {
    if (!this.isPromptReady) return;
    const line = this.piped.shift();
    if (line !== undefined) {
      this.isPromptReady = false;
      this.post({ kind: "line", text: line });
    } else if (this.pipedEnded) {
      this.isPromptReady = false;
      this.post({ kind: "eof" });
    }
  }

  interrupt(): void {
    this.bridge?.interrupt();
  }

  terminate(): Promise<void> {
    return this.bridge?.terminate() ?? Promise.resolve();
  }

  chars(text: string): void {
    if (!this.console.isWaited) {
      this.post({ kind: "chars", text });
      return;
    }
    for (const ch of text) {
      if (ch === "\r" || ch === "\n") {
        this.out("\r\n");
        const line = this.typed;
        this.typed = "";
        this.console.push(line);
      } else if (ch === "\x7f" || ch === "\b") {
        if (this.typed.length > 0) {
          this.typed = this.typed.slice(0, -1);
          this.out("\b \b");
        }
      } else if (ch === "\x04" && this.typed.length === 0) {
        this.console.end();
      } else if (ch >= " ") {
        this.typed += ch;
        this.out(ch);
      }
    }
  }

  line(text: string): void {
    if (this.console.isWaited) this.console.push(text);
    else {
      this.piped.push(text);
      this.feedPrompt();
    }
  }

  eof(): void {
    this.pipedEnded = true;
    if (this.console.isWaited) this.console.end();
    this.feedPrompt();
  }

  isBusy(): boolean {
    return this.i32 !== null && Atomics.load(this.i32, Slot.BUSY) !== 0;
  }

  ctrlC(): "interrupted" | "line" {
    const i32 = this.i32;
    if (i32 !== null && Atomics.load(i32, Slot.BUSY) !== 0) {
      this.bridge?.interrupt();
      return "interrupted";
    }
    this.post({ kind: "chars", text: "\x03" });
    return "line";
  }

  async softReset(): Promise<void> {
    const old = this.bridge;
    if (old === null) return;
    this.isResetting = true;
    try {
      await old.terminate(true);
      this.softResets += 1;
      this.typed = "";
      this.out("\r\nMPY: soft reboot\r\n");
      await this.start();
      this.feedPrompt();
    } finally {
      this.isResetting = false;
    }
  }
}

/** What serving one call produced, before it is written into the shared buffer. */
interface Answer {
  value?: number;
  value2?: number;
  /** A datagram's source address (FrameSlot.SOURCE_IP). */
  sourceIp?: number;
  data?: Uint8Array;
  text?: string;
}

/** A call's typed arguments and data, as one handler of Bridge.handlers sees them. */
type Handler<O extends OpCode> = (sid: number, args: OpArgs<O>, data: Uint8Array) => Answer | Promise<Answer>;

/** The board's console as a pollable of fd 0: readable when a line (or the end of input) is waiting. */
class ConsolePollable implements Pollable {
  private readonly cancels = new Map<() => void, () => void>();
  constructor(private readonly input: ConsoleInput) {}
  readiness(): number {
    return this.input.isReady() ? POLLIN : 0;
  }
  addWaiter(fn: () => void): void {
    this.cancels.set(fn, this.input.onReady(fn));
  }
  removeWaiter(fn: () => void): void {
    this.cancels.get(fn)?.();
    this.cancels.delete(fn);
  }
}

/** The calls that raise a posted send's failure. */
const SENDS: ReadonlySet<number> = new Set([Op.SEND, Op.SENDALL, Op.SENDTO, Op.WRITE]);

/** fd 0 in a poll spec is the console (sockets number from 3). */
const CONSOLE_FD = 0;

/** How long a script at the memory limit has to end with its MemoryError before the worker is stopped. */
const MEMORY_LIMIT_GRACE_MS = 5_000;

class Bridge implements ScriptRun {
  readonly done: Promise<ScriptResult>;
  private readonly i32: Int32Array;
  private readonly bytes: Uint8Array;
  private readonly us: Usocket;
  private readonly sockets = new Map<number, Socket>();
  private readonly console: ConsoleInput;
  private readonly consolePollable: ConsolePollable;
  /** Per frame, the newest request (an older one's late answer is not written). */
  private readonly latestSeq: number[] = new Array<number>(FRAMES).fill(0);
  private finished = false;
  private readonly views: SharedViews;
  /** The main thread is watching the frames (watch()). */
  private watching = false;
  private endGracefully = false;
  private isResetRequested = false;
  /** Sends and closes the worker posted without waiting (posts.ts). */
  private readonly posts: PostReader;
  /** A posted send's error, raised by the socket's next call (as lwIP reports an error after a queued write). */
  private readonly pendingErrors = new Map<number, number>();
  private readonly runPost = (op: number, sid: number, data: Uint8Array, ip: number, port: number): void => this.servePost(op, sid, data, ip, port);
  /** What arrives on the sockets the script reads from, moved to it as it comes (inbox.ts). */
  private readonly inboxes: InboxWriter;

  constructor(
    private readonly net: BoardNetwork,
    private readonly worker: Worker,
    shared: SharedArrayBuffer,
    private readonly options: ScriptOptions,
    onReplReady: () => void = () => undefined,
  ) {
    this.i32 = new Int32Array(shared);
    this.bytes = new Uint8Array(shared);
    this.views = sharedViews(shared);
    this.posts = new PostReader(shared, POST_LAYOUT);
    this.inboxes = new InboxWriter(shared, INBOX_OFFSET);
    this.us = usocketFor(net.stack);
    this.console = options.console ?? NO_CONSOLE;
    this.consolePollable = new ConsolePollable(this.console);
    const out = options.stdout ?? ((t: string): void => void process.stdout.write(t));
    const err = options.stderr ?? ((t: string): void => void process.stderr.write(t));
    this.done = new Promise<ScriptResult>((resolve) => {
      const finish = (r: ScriptResult, graceful: boolean): void => {
        if (this.finished) return;
        this.finished = true;
        if (graceful || this.endGracefully) this.us.closeAll();
        else this.us.shutdown();
        void worker.terminate();
        resolve(this.isResetRequested ? { ok: true, traceback: null, exitCode: 0, reset: true } : r);
      };
      worker.on("message", (m: WorkerMessage) => {
        if (m.kind === "call") this.claim(m.frame);
        else if (m.kind === "post") this.drainPosts();
        else if (m.kind === "output") (m.stream === "stdout" ? out : err)(m.text);
        else if (m.kind === "ready") onReplReady();
        else if (m.kind === "memory-limit") {
          // The script is getting its MemoryError; should the interpreter not get out of it (its own C code
          // can fail too when nothing is left), the board ends as an uncaught MemoryError would end it.
          setTimeout(() => finish({ ok: false, traceback: `MemoryError: the interpreter stopped at its memory limit\n${HEAP_LIMIT_HINT}`, exitCode: 1 }, false), MEMORY_LIMIT_GRACE_MS).unref();
        } else {
          // Sends the script posted before it ended go out before its sockets are closed.
          this.drainPosts();
          finish({ ok: m.ok, traceback: m.traceback, exitCode: m.exitCode }, true);
        }
      });
      worker.on("error", (e) => finish({ ok: false, traceback: `walnut: MicroPython worker failed: ${e.message}\n`, exitCode: 1 }, false));
      worker.on("exit", (code) => finish({ ok: false, traceback: `walnut: MicroPython worker exited (code ${code})\n`, exitCode: 1 }, false));
    });
  }

  interrupt(): void {
    Atomics.store(this.i32, Slot.INTERRUPT, 1);
    for (let f = 0; f < FRAMES; f++) Atomics.notify(this.i32, frameLayout(f).slot0 + FrameSlot.STATE);
    Atomics.notify(this.i32, Slot.INTERRUPT);
    this.inboxes.wakeAll();
  }

  /** Stops the worker at once; its sockets are aborted, or closed (FIN) when `closeSockets`. */
  async terminate(closeSockets = false): Promise<void> {
    this.endGracefully = closeSockets;
    await this.worker.terminate();
    await this.done;
  }

  private sock(sid: number): Socket {
    const s = this.sockets.get(sid);
    if (s === undefined) throw new OSError(9);
    return s;
  }

  private add(s: Socket): number {
    const sid = s.fileno();
    this.sockets.set(sid, s);
    // The room table follows the socket's events (an ACK makes room, a reset takes it all), so a send the
    // worker posts meets the socket as it is now.
    s.addWaiter(() => {
      this.publishRoom(sid);
      this.fillInbox(sid);
    });
    this.publishRoom(sid);
    return sid;
  }

  /** Moves what has arrived on `sid` into its inbox, if it has one. */
  private fillInbox(sid: number): void {
    const s = this.sockets.get(sid);
    if (s !== undefined && !this.finished) this.inboxes.fill(sid, s);
  }

  /**
   * After a read call on `sid`: gives a TCP connection or a UDP socket an inbox (while one is free), so its
   * next reads need no call.
   */
  private attachInbox(sid: number): void {
    const s = this.sockets.get(sid);
    if (s === undefined || this.inboxes.find(sid) >= 0) return;
    const isStream = s.type === SOCK_STREAM;
    if (isStream ? s.isInputEnded() : s.type !== SOCK_DGRAM) return;
    if (this.inboxes.attach(sid, isStream ? InboxKind.STREAM : InboxKind.DATAGRAM) < 0) return;
    if (!isStream) s.holdDatagramsElsewhere(() => this.inboxes.unreadDatagrams(sid));
  }

  /** Closes `sid`: unread bytes in its inbox make it abortive, as unread data in the stack would (RFC 1122 §4.2.2.13). */
  private closeSocket(sid: number, s: Socket): void {
    if (this.inboxes.find(sid) >= 0) {
      if (s.type === SOCK_STREAM && this.inboxes.unread(sid) > 0) s.setsockopt(SOL_SOCKET, SO_LINGER, LINGER_ABORT);
      this.inboxes.detach(sid);
    }
    s.close();
  }

  private publishRoom(sid: number): void {
    this.posts.publishRoom(sid, this.finished ? 0 : (this.sockets.get(sid)?.sendRoom() ?? 0));
  }

  /** Runs what the worker posted, in order; called before any call is served. */
  private drainPosts(): void {
    if (!this.finished) this.posts.drain(this.runPost);
  }

  /** One posted close, or send that the worker saw fit the socket's room; a failure waits for the next call. */
  private servePost(op: number, sid: number, view: Uint8Array, ip: number, port: number): void {
    const s = this.sockets.get(sid);
    if (s === undefined) return;
    if (op === Op.CLOSE) {
      this.pendingErrors.delete(sid);
      this.closeSocket(sid, s);
      this.publishRoom(sid);
      return;
    }
    if (op === Op.REFILL) {
      this.fillInbox(sid);
      return;
    }
    if (op === Op.SENDTO) {
      // A reply to the datagram the script took last: the worker names its source.
      try {
        s.sendDatagramTo(view, ip, port);
      } catch (e) {
        this.keepError(sid, e);
      }
      return;
    }
    // The view is the post ring's: the stack copies what it queues at once; only a send that no longer
    // fits (which the room table should have prevented) waits, and then with its own copy.
    const data = s.sendRoom() >= view.length ? view : view.slice();
    const sent = op === Op.SEND ? s.send(data) : op === Op.WRITE ? s.write(data) : s.sendall(data);
    sent.catch((e: unknown) => this.keepError(sid, e));
    this.publishRoom(sid);
  }

  /** A posted call's failure, for the socket's next send to raise (the first one only). */
  private keepError(sid: number, e: unknown): void {
    if (e instanceof OSError && !this.pendingErrors.has(sid)) this.pendingErrors.set(sid, e.errno);
  }

  /**
   * Takes the request of `frame` if it is WAITING (compare-and-swap to TAKEN, so the doorbell and the watch
   * never serve one twice) and starts serving it → the serve, or null when there was nothing to take.
   */
  private claim(frame: unknown): Promise<void> | null {
    if (typeof frame !== "number" || !Number.isInteger(frame) || frame < 0 || frame >= FRAMES || this.finished) return null;
    const slot = frameLayout(frame).slot0 + FrameSlot.STATE;
    if (Atomics.compareExchange(this.i32, slot, State.WAITING, State.TAKEN) !== State.WAITING) return null;
    // Posted before this call, so run before it.
    this.drainPosts();
    return this.serve(readRequest(this.views, frame));
  }

  /**
   * After an answer, watches the frames for the next request for a short while (MAIN_SPIN_MS without one,
   * MAIN_SPIN_MAX_MS at most) and serves what comes at once, so a script's run of calls costs no wake-up
   * of this thread per call. A call that does not complete at once (it waits for the network) ends the
   * watch: the event loop must run for the stack's input. Then the doorbell messages take over again.
   */
  private async watch(): Promise<void> {
    if (MAIN_SPIN_MS <= 0 || this.watching || this.finished) return;
    this.watching = true;
    Atomics.store(this.i32, Slot.MAIN_SPINNING, 1);
    const start = performance.now();
    let lastServedAt = start;
    try {
      for (;;) {
        const now = performance.now();
        if (now - lastServedAt > MAIN_SPIN_MS || now - start > MAIN_SPIN_MAX_MS || this.finished) break;
        this.drainPosts();
        let served: Promise<void> | null = null;
        for (let f = 0; f < FRAMES; f++) served = this.claim(f) ?? served;
        if (served === null) continue;
        let settled = false;
        void served.then(() => {
          settled = true;
        });
        // An immediate answer settles within a few microtask turns (no event-loop round).
        for (let k = 0; k < 16 && !settled; k++) await null;
        if (!settled) break;
        lastServedAt = performance.now();
      }
    } finally {
      Atomics.store(this.i32, Slot.MAIN_SPINNING, 0);
      this.watching = false;
    }
    // A request or post written as the watch ended may have rung no doorbell: take it now.
    this.drainPosts();
    for (let f = 0; f < FRAMES; f++) this.claim(f);
  }

  /** Serves one bridge call and, unless a newer call superseded it (after an interrupt), answers it. */
  private async serve(req: Request): Promise<void> {
    const f = frameLayout(req.frame);
    this.latestSeq[req.frame] = req.seq;
    const dataLength = Atomics.load(this.i32, f.slot0 + FrameSlot.DATA_LENGTH);
    // Copied now: the worker is blocked, so the data area holds this request's bytes until we answer.
    const data = this.bytes.slice(f.dataOffset, f.dataOffset + dataLength);
    let status: number = Status.OK;
    let answer: Answer = {};
    try {
      const handler = this.handlers[req.op] as Handler<OpCode> | undefined;
      if (handler === undefined) throw new ValueError(`unknown bridge operation ${req.op}`);
      // A posted send's failure is the next send's (a connection's failure is raised by every send, and by
      // reads only after the data that came before it, as without posting).
      const pending = SENDS.has(req.op) ? this.pendingErrors.get(req.sid) : undefined;
      if (pending !== undefined) {
        this.pendingErrors.delete(req.sid);
        throw new OSError(pending);
      }
      answer = await handler(req.sid, req.args as unknown as OpArgs<OpCode>, data);
    } catch (e) {
      answer = {};
      if (e instanceof OSError) {
        status = Status.OSERROR;
        answer.value = e.errno;
      } else if (e instanceof ValueError || e instanceof RangeError) {
        status = Status.VALUE_ERROR;
        answer.text = e.message;
      } else if (e instanceof TypeError) {
        status = Status.TYPE_ERROR;
        answer.text = e.message;
      } else {
        status = Status.RUNTIME_ERROR;
        answer.text = e instanceof Error ? e.message : String(e);
      }
    }
    if (READ_OPS.has(req.op) && !this.finished) {
      // What this call took from the stack comes before what the inbox gets now.
      this.inboxes.reopen(req.sid);
      this.attachInbox(req.sid);
      this.fillInbox(req.sid);
    }
    const i32 = this.i32;
    const at = f.slot0;
    // Not ours to answer any more: a newer call of the frame was claimed, or the worker gave this one up
    // (an interrupt set the frame IDLE, perhaps already WAITING again with the next request).
    if (this.finished || req.seq !== this.latestSeq[req.frame] || Atomics.load(i32, at + FrameSlot.STATE) !== State.TAKEN) return;
    const outData = answer.data ?? null;
    if (outData !== null) this.bytes.set(outData.subarray(0, DATA_MAX), f.dataOffset);
    Atomics.store(i32, at + FrameSlot.DATA_LENGTH, outData === null ? 0 : Math.min(outData.length, DATA_MAX));
    const t = encoder.encode(answer.text ?? "").subarray(0, STRING_MAX);
    this.bytes.set(t, f.stringOffset);
    Atomics.store(i32, at + FrameSlot.STRING_LENGTH, t.length);
    Atomics.store(i32, at + FrameSlot.STATUS, status);
    Atomics.store(i32, at + FrameSlot.VALUE, answer.value ?? 0);
    Atomics.store(i32, at + FrameSlot.VALUE2, answer.value2 ?? 0);
    Atomics.store(i32, at + FrameSlot.SOURCE_IP, answer.sourceIp ?? 0);
    Atomics.store(i32, at + FrameSlot.SEQ, req.seq);
    if (this.sockets.has(req.sid)) this.publishRoom(req.sid);
    if (Atomics.compareExchange(i32, at + FrameSlot.STATE, State.TAKEN, State.DONE) !== State.TAKEN) return;
    Atomics.notify(i32, at + FrameSlot.STATE);
    void this.watch();
  }

  /** One handler per operation, its arguments typed by OP_ARGS (the worker checked them). */
  private readonly handlers: { [O in OpCode]: Handler<O> } = {
    [Op.SOCKET]: (_sid, [af, type, proto]) => ({ value: this.add(this.us.socket(af, type, proto)) }),
    [Op.CLOSE]: (sid) => {
      this.closeSocket(sid, this.sock(sid));
      return {};
    },
    [Op.BIND]: (sid, [host, port]) => {
      this.sock(sid).bind([host, port]);
      return {};
    },
    [Op.LISTEN]: (sid, [backlog]) => {
      this.sock(sid).listen(backlog);
      return {};
    },
    [Op.ACCEPT]: async (sid) => {
      const [conn, [ip, port]] = await this.sock(sid).accept();
      const cid = this.add(conn);
      // A connection is accepted to be read: its inbox from the start saves the first read's call.
      this.attachInbox(cid);
      this.fillInbox(cid);
      return { value: cid, text: ip, value2: port };
    },
    [Op.CONNECT]: async (sid, [host, port]) => {
      await this.sock(sid).connect([host, port]);
      return {};
    },
    [Op.SEND]: async (sid, _args, data) => ({ value: await this.sock(sid).send(data) }),
    [Op.SENDALL]: async (sid, _args, data) => {
      await this.sock(sid).sendall(data);
      return {};
    },
    [Op.SENDTO]: async (sid, [host, port], data) => ({ value: await this.sock(sid).sendto(data, [host, port]) }),
    [Op.WRITE]: async (sid, _args, data) => ({ value: (await this.sock(sid).write(data)) ?? -1 }),
    [Op.RECV]: async (sid, [max, flags]) => stream(await this.sock(sid).recv(bounded(max), flags)),
    [Op.RECVFROM]: async (sid, [max, flags]) => {
      const s = this.sock(sid);
      const [d, [ip, port]] = await s.recvfrom(bounded(max), flags);
      return { value: d.length, data: d, text: ip, value2: port, sourceIp: s.type === SOCK_DGRAM ? Math.max(0, tryParseIpv4(ip)) : 0 };
    },
    [Op.READ]: async (sid, [max]) => stream(await this.sock(sid).read(bounded(max))),
    [Op.READLINE]: async (sid, [max]) => stream(await this.sock(sid).readline(bounded(max))),
    [Op.SETTIMEOUT]: (sid, [seconds]) => {
      this.sock(sid).settimeout(seconds);
      return {};
    },
    [Op.SETBLOCKING]: (sid, [flag]) => {
      this.sock(sid).setblocking(flag !== 0);
      return {};
    },
    [Op.SETSOCKOPT]: (sid, [level, opt, value], data) => {
      this.sock(sid).setsockopt(level, opt, value === null ? data : value);
      return {};
    },
    [Op.GETADDRINFO]: async (_sid, [host, port]) => {
      const r = await this.us.getaddrinfo(host, port);
      return { text: r[0]?.[4][0] ?? "" };
    },
    [Op.POLL]: async (_sid, [spec, timeoutMs]) => ({ text: await this.poll(spec, timeoutMs) }),
    [Op.STDIN_LINE]: async () => {
      const line = await this.console.readLine();
      const text = line === null ? "" : `${line}\n`;
      return { value: encoder.encode(text).length, text };
    },
    [Op.NET_CONNECT]: async (_sid, [ssid, key]) => {
      // With --wifi, only that access point joins, as a board's radio would find it (network.WLAN statuses).
      const ap = this.options.wifi ?? null;
      if (ap !== null && ssid !== ap.ssid) return { value2: WlanStatus.STAT_NO_AP_FOUND };
      if (ap !== null && (key ?? "") !== ap.key) return { value2: WlanStatus.STAT_WRONG_PASSWORD };
      return { value2: (await this.waitForAddress()) ? WlanStatus.STAT_GOT_IP : WlanStatus.STAT_NO_IP };
    },
    [Op.NET_SCAN]: () => ({ text: this.options.wifi?.ssid ?? "" }),
    [Op.REFILL]: (sid) => {
      this.fillInbox(sid);
      return {};
    },
    [Op.NET_IFCONFIG]: () => {
      const n = this.net.stack.netif;
      const dns = this.net.stack.dns.servers[0] ?? 0;
      return { text: [n.ip, n.netmask, n.gateway, dns].map(formatIpv4).join(",") };
    },
    [Op.NET_SET]: (_sid, [config]) => {
      const parts = config.split(",");
      if (parts.length !== 4) throw new ValueError("ifconfig needs (ip, netmask, gateway, dns)");
      let quads: number[];
      try {
        quads = parts.map((p) => parseIpv4(p.trim()));
      } catch (e) {
        throw new ValueError(e instanceof Error ? e.message : String(e));
      }
      const [ip, mask, gw, dns] = quads as [number, number, number, number];
      this.net.stack.netif.setAddress(ip, mask, gw);
      if (dns !== 0) this.net.stack.dns.setServers([dns]);
      return {};
    },
    [Op.NET_DHCP]: async () => {
      await this.waitForAddress();
      return {};
    },
    [Op.NET_MAC]: () => ({ text: formatMac(this.net.stack.netif.mac) }),
    [Op.RESET]: () => {
      // The interpreter is replaced: this call is never answered; its sockets are closed (FIN).
      this.isResetRequested = true;
      void this.terminate(true);
      return new Promise<Answer>(() => undefined);
    },
    [Op.PIN]: (_sid, [name, value]) => {
      const changed = this.options.pinChanged ?? ((n: string, v: number): void => void process.stderr.write(`walnut: pin ${n} = ${v}\n`));
      changed(name, value);
      return {};
    },
  };

  /** Socket `sid` as poll sees it: readable too while its inbox holds bytes the stack no longer has. */
  private pollable(sid: number): Pollable | undefined {
    const s = this.sockets.get(sid);
    if (s === undefined || this.inboxes.find(sid) < 0) return s;
    return {
      readiness: () => s.readiness() | (this.inboxes.unread(sid) > 0 ? POLLIN : 0),
      addWaiter: (fn) => s.addWaiter(fn),
      removeWaiter: (fn) => s.removeWaiter(fn),
    };
  }

  /** spec "fd:mask,…" → "fd:events,…" of the ready objects; unknown ids read as closed (POLLNVAL). */
  private async poll(spec: string, timeoutMs: number): Promise<string> {
    const p = new Poll<Pollable>(this.net.stack.scheduler);
    const ids = new Map<Pollable, number>();
    const unknown: string[] = [];
    for (const item of spec.split(",")) {
      if (item.length === 0) continue;
      const [k, m] = item.split(":").map(Number) as [number, number];
      const s: Pollable | undefined = k === CONSOLE_FD ? this.consolePollable : this.pollable(k);
      if (s === undefined) unknown.push(`${k}:${0x20}`);
      else {
        ids.set(s, k);
        p.register(s, m);
      }
    }
    if (unknown.length > 0) return unknown.join(",");
    const ready = await p.poll(timeoutMs);
    return ready.map(([s, ev]) => `${ids.get(s) ?? 0}:${ev}`).join(",");
  }

  /**
   * network.WLAN.connect: the board's address, static or by DHCP (bounded) → whether it has one. Waits on the
   * netif's address-changed event; the script ending settles it too.
   */
  private waitForAddress(): Promise<boolean> {
    const netif = this.net.stack.netif;
    if (netif.ip !== 0) return Promise.resolve(true);
    if (this.finished) return Promise.resolve(false);
    return new Promise((resolve) => {
      const settle = (hasAddress: boolean): void => {
        clearTimeout(timer);
        netif.removeAddressListener(onAddress);
        resolve(hasAddress);
      };
      const onAddress = (ip: number): void => {
        if (ip !== 0) settle(true);
      };
      const timer = setTimeout(() => settle(false), this.options.connectTimeoutMs ?? 30_000);
      netif.addAddressListener(onAddress);
      void this.done.then(() => settle(false));
    });
  }
}

/** A stream read's answer: the bytes, or None (-1) when a non-blocking read found nothing. */
function stream(d: Uint8Array | null): Answer {
  return d === null ? { value: -1 } : { value: d.length, data: d };
}

function bounded(max: number): number {
  if (max < 0) throw new ValueError("negative buffer size");
  return Math.min(max, DATA_MAX);
}

function micropythonUrl(): string {
  const require = createRequire(import.meta.url);
  return pathToFileURL(require.resolve("@micropython/micropython-webassembly-pyscript")).href;
}

let cachedWorkerUrl: URL | null = null;

/**
 * worker.js next to this file once compiled (dist/); from the TypeScript source (tests) worker.ts and the
 * files of this folder it imports (it imports nothing else) are transpiled once per process into a
 * temporary directory.
 */
async function workerUrl(): Promise<URL> {
  if (cachedWorkerUrl !== null) return cachedWorkerUrl;
  const compiled = new URL("./worker.js", import.meta.url);
  if (existsSync(fileURLToPath(compiled))) {
    cachedWorkerUrl = compiled;
    return compiled;
  }
  const ts = (await import("typescript")).default;
  const dir = join(tmpdir(), `walnut-mp-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  // Gone with the process: nothing of the transpiled worker stays in the temporary directory.
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "package.json"), '{"type":"module"}\n');
  for (const name of ["worker", "protocol", "hostfs", "posts", "inbox"]) {
    const src = readFileSync(fileURLToPath(new URL(`./${name}.ts`, import.meta.url)), "utf8");
    const out = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
    writeFileSync(join(dir, `${name}.js`), out.outputText);
  }
  cachedWorkerUrl = pathToFileURL(join(dir, "worker.js"));
  return cachedWorkerUrl;
}
