// Runs a MicroPython script on a board (docs/architecture.md "The board's worker bridge"): the interpreter lives in a worker thread
// (worker.ts); this side owns the stack and serves the worker's blocking bridge calls with the TypeScript
// usocket API, writing each answer into the shared buffer and waking the worker (protocol.ts). Blocking,
// timeouts and errnos are usocket's. When the script ends its sockets are closed; if the worker dies or is
// terminated, the board's sockets are freed here (usocket shutdown).

import { Worker } from "node:worker_threads";
import { createRequire } from "node:module";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { formatIpv4, formatMac, parseIpv4 } from "../../core/addr.js";
import type { Stack } from "../../stack/stack.js";
import { OSError, ValueError, usocketFor, type Socket, type Usocket } from "../../usocket/index.js";
import { PYTHON_FILES } from "./python.js";
import {
  DATA_MAX,
  DATA_OFFSET,
  SHARED_BYTES,
  Slot,
  State,
  Status,
  STRING_MAX,
  STRING_OFFSET,
  type ReplInput,
  type Request,
  type WorkerInput,
  type WorkerMessage,
} from "./protocol.js";

/** What the runtime needs of a board: its stack. network.WLAN waits for the netif's address, whoever sets it. */
export interface BoardNetwork {
  readonly stack: Stack;
}

export interface ScriptOptions {
  /** Receives the script's output as it is produced (default: process.stdout / process.stderr). */
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  /** input(): the next line of the console without its newline, or null at end of input (EOFError). */
  readLine?: (prompt: string) => Promise<string | null>;
  /** MicroPython heap (default 2 MiB). */
  heapBytes?: number;
  /** How long network.WLAN().connect() waits for an address (default 30 s). */
  connectTimeoutMs?: number;
}

export interface ScriptResult {
  /** The script ended normally (or by SystemExit). */
  ok: boolean;
  /** The traceback of the uncaught exception, null when ok. */
  traceback: string | null;
}

/** A running script. */
export interface ScriptRun {
  readonly done: Promise<ScriptResult>;
  /** Ctrl-C: a blocked call or sleep raises KeyboardInterrupt (a pure-Python busy loop needs terminate). */
  interrupt(): void;
  /** Stops the worker at once (no Python cleanup); the board's sockets are freed here. */
  terminate(): Promise<void>;
}

const STAT_NO_IP = 2;
const STAT_GOT_IP = 3;
const encoder = new TextEncoder();

class EndOfInput extends Error {}

/** Starts `source` on the board. */
export async function runScript(net: BoardNetwork, source: string, options: ScriptOptions = {}): Promise<ScriptRun> {
  const url = await workerUrl();
  const shared = new SharedArrayBuffer(SHARED_BYTES);
  const input: WorkerInput = {
    shared,
    micropythonUrl: micropythonUrl(),
    files: { ...PYTHON_FILES },
    source,
    heapBytes: options.heapBytes ?? 2 * 1024 * 1024,
  };
  const worker = new Worker(url, { workerData: input });
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
}

/** Starts MicroPython's interactive REPL on the board (its banner and `>>> ` prompt arrive through stdout). */
export async function startRepl(net: BoardNetwork, options: ScriptOptions = {}): Promise<ReplRun> {
  const url = await workerUrl();
  const shared = new SharedArrayBuffer(SHARED_BYTES);
  const input: WorkerInput = {
    shared,
    micropythonUrl: micropythonUrl(),
    files: { ...PYTHON_FILES },
    source: "",
    heapBytes: options.heapBytes ?? 2 * 1024 * 1024,
    repl: true,
  };
  const worker = new Worker(url, { workerData: input });
  const bridge = new Bridge(net, worker, shared, options);
  const i32 = new Int32Array(shared);
  const post = (m: ReplInput): void => worker.postMessage(m);
  return {
    done: bridge.done,
    interrupt: () => bridge.interrupt(),
    terminate: () => bridge.terminate(),
    chars: (text) => post({ kind: "chars", text }),
    line: (text) => post({ kind: "line", text }),
    eof: () => post({ kind: "eof" }),
    ctrlC: () => {
      if (Atomics.load(i32, Slot.BUSY) !== 0) {
        bridge.interrupt();
        return "interrupted";
      }
      post({ kind: "chars", text: "\x03" });
      return "line";
    },
  };
}

class Bridge implements ScriptRun {
  readonly done: Promise<ScriptResult>;
  private readonly i32: Int32Array;
  private readonly bytes: Uint8Array;
  private readonly us: Usocket;
  private readonly sockets = new Map<number, Socket>();
  private latestSeq = 0;
  private finished = false;

  constructor(
    private readonly net: BoardNetwork,
    private readonly worker: Worker,
    shared: SharedArrayBuffer,
    private readonly options: ScriptOptions,
  ) {
    this.i32 = new Int32Array(shared);
    this.bytes = new Uint8Array(shared);
    this.us = usocketFor(net.stack);
    const out = options.stdout ?? ((t: string): void => void process.stdout.write(t));
    const err = options.stderr ?? ((t: string): void => void process.stderr.write(t));
    this.done = new Promise<ScriptResult>((resolve) => {
      const finish = (r: ScriptResult, graceful: boolean): void => {
        if (this.finished) return;
        this.finished = true;
        if (graceful) this.us.closeAll();
        else this.us.shutdown();
        void worker.terminate();
        resolve(r);
      };
      worker.on("message", (m: WorkerMessage) => {
        if (m.kind === "call") void this.serve(m);
        else if (m.kind === "output") (m.stream === "stdout" ? out : err)(m.text);
        else finish({ ok: m.ok, traceback: m.traceback }, true);
      });
      worker.on("error", (e) => finish({ ok: false, traceback: `walnut: MicroPython worker failed: ${e.message}\n` }, false));
      worker.on("exit", (code) => finish({ ok: false, traceback: `walnut: MicroPython worker exited (code ${code})\n` }, false));
    });
  }

  interrupt(): void {
    Atomics.store(this.i32, Slot.INTERRUPT, 1);
    Atomics.notify(this.i32, Slot.STATE);
    Atomics.notify(this.i32, Slot.INTERRUPT);
  }

  async terminate(): Promise<void> {
    await this.worker.terminate();
    await this.done;
  }

  private sock(sid: number): Socket {
    const s = this.sockets.get(sid);
    if (s === undefined) throw new OSError(9);
    return s;
  }

  private add(s: Socket): number {
    this.sockets.set(s.fileno(), s);
    return s.fileno();
  }

  /** Serves one bridge call and, unless a newer call superseded it (after an interrupt), answers it. */
  private async serve(req: Request): Promise<void> {
    this.latestSeq = req.seq;
    const dataLength = Atomics.load(this.i32, Slot.DATA_LENGTH);
    // Copied now: the worker is blocked, so the data area holds this request's bytes until we answer.
    const data = this.bytes.slice(DATA_OFFSET, DATA_OFFSET + dataLength);
    let status: number = Status.OK;
    let value = 0;
    let value2 = 0;
    let outData: Uint8Array | null = null;
    let text = "";
    try {
      const r = await this.perform(req, data);
      value = r.value ?? 0;
      value2 = r.value2 ?? 0;
      outData = r.data ?? null;
      text = r.text ?? "";
    } catch (e) {
      if (e instanceof OSError) {
        status = Status.OSERROR;
        value = e.errno;
      } else if (e instanceof ValueError) {
        status = Status.VALUE_ERROR;
        text = e.message;
      } else if (e instanceof TypeError) {
        status = Status.TYPE_ERROR;
        text = e.message;
      } else if (e instanceof EndOfInput) {
        status = Status.EOF_ERROR;
      } else {
        status = Status.RUNTIME_ERROR;
        text = e instanceof Error ? e.message : String(e);
      }
    }
    if (this.finished || req.seq !== this.latestSeq) return;
    const i32 = this.i32;
    if (outData !== null) this.bytes.set(outData.subarray(0, DATA_MAX), DATA_OFFSET);
    Atomics.store(i32, Slot.DATA_LENGTH, outData === null ? 0 : Math.min(outData.length, DATA_MAX));
    const t = encoder.encode(text).subarray(0, STRING_MAX);
    this.bytes.set(t, STRING_OFFSET);
    Atomics.store(i32, Slot.STRING_LENGTH, t.length);
    Atomics.store(i32, Slot.STATUS, status);
    Atomics.store(i32, Slot.VALUE, value);
    Atomics.store(i32, Slot.VALUE2, value2);
    Atomics.store(i32, Slot.SEQ, req.seq);
    Atomics.store(i32, Slot.STATE, State.DONE);
    Atomics.notify(i32, Slot.STATE);
  }

  private async perform(req: Request, data: Uint8Array): Promise<{ value?: number; value2?: number; data?: Uint8Array; text?: string }> {
    const { sid, a, b, c } = req;
    switch (req.op) {
      case "socket":
        return { value: this.add(this.us.socket(num(a, 2), num(b, 1), num(c, 0))) };
      case "close":
        this.sock(sid).close();
        return {};
      case "bind":
        this.sock(sid).bind([str(a), num(b, 0)]);
        return {};
      case "listen":
        this.sock(sid).listen(num(a, 2));
        return {};
      case "accept": {
        const [conn, [ip, port]] = await this.sock(sid).accept();
        return { value: this.add(conn), text: ip, value2: port };
      }
      case "connect":
        await this.sock(sid).connect([str(a), num(b, 0)]);
        return {};
      case "send":
        return { value: await this.sock(sid).send(data) };
      case "sendall":
        await this.sock(sid).sendall(data);
        return {};
      case "sendto":
        return { value: await this.sock(sid).sendto(data, [str(a), num(b, 0)]) };
      case "write": {
        const n = await this.sock(sid).write(data);
        return { value: n ?? -1 };
      }
      case "recv":
      case "recvfrom":
      case "read":
      case "readline": {
        const s = this.sock(sid);
        const max = Math.min(num(a, DATA_MAX), DATA_MAX);
        if (req.op === "recvfrom") {
          const [d, [ip, port]] = await s.recvfrom(max, num(b, 0));
          return { value: d.length, data: d, text: ip, value2: port };
        }
        const d = req.op === "recv" ? await s.recv(max, num(b, 0)) : req.op === "read" ? await s.read(max) : await s.readline(max);
        return d === null ? { value: -1 } : { value: d.length, data: d };
      }
      case "settimeout":
        this.sock(sid).settimeout(a === null ? null : num(a, 0));
        return {};
      case "setblocking":
        this.sock(sid).setblocking(num(a, 1) !== 0);
        return {};
      case "setsockopt":
        this.sock(sid).setsockopt(num(a, 0), num(b, 0), c === null ? data : num(c, 0));
        return {};
      case "getaddrinfo": {
        const r = await this.us.getaddrinfo(str(a), num(b, 0));
        return { text: r[0]?.[4][0] ?? "" };
      }
      case "poll":
        return { text: await this.poll(str(a), num(b, -1)) };
      case "input": {
        const read = this.options.readLine;
        if (read === undefined) throw new EndOfInput();
        const line = await read(str(a));
        if (line === null) throw new EndOfInput();
        return { text: line };
      }
      case "net_connect":
        return { value2: (await this.waitForAddress()) ? STAT_GOT_IP : STAT_NO_IP };
      case "net_ifconfig": {
        const n = this.net.stack.netif;
        const dns = this.net.stack.dns.servers[0] ?? 0;
        return { text: [n.ip, n.netmask, n.gateway, dns].map(formatIpv4).join(",") };
      }
      case "net_set": {
        const parts = str(a).split(",");
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
      }
      case "net_dhcp":
        await this.waitForAddress();
        return {};
      case "net_mac":
        return { text: formatMac(this.net.stack.netif.mac) };
      default:
        throw new ValueError(`unknown bridge call '${req.op}'`);
    }
  }

  /** spec "sid:mask,…" → "sid:events,…" of the ready sockets; unknown ids read as closed (POLLNVAL). */
  private async poll(spec: string, timeoutMs: number): Promise<string> {
    const p = this.us.poll();
    const ids = new Map<Socket, number>();
    const unknown: string[] = [];
    for (const item of spec.split(",")) {
      if (item.length === 0) continue;
      const [k, m] = item.split(":").map(Number) as [number, number];
      const s = this.sockets.get(k);
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

function num(x: number | string | null, dflt: number): number {
  if (x === null) return dflt;
  if (typeof x !== "number") throw new TypeError("can't convert str to int");
  return x;
}

function str(x: number | string | null): string {
  if (typeof x !== "string") throw new TypeError("expected a str");
  return x;
}

function micropythonUrl(): string {
  const require = createRequire(import.meta.url);
  return pathToFileURL(require.resolve("@micropython/micropython-webassembly-pyscript")).href;
}

let cachedWorkerUrl: URL | null = null;

/**
 * worker.js next to this file once compiled (dist/); from the TypeScript source (tests) worker.ts and
 * protocol.ts are transpiled once per process into a temporary directory.
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
  for (const name of ["worker", "protocol"]) {
    const src = readFileSync(fileURLToPath(new URL(`./${name}.ts`, import.meta.url)), "utf8");
    const out = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
    writeFileSync(join(dir, `${name}.js`), out.outputText);
  }
  cachedWorkerUrl = pathToFileURL(join(dir, "worker.js"));
  return cachedWorkerUrl;
}
