// TCP interop helpers: the kernel-side peer (test/helpers/py/tcp_peer.py, run with Debian's python in the
// test's namespace, always spawned asynchronously — the board's stack shares this process's event loop),
// a board-side echo client on the PCB API, `ss` parsing, and a board start that takes fault options.

import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { parseIpv4 } from "../../src/core/addr.js";
import { Err, type ErrCode } from "../../src/core/errors.js";
import type { TcpLayer } from "../../src/tcp/tcp.js";
import type { TcpPcb } from "../../src/tcp/pcb.js";
import { runInNetns } from "./board.js";

/** Debian's interpreter (the pyenv one on PATH is not guaranteed inside `ip netns exec`). */
export const PYTHON = "/usr/bin/python3";
export const PEER_SCRIPT = fileURLToPath(new URL("./py/tcp_peer.py", import.meta.url));

export type PeerMode = "stream" | "chargen" | "short" | "concurrent" | "swarm" | "connect-error" | "hold" | "eof-hold" | "server";

export interface PeerArgs {
  host: string;
  port: number;
  send?: number;
  recv?: number;
  count?: number;
  size?: number;
  seed?: number;
  shutdown?: boolean;
  /** The script's own deadline; the child is killed a few seconds after it regardless. */
  timeoutS: number;
}

function peerArgv(ns: string, mode: PeerMode, a: PeerArgs): string[] {
  const argv = ["ip", "netns", "exec", ns, PYTHON, "-u", PEER_SCRIPT, mode, "--host", a.host, "--port", String(a.port)];
  for (const k of ["send", "recv", "count", "size", "seed"] as const) {
    const v = a[k];
    if (v !== undefined) argv.push(`--${k}`, String(v));
  }
  if (a.shutdown === true) argv.push("--shutdown");
  argv.push("--timeout", String(a.timeoutS));
  return argv;
}

/** Runs one peer mode to completion and returns its last JSON line (throws with its output otherwise). */
export async function runPeer<T = Record<string, unknown>>(ns: string, mode: PeerMode, a: PeerArgs): Promise<T> {
  const argv = peerArgv(ns, mode, a);
  const r = await runInNetns(ns, argv.slice(4), (a.timeoutS + 5) * 1000);
  const lines = r.stdout.trim().split("\n").filter((l) => l.startsWith("{"));
  const last = lines.at(-1);
  if (r.code !== 0 || last === undefined) {
    throw new Error(`tcp_peer ${mode} failed (code ${r.code}, timedOut ${r.timedOut}):\n${r.stdout}\n${r.stderr}`);
  }
  return JSON.parse(last) as T;
}

/**
 * A peer that pauses: read its JSON milestones one at a time with `next()`, let it go on with `resume()`.
 * `dispose()` kills it if it is still running (call it in `finally`).
 */
export class InteractivePeer {
  private readonly child: ChildProcess;
  private buffered = "";
  private readonly lines: string[] = [];
  private waiter: (() => void) | null = null;
  private exited = false;
  private stderr = "";
  private readonly killTimer: NodeJS.Timeout;

  constructor(ns: string, mode: PeerMode, a: PeerArgs) {
    const [cmd, ...args] = peerArgv(ns, mode, a);
    this.child = spawn(cmd!, args, { stdio: ["pipe", "pipe", "pipe"] });
    this.child.stdout!.on("data", (c: Buffer) => {
      this.buffered += c.toString();
      let i: number;
      while ((i = this.buffered.indexOf("\n")) >= 0) {
        this.lines.push(this.buffered.slice(0, i));
        this.buffered = this.buffered.slice(i + 1);
      }
      this.wake();
    });
    this.child.stderr!.on("data", (c: Buffer) => (this.stderr += c.toString()));
    this.child.on("close", () => {
      this.exited = true;
      this.wake();
    });
    this.child.on("error", (err) => {
      this.stderr += err.message;
      this.exited = true;
      this.wake();
    });
    this.killTimer = setTimeout(() => this.dispose(), (a.timeoutS + 5) * 1000);
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  /** The next JSON line, within `timeoutMs`. */
  async next<T = Record<string, unknown>>(timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.lines.shift();
      if (line !== undefined) {
        if (line.startsWith("{")) return JSON.parse(line) as T;
        continue;
      }
      if (this.exited) throw new Error(`tcp_peer exited without a line; stderr:\n${this.stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`tcp_peer: no line within ${timeoutMs} ms; stderr:\n${this.stderr}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  /** Lets the peer past its current pause. */
  resume(): void {
    if (!this.exited) this.child.stdin!.write("\n");
  }

  dispose(): void {
    clearTimeout(this.killTimer);
    if (!this.exited) this.child.kill("SIGKILL");
  }
}

/** One `ss -tan` / `ss -tin` row: state, local and peer "ip:port", and the continuation text (-i). */
export interface SsRow {
  state: string;
  local: string;
  peer: string;
  info: string;
}

/** Runs `ss -tan` (plus `-i` when `withInfo`) in `ns` and parses the rows. */
export async function ssRows(ns: string, withInfo = false): Promise<SsRow[]> {
  const r = await runInNetns(ns, ["ss", withInfo ? "-tani" : "-tan"], 5000);
  if (r.code !== 0) throw new Error(`ss failed: ${r.stderr}`);
  const rows: SsRow[] = [];
  for (const line of r.stdout.split("\n").slice(1)) {
    if (line.trim() === "") continue;
    // -i puts the details on an indented line after each socket.
    if (/^\s/.test(line)) {
      const last = rows.at(-1);
      if (last !== undefined) last.info += line.trim() + " ";
      continue;
    }
    const f = line.trim().split(/\s+/);
    rows.push({ state: f[0]!, local: f[3]!, peer: f[4]!, info: "" });
  }
  return rows;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * The first `n` bytes of an RFC 864 chargen stream, built here from the RFC (not from src/apps/services.ts):
 * line k holds 72 consecutive printable characters starting at ASCII 32 + (k mod 95), then CR LF.
 */
export function rfc864(n: number): Uint8Array {
  const out = new Uint8Array(n);
  let pos = 0;
  for (let line = 0; pos < n; line++) {
    for (let i = 0; i < 72 && pos < n; i++) out[pos++] = 32 + ((line + i) % 95);
    if (pos < n) out[pos++] = 13;
    if (pos < n) out[pos++] = 10;
  }
  return out;
}


export interface BoardEchoResult {
  /** Err.OK, or the code the `error` event reported. */
  err: ErrCode;
  sent: number;
  received: number;
  recvSha: string;
  ms: number;
  pcb: TcpPcb | null;
}

/**
 * The board as a client: connects to `ip:port`, writes `data`, half-closes, and hashes what comes back until
 * the peer's FIN; then closes. Resolves on FIN, on an `error` event, or after `timeoutMs` (err TIMEOUT).
 */
export function boardEchoClient(tcp: TcpLayer, ip: string, port: number, data: Uint8Array, timeoutMs: number): Promise<BoardEchoResult> {
  return new Promise((resolve) => {
    const hash = createHash("sha256");
    const scratch = new Uint8Array(64 * 1024);
    const t0 = performance.now();
    let sent = 0;
    let received = 0;
    let done = false;
    let pcb: TcpPcb | null = null;
    const finish = (err: ErrCode): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ err, sent, received, recvSha: hash.digest("hex"), ms: performance.now() - t0, pcb });
    };
    const pump = (p: TcpPcb): void => {
      if (done) return;
      for (let guard = 0; guard < 1024 && sent < data.length; guard++) {
        const n = tcp.write(p, data, sent, data.length - sent);
        if (typeof n !== "number" || n <= 0) break;
        sent += n;
      }
      if (sent === data.length && !p.finQueued) tcp.shutdownWrite(p);
      for (let guard = 0; guard < 1024; guard++) {
        const n = tcp.read(p, scratch, 0, scratch.length);
        if (n <= 0) break;
        received += n;
        hash.update(scratch.subarray(0, n));
      }
      if (p.finReceived && p.recvRing.length === 0) {
        tcp.close(p);
        finish(Err.OK);
      }
    };
    const timer = setTimeout(() => {
      if (pcb !== null) tcp.abort(pcb);
      finish(Err.TIMEOUT);
    }, timeoutMs);
    const r = tcp.connect(parseIpv4(ip), port, {
      connected: pump,
      readable: pump,
      writable: pump,
      error: (_p, err) => finish(err),
    });
    if (typeof r === "number") finish(r);
    else pcb = r;
  });
}

/** The board's PCBs as "state local remote" strings (for readable failure messages). */
export function pcbSummary(tcp: TcpLayer): string[] {
  return tcp.allPcbs().map((p) => {
    const i = tcp.info(p);
    return `${i.state} ${i.local} ${i.remote}`;
  });
}

/** MiB/s for `bytes` in `seconds`. */
export function mibPerSec(bytes: number, seconds: number): number {
  return Math.round((bytes / (1024 * 1024) / seconds) * 10) / 10;
}

/** One kernel SNMP counter in `ns` (nstat: -a absolute, -s leaves its history file alone, -z shows zeros). */
export async function kernelCounter(ns: string, name: string): Promise<number> {
  const r = await runInNetns(ns, ["nstat", "-asz", name], 5000);
  const m = new RegExp(`^${name}\\s+(\\d+)`, "m").exec(r.stdout);
  if (m === null) throw new Error(`no ${name} in nstat output: ${r.stdout}${r.stderr}`);
  return Number(m[1]);
}
