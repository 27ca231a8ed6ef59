// `walnut run script.py` end to end on a real TAP (the compiled CLI as a child process): docs/usocket.md "The four programs",
// program 3, a UDP server on the board, answering a Python client in the namespace walnut creates for this
// test (10.68.0.0/24, removed afterwards), plus the exit code and traceback of a failing script.

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { canRunTapTests, uniqueName } from "../helpers/env.js";
import { removeNetns, runAsync, runInNetns, waitFor, type RunResult } from "../helpers/board.js";

const ROOT = join(import.meta.dirname, "..", "..");
const WALNUT = join(ROOT, "bin", "walnut.js");
const run = canRunTapTests("run.test.ts", ["python3"]);

const PROGRAM_3 = `import network
import usocket as socket
wl = network.WLAN(); wl.active(1); wl.connect('ssid', 'password', security=network.AUTH_PSK)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('0.0.0.0', 5000))
print('ready', wl.ifconfig()[0])
for i in range(3):
    data, address = s.recvfrom(1024)
    print(data, address[0])
    s.sendto('hello, i am server', address)
s.close()
`;

const PEER = `import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
for i in range(3):
    s.sendto(b'hello, i am client', (sys.argv[1], 5000))
    print(s.recvfrom(1024)[0].decode())
`;

let dir = "";
const namespaces: string[] = [];

beforeAll(async () => {
  if (!run) return;
  // The CLI under test is the current source (as test/cli does).
  const startedMs = Date.now();
  const r = await runAsync(["npx", "tsc", "-p", "tsconfig.build.json"], { timeoutMs: 60_000, cwd: ROOT });
  if (r.code !== 0 && r.code !== 2) throw new Error(`build failed:\n${r.stdout}${r.stderr}`);
  if (statSync(join(ROOT, "dist", "src", "board", "micropython", "worker.js")).mtimeMs < startedMs - 1000) throw new Error("worker.js was not rebuilt");
  dir = mkdtempSync(join(tmpdir(), "walnut-run-"));
});

afterEach(() => {
  for (const ns of namespaces.splice(0)) removeNetns(ns);
});

/** Spawns `walnut run …`; resolves with its result, and exposes stdout as it arrives. */
function walnutRun(args: readonly string[], timeoutMs: number): { out: () => string; done: Promise<RunResult> } {
  let stdout = "";
  let stderr = "";
  const child = spawn(process.execPath, [WALNUT, "run", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, timeoutMs);
  const done = new Promise<RunResult>((resolve) => {
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
  return { out: () => stdout, done };
}

describe.runIf(run)("walnut run (real TAP)", () => {
  it("runs the board docs' program 3 (UDP server) against a Python client in the namespace", async () => {
    const ns = uniqueName("wrun");
    namespaces.push(ns);
    const script = join(dir, "udp_server.py");
    writeFileSync(script, PROGRAM_3);
    const w = walnutRun(["--ip", "10.68.0.2/24", "--netns", ns, script], 20_000);
    await waitFor(() => w.out().includes("ready"), 10_000, "the board script to bind");
    const peer = await runInNetns(ns, ["python3", "-c", PEER, "10.68.0.2"], 15_000);
    const r = await w.done;
    expect(peer.stderr).toBe("");
    expect(peer.stdout).toBe("hello, i am server\n".repeat(3));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`ready 10.68.0.2\n${"b'hello, i am client' 10.68.0.1\n".repeat(3)}`);
  });

  it("exits 1 with the traceback when the script raises", async () => {
    const ns = uniqueName("wrun");
    namespaces.push(ns);
    const script = join(dir, "fails.py");
    writeFileSync(script, "import socket\nprint('before')\ns = socket.socket()\ns.settimeout(0.2)\ns.connect(('10.68.1.1', 9))\n");
    const r = await walnutRun(["--ip", "10.68.1.2/24", "--netns", ns, script], 15_000).done;
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("before\n");
    expect(r.stderr).toContain(`File "${script}", line 5, in <module>`);
    expect(r.stderr).toMatch(/OSError: \[Errno (104|110)\] (ECONNRESET|ETIMEDOUT)/);
  });
});

afterAll(() => {
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});
