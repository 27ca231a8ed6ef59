// `walnut repl`: MicroPython's REPL on the board. Without root: the line editor's tab completion on the
// board's socket module (startRepl with a stub network; completion never reaches the stack). As root on a
// real TAP (the compiled CLI as a child process, stdin piped line by line): a UDP socket bound in the REPL
// receives a datagram from a Python peer in the namespace walnut creates for this test (10.70.0.0/24,
// removed afterwards), expression results print, a traceback and a Ctrl-C (SIGINT) while blocked leave the
// REPL running, and the end of input tears the board down with exit code 0.

import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { startRepl, type BoardNetwork } from "../../src/board/micropython/runtime.js";
import { netnsExists } from "../../src/host/iproute.js";
import { canRunTapTests, uniqueName } from "../helpers/env.js";
import { removeNetns, runAsync, runInNetns, waitFor, type RunResult } from "../helpers/board.js";

const ROOT = join(import.meta.dirname, "..", "..");
const WALNUT = join(ROOT, "bin", "walnut.js");
const tap = canRunTapTests("repl.test.ts", ["python3"]);

describe("startRepl (no network)", () => {
  it("completes socket. and a socket object's methods with Tab; exit() ends it", async () => {
    let out = "";
    const net = { stack: {} } as unknown as BoardNetwork;
    const repl = await startRepl(net, { stdout: (t) => (out += t) });
    repl.chars("import socket\r");
    repl.chars("socket.\t\x03");
    repl.chars("s = socket.socket()\rs.\t\x03");
    repl.chars("exit()\r");
    const r = await repl.done;
    expect(r.ok).toBe(true);
    const words = (after: string, until: string): string[] => {
      const start = out.indexOf(after) + after.length;
      return out.slice(start, out.indexOf(until, start)).split(/\s+/).filter((w) => w.length > 0).sort();
    };
    const moduleNames = words(">>> socket.\r\n", ">>>");
    for (const n of "AF_INET AF_INET6 IPPROTO_IP IPPROTO_TCP IPPROTO_UDP IP_ADD_MEMBERSHIP SOCK_DGRAM SOCK_RAW SOCK_STREAM SOL_SOCKET SO_REUSEADDR getaddrinfo socket".split(" ")) {
      expect(moduleNames).toContain(n);
    }
    expect(moduleNames.filter((n) => n.startsWith("_") || n === "uctypes")).toEqual([]);
    expect(words(">>> s.\r\n", ">>>")).toEqual(
      "accept bind close connect fileno listen makefile read readinto readline recv recvfrom send sendall sendto setblocking setsockopt settimeout write".split(" "),
    );
  });

  it("runs multi-line input, prints results and tracebacks, and ends at end of input", async () => {
    let out = "";
    const net = { stack: {} } as unknown as BoardNetwork;
    const repl = await startRepl(net, { stdout: (t) => (out += t) });
    for (const l of ["for i in range(2):", "    if i:", "        print('odd', i)", "    print('i', i)", "", "1/0", "6*7", "def f(x):", "    return x + 1"]) repl.line(l);
    repl.eof();
    expect((await repl.done).ok).toBe(true);
    repl.line("ignored");
    const text = out.replaceAll("\r", "");
    expect(text).toContain("i 0\nodd 1\ni 1\n");
    expect(text).toContain("ZeroDivisionError: divide by zero\n>>> 6*7\n42\n");
  });
});

const namespaces: string[] = [];

beforeAll(async () => {
  if (!tap) return;
  // The CLI under test is the current source (as test/cli does).
  const r = await runAsync(["npx", "tsc", "-p", "tsconfig.build.json"], { timeoutMs: 60_000, cwd: ROOT });
  if (r.code !== 0 && r.code !== 2) throw new Error(`build failed:\n${r.stdout}${r.stderr}`);
});

afterEach(() => {
  for (const ns of namespaces.splice(0)) removeNetns(ns);
});

describe.runIf(tap)("walnut repl (real TAP)", () => {
  it("drives a UDP socket line by line, survives a traceback and a Ctrl-C, and ends at EOF with exit 0", async () => {
    const ns = uniqueName("wrepl");
    namespaces.push(ns);
    let stdout = "";
    let stderr = "";
    const child = spawn(process.execPath, [WALNUT, "repl", "--ip", "10.70.0.2/24", "--netns", ns], { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    const done = new Promise<RunResult>((resolve) => {
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout, stderr, timedOut: false });
      });
    });
    const out = (): string => stdout.replaceAll("\r", "");
    const send = (line: string): void => void child.stdin.write(`${line}\n`);
    /** Output lines that are not an echo of input (after a prompt). */
    const printed = (): string[] => out().split("\n").filter((l) => !l.startsWith(">>> ") && !l.startsWith("... "));

    send("import socket");
    send("s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)");
    send("s.bind(('0.0.0.0', 5005))");
    send("print('bound')");
    await waitFor(() => printed().includes("bound"), 10_000, "the REPL to bind");
    send("print(s.recvfrom(64)[0])");
    const peer = await runInNetns(ns, ["python3", "-c", "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'hi from the namespace', ('10.70.0.2', 5005))"]);
    expect(peer.code).toBe(0);
    await waitFor(() => printed().includes("b'hi from the namespace'"), 5_000, "the datagram in the REPL");
    send("1+1");
    send("{}['missing']");
    send("print('after')");
    await waitFor(() => printed().includes("after"), 5_000, "the REPL to continue after a traceback");
    expect(printed()).toContain("2");
    expect(out()).toContain("KeyError: missing\n");
    // Ctrl-C while the REPL is blocked in recvfrom: KeyboardInterrupt, and the REPL goes on.
    send("s.recvfrom(64)");
    await waitFor(() => out().includes(">>> s.recvfrom(64)\n"), 5_000, "the blocking call to start");
    await new Promise((r) => setTimeout(r, 200));
    child.kill("SIGINT");
    await waitFor(() => out().includes("KeyboardInterrupt"), 5_000, "KeyboardInterrupt");
    send("print('alive')");
    await waitFor(() => printed().includes("alive"), 5_000, "the REPL after Ctrl-C");
    child.stdin.end();
    const r = await done;
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("MicroPython REPL");
    expect(out()).toContain("MicroPython v1.");
    expect(netnsExists(ns)).toBe(false);
  });

  it("input() reads the next line; Ctrl-C in a pure-Python loop soft-resets to a prompt with the board still up; SIGUSR1 prints the snapshot, never the inspector", async () => {
    const ns = uniqueName("wrepl");
    namespaces.push(ns);
    let stdout = "";
    let stderr = "";
    const child = spawn(process.execPath, [WALNUT, "repl", "--ip", "10.70.5.2/24", "--netns", ns], { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    const done = new Promise<number | null>((resolve) => child.on("close", (code) => (clearTimeout(timer), resolve(code))));
    const out = (): string => stdout.replaceAll("\r", "");
    const send = (line: string): void => void child.stdin.write(`${line}\n`);
    send("name = input('who? ')");
    send("Ada");
    send("print('hello', name)");
    await waitFor(() => out().includes("hello Ada\n"), 10_000, "input() in the REPL");
    send("import socket; s = socket.socket(); s.bind(('0.0.0.0', 7777)); s.listen(1); x = 1");
    send("while True: x += 1");
    send("");
    await waitFor(() => out().includes("while True"), 5_000, "the busy loop to start");
    await new Promise((r) => setTimeout(r, 300));
    child.kill("SIGINT");
    await waitFor(() => out().includes("MPY: soft reboot"), 5_000, "a soft reset");
    expect(stderr).toContain("soft reset");
    send("print('x' in globals(), 'fresh')");
    await waitFor(() => out().includes("False fresh\n"), 10_000, "a fresh interpreter");
    // The board is still the same board: it answers pings, and the old socket's port is free again.
    const ping = await runInNetns(ns, ["ping", "-c", "1", "-W", "2", "10.70.5.2"]);
    expect(ping.code).toBe(0);
    send("s = __import__('socket').socket(); s.bind(('0.0.0.0', 7777)); s.listen(1); print('rebound')");
    await waitFor(() => out().includes("rebound\n"), 5_000, "the port bound again");
    child.kill("SIGUSR1");
    await waitFor(() => stderr.includes("TCP listeners:") && stderr.includes(":7777"), 5_000, "the SIGUSR1 snapshot");
    const listening = await runAsync(["ss", "-Hltn", "sport = :9229"], { timeoutMs: 5000 });
    expect(listening.stdout.trim()).toBe("");
    child.stdin.end();
    expect(await done).toBe(0);
  });
});
