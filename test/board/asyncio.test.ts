// The board's asyncio (src/board/micropython/lib/asyncio) running MicroPython programs from
// programs/asyncio/: the pure-logic program on a MemLink board (no root), then `walnut run` on a real TAP
// against CPython peers in a namespace each test creates and removes — a web app served to concurrent
// clients, open_connection clients (HTTP GET, MQTT-style publish), stream methods through EOF and RST, and
// an idle loop whose CPU time is sampled from /proc. Board and peers synchronise by stdout/stdin lines.

import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcessByStdio } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { RealClock } from "../../src/core/clock.js";
import { Scheduler } from "../../src/core/scheduler.js";
import { parseIpv4, parseMac } from "../../src/core/addr.js";
import { memLinkPair } from "../../src/link/memlink.js";
import { Stack } from "../../src/stack/stack.js";
import { createNetns } from "../../src/host/iproute.js";
import { runScript } from "../../src/board/micropython/runtime.js";
import { canRunTapTests, uniqueName } from "../helpers/env.js";
import { removeNetns, runAsync, waitFor } from "../helpers/board.js";
import { ROOT, spawnWalnut, waitForLine, type WalnutProcess } from "../helpers/walnutProcess.js";

const PROGRAMS = join(import.meta.dirname, "programs", "asyncio");
const program = (name: string): string => join(PROGRAMS, name);

describe("asyncio on a MemLink board", () => {
  it("timers, cancellation, wait_for, gather, Event, Lock, ThreadSafeFlag and the loop behave as MicroPython's", async () => {
    const scheduler = new Scheduler(new RealClock());
    const [wa] = memLinkPair(scheduler, { latencyMs: 0.05, mtu: 1500 });
    const board = new Stack(wa, { netmask: 0xffffff00, gateway: 0, mtu: 1500, mac: parseMac("02:00:00:00:00:01"), ip: parseIpv4("10.0.0.1") }, scheduler);
    board.start();
    try {
      let out = "";
      let err = "";
      const run = await runScript({ stack: board }, readFileSync(program("logic.py"), "utf8"), {
        stdout: (t) => (out += t),
        stderr: (t) => (err += t),
      });
      const r = await run.done;
      expect(r.traceback).toBeNull();
      expect(out).toBe(readFileSync(program("logic.out"), "utf8"));
      // The default exception handler, as the board prints it: message, the task and its coroutine, traceback.
      expect(err).toMatch(
        /^Task exception wasn't retrieved\nfuture: <Task> coro= <generator object 'fail_after' at [0-9a-f]+>\nTraceback \(most recent call last\):\n(  .*\n)+ValueError: printed by the default handler\n$/,
      );
    } finally {
      board.stop();
      scheduler.stopHostTimer();
    }
  });
});

const tap = canRunTapTests("asyncio.test.ts", ["python3"]);

interface Peer {
  child: ChildProcessByStdio<Writable, Readable, Readable>;
  lines: string[];
  stderr: () => string;
  exited: Promise<number | null>;
}

const children: { kill(): void }[] = [];
const namespaces: string[] = [];

/** `ip netns exec ns python3 -u argv…`, its stdout as lines; killed after the test if still running. */
function spawnPeer(ns: string, argv: readonly string[]): Peer {
  const child = spawn("ip", ["netns", "exec", ns, "python3", "-u", ...argv], { stdio: ["pipe", "pipe", "pipe"] });
  const lines: string[] = [];
  let pending = "";
  let err = "";
  child.stdout.on("data", (c: Buffer) => {
    const parts = (pending + c.toString()).split("\n");
    pending = parts.pop() ?? "";
    lines.push(...parts);
  });
  child.stderr.on("data", (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  children.push({ kill: () => child.kill("SIGKILL") });
  return { child, lines, stderr: () => err, exited };
}

async function peerLine(p: Peer, line: string, timeoutMs = 10_000): Promise<void> {
  await waitFor(() => p.lines.includes(line), timeoutMs, `peer line '${line}' (got ${JSON.stringify(p.lines)}; stderr ${p.stderr()})`);
}

/** Resolves with the exit, or kills the process and fails after `timeoutMs`. */
async function within<T>(what: string, done: Promise<T>, kill: () => void, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      kill();
      reject(new Error(`${what} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([done, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A fresh namespace for the peers, made before walnut attaches its TAP to it (walnut leaves it to us). */
function namespace(): string {
  const ns = uniqueName("wasy");
  namespaces.push(ns);
  createNetns(ns);
  return ns;
}

function walnutRun(ns: string, subnet: string, script: string): WalnutProcess {
  const w = spawnWalnut(["run", "--ip", `${subnet}.2/24`, "--netns", ns, program(script)]);
  children.push({ kill: () => w.child.kill("SIGKILL") });
  return w;
}

async function walnutExit(w: WalnutProcess, timeoutMs = 20_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const r = await within("walnut run", w.exited, () => w.child.kill("SIGKILL"), timeoutMs);
  return { code: r.code, stdout: w.stdout.join("\n"), stderr: w.stderr.join("\n") };
}

/** utime + stime of a process in seconds (/proc/PID/stat fields 14 and 15, after the parenthesised name). */
function cpuSeconds(pid: number, ticksPerSecond: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

afterEach(() => {
  for (const c of children.splice(0)) c.kill();
  for (const ns of namespaces.splice(0)) removeNetns(ns);
});

describe.runIf(tap)("asyncio on the board (walnut run, real TAP, CPython peers)", () => {
  beforeAll(async () => {
    // walnut run is the compiled CLI: build the current source first (as run.test.ts does).
    const startedMs = Date.now();
    const r = await runAsync(["npx", "tsc", "-p", "tsconfig.build.json"], { timeoutMs: 60_000, cwd: ROOT });
    if (r.code !== 0 && r.code !== 2) throw new Error(`build failed:\n${r.stdout}${r.stderr}`);
    if (statSync(join(ROOT, "dist", "src", "board", "micropython", "runtime.js")).mtimeMs < startedMs - 1000) throw new Error("runtime.js was not rebuilt");
  });

  it("serves a tiny web app to concurrent clients, then closes it with wait_closed", async () => {
    const ns = namespace();
    const w = walnutRun(ns, "10.70.1", "webapp.py");
    await waitForLine(w, /^ready 10\.70\.1\.2$/, 15_000);
    const peer = spawnPeer(ns, [program("webapp_peer.py"), "10.70.1.2"]);
    const code = await within("webapp_peer.py", peer.exited, () => peer.child.kill("SIGKILL"), 20_000);
    const r = await walnutExit(w);
    expect(peer.stderr()).toBe("");
    expect(code).toBe(0);
    expect(peer.lines).toEqual([
      ...[1, 2, 3, 4].map((i) => `HTTP/1.0 200 OK | GET /c${i} for peer${i} from 10.70.1.1`),
      "HTTP/1.0 200 OK | GET /slow for slow from 10.70.1.1",
      "8080 refused",
      "bye",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      ["ready 10.70.1.2", "served ['/c1', '/c2', '/c3', '/c4', '/slow']", "second server up", "peer says done", "closed"].join("\n"),
    );
  });

  it("runs open_connection clients side by side: an HTTP GET to http.server and an MQTT-style publish", async () => {
    const ns = namespace();
    const www = mkdtempSync(join(tmpdir(), "walnut-asyncio-www-"));
    try {
      writeFileSync(join(www, "hello.txt"), "hello from the namespace\n".repeat(100));
      const http = spawnPeer(ns, ["-m", "http.server", "8000", "--bind", "0.0.0.0", "--directory", www]);
      const broker = spawnPeer(ns, [program("mqtt_peer.py")]);
      await waitFor(() => http.lines.some((l) => l.startsWith("Serving HTTP on 0.0.0.0 port 8000")), 10_000, "http.server");
      await peerLine(broker, "listening");
      const r = await walnutExit(walnutRun(ns, "10.70.2", "client.py"));
      const brokerCode = await within("mqtt_peer.py", broker.exited, () => broker.child.kill("SIGKILL"), 10_000);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(
        [
          "http peername ('10.70.2.1', 8000)",
          "HTTP/1.0 200 OK text/plain 2500 bytes, as served: True, then EOF: b''",
          "CONNACK b' \\x02\\x00\\x00' PUBACK b'@\\x02\\x00\\x07', then the broker closed: b''",
        ].join("\n"),
      );
      expect(broker.stderr()).toBe("");
      expect(brokerCode).toBe(0);
      expect(broker.lines).toEqual(["listening", "CONNECT 0x10 MQTT 4 2 walnut-board", "PUBLISH 0x32 qos 1 walnut/test 7 hello broker", "DISCONNECT 0xe0 0"]);
      expect(http.stderr()).toContain('"GET /hello.txt HTTP/1.0" 200');
    } finally {
      rmSync(www, { recursive: true, force: true });
    }
  });

  it("streams: readline, readexactly, readinto, read(-1) to EOF, EOFError, a peer RST and a refused connect raise in the task", async () => {
    const ns = namespace();
    const peer = spawnPeer(ns, [program("stream_peer.py")]);
    await peerLine(peer, "listening");
    const r = await walnutExit(walnutRun(ns, "10.70.3", "streams.py"));
    const code = await within("stream_peer.py", peer.exited, () => peer.child.kill("SIGKILL"), 10_000);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        "readline: b'line one\\n' b'line two\\n'",
        "readexactly(8) over two sends: b'ABCDEFGH'",
        "readinto: 10 b'0123456789'",
        "read(-1) to EOF: 3000 True",
        "after EOF read(10): b'' readline: b''",
        "readexactly after EOF: EOFError",
        "ten bytes: b'last words'",
        "then the reset reaches the task: OSError 104",
        "refused open_connection: OSError 104",
      ].join("\n"),
    );
    expect(peer.stderr()).toBe("");
    expect(code).toBe(0);
    expect(peer.lines).toEqual(["listening", "board closed: b''", "done"]);
  });

  it("does not spin: waiting 2 s on a socket with a timer running costs the board process little CPU", async () => {
    const ns = namespace();
    const peer = spawnPeer(ns, [program("idle_peer.py")]);
    await peerLine(peer, "listening");
    const w = walnutRun(ns, "10.70.4", "idle.py");
    await waitForLine(w, /^waiting$/, 15_000);
    await peerLine(peer, "connected");
    const pid = w.child.pid;
    if (pid === undefined) throw new Error("walnut has no pid");
    const ticksPerSecond = Number((await runAsync(["getconf", "CLK_TCK"])).stdout.trim());
    const before = cpuSeconds(pid, ticksPerSecond);
    // The measurement window: the board waits in read() with the ticker waking every 200 ms.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const used = cpuSeconds(pid, ticksPerSecond) - before;
    peer.child.stdin.write("go\n");
    const r = await walnutExit(w);
    expect(used).toBeLessThan(0.3);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("waiting\ngot b'wake up' the ticker ran meanwhile: True");
    expect(await within("idle_peer.py", peer.exited, () => peer.child.kill("SIGKILL"), 10_000)).toBe(0);
  });
});
