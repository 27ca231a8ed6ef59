// The board programs in examples/ run unchanged under `walnut run` (the compiled CLI as a child process), each
// against an ordinary Linux peer (CPython sockets) inside a namespace this test creates and removes: the TCP
// server (a line typed on walnut's stdin goes to the client), the TCP client, the UDP server (stopped with
// Ctrl-C) and the UDP client (against examples/linux/udp_server.py). The board takes 192.168.50.66/24 as the
// README shows; the namespace keeps that subnet private to the test. Every wait is bounded.

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcessByStdio } from "node:child_process";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { createNetns } from "../../src/host/iproute.js";
import { canRunTapTests, uniqueName } from "../helpers/env.js";
import { removeNetns, runAsync, runInNetns, waitFor, type RunResult } from "../helpers/board.js";
import { ROOT, WALNUT } from "../helpers/walnutProcess.js";

const run = canRunTapTests("examples.test.ts", ["python3"]);
const EXAMPLES = join(ROOT, "examples");
const BOARD_CIDR = "192.168.50.66/24";
const BOARD_IP = "192.168.50.66";
const KERNEL_IP = "192.168.50.1";

/** A child whose output is watched while it runs; killed with SIGKILL after `timeoutMs`. */
interface Proc {
  child: ChildProcessByStdio<Writable, Readable, Readable>;
  out(): string;
  done: Promise<RunResult>;
}

function start(argv: readonly string[], timeoutMs: number): Proc {
  let stdout = "";
  let stderr = "";
  const child = spawn(argv[0] as string, argv.slice(1), { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
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
  return { child, out: () => stdout, done };
}

/** `walnut run --ip 192.168.50.66/24 --netns NS examples/FILE`. */
function walnutRun(ns: string, file: string, timeoutMs = 30_000): Proc {
  return start([process.execPath, WALNUT, "run", "--ip", BOARD_CIDR, "--netns", ns, join(EXAMPLES, file)], timeoutMs);
}

/** A CPython program inside `ns`. */
function peer(ns: string, argv: readonly string[], timeoutMs = 30_000): Proc {
  return start(["ip", "netns", "exec", ns, "python3", ...argv], timeoutMs);
}

/** Resolves once `p` printed `text`; fails early if `p` ended first. */
async function waitForOutput(p: Proc, text: string, timeoutMs: number): Promise<void> {
  let ended = false;
  void p.done.then(() => (ended = true));
  await waitFor(() => ended || p.out().includes(text), timeoutMs, JSON.stringify(text));
  if (!p.out().includes(text)) {
    const r = await p.done;
    throw new Error(`ended before printing ${JSON.stringify(text)}:\n${r.stdout}${r.stderr}`);
  }
}

/** A TCP client in `ns` that prints everything the board sends until it closes. */
const TCP_CLIENT = `import socket, sys
c = socket.create_connection((sys.argv[1], 5000), timeout=10)
data = b''
while True:
    d = c.recv(1024)
    if not d:
        break
    data += d
sys.stdout.write(data.decode())
`;

/** A TCP server in `ns` (bound before the board's TAP is there) that sends one line to its first client. */
const TCP_SERVER = `import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', 5000))
s.listen(1)
s.settimeout(20)
print('listening', flush=True)
c, a = s.accept()
c.sendall(b'hello from linux\\n')
c.close()
print('served', a[0], flush=True)
`;

/** A UDP client in `ns`: three datagrams to the board, each answer printed. */
const UDP_CLIENT = `import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
for i in range(3):
    s.sendto(b'hello, i am client', (sys.argv[1], 5000))
    print(s.recvfrom(1024)[0].decode())
`;

const namespaces: string[] = [];

/** A fresh namespace for one test (walnut run attaches to it and leaves it; afterEach removes it). */
function namespace(): string {
  const ns = uniqueName("wex");
  namespaces.push(ns);
  createNetns(ns);
  return ns;
}

beforeAll(async () => {
  if (!run) return;
  // The CLI under test is the current source (as test/cli does).
  const r = await runAsync(["npx", "tsc", "-p", "tsconfig.build.json"], { timeoutMs: 60_000, cwd: ROOT });
  if (r.code !== 0 && r.code !== 2) throw new Error(`build failed:\n${r.stdout}${r.stderr}`);
});

afterEach(() => {
  for (const ns of namespaces.splice(0)) removeNetns(ns);
});

describe.runIf(run)("examples/ under walnut run (real TAP, Linux peers)", () => {
  it("tcp_server.py sends a line typed on walnut's stdin to a client, and ends at the end of input", async () => {
    const ns = namespace();
    const w = walnutRun(ns, "tcp_server.py");
    await waitForOutput(w, `TCP server on ${BOARD_IP} port 5000`, 15_000);
    w.child.stdin.write("hello from the board\n");
    const first = await runInNetns(ns, ["python3", "-c", TCP_CLIENT, BOARD_IP], 15_000);
    expect(first.stderr).toBe("");
    expect(first.stdout).toBe("hello from the board\n");
    // End of input: the next client is closed without a line, and the script ends normally.
    w.child.stdin.end();
    const second = await runInNetns(ns, ["python3", "-c", TCP_CLIENT, BOARD_IP], 15_000);
    expect(second.stdout).toBe("");
    const r = await w.done;
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(`^TCP server on ${BOARD_IP} port 5000\\nclient ${KERNEL_IP} \\d+\\nline to send: client ${KERNEL_IP} \\d+\\nline to send: server closed\\n$`),
    );
  });

  it("tcp_client.py connects to a Linux server and prints what it sent", async () => {
    const ns = namespace();
    const server = peer(ns, ["-c", TCP_SERVER]);
    await waitForOutput(server, "listening", 10_000);
    const r = await walnutRun(ns, "tcp_client.py").done;
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("hello from linux\n\n");
    const s = await server.done;
    expect(s.code).toBe(0);
    expect(s.stdout).toBe(`listening\nserved ${BOARD_IP}\n`);
  });

  it("udp_server.py answers a Linux client and stops cleanly at Ctrl-C", async () => {
    const ns = namespace();
    const w = walnutRun(ns, "udp_server.py");
    await waitForOutput(w, `UDP server on ${BOARD_IP} port 5000`, 15_000);
    const client = await runInNetns(ns, ["python3", "-c", UDP_CLIENT, BOARD_IP], 20_000);
    expect(client.stderr).toBe("");
    expect(client.stdout).toBe("hello, i am server\n".repeat(3));
    w.child.kill("SIGINT");
    const stopped = await Promise.race([w.done, new Promise<null>((r) => setTimeout(() => r(null), 10_000).unref())]);
    expect(stopped, "walnut run did not end within 10 s of SIGINT").not.toBeNull();
    const r = await w.done;
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(`^UDP server on ${BOARD_IP} port 5000\\n(received b'hello, i am client' from ${KERNEL_IP} \\d+\\n){3}server closed\\n$`),
    );
  });

  it("udp_client.py exchanges three datagrams with examples/linux/udp_server.py", async () => {
    const ns = namespace();
    const server = peer(ns, [join(EXAMPLES, "linux", "udp_server.py"), "3"]);
    await waitForOutput(server, "linux UDP server on port 5000", 10_000);
    const r = await walnutRun(ns, "udp_client.py").done;
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`hello, i am server from ${KERNEL_IP} 5000\n`.repeat(3));
    const s = await server.done;
    expect(s.code).toBe(0);
    expect(s.stdout).toMatch(new RegExp(`^linux UDP server on port 5000\\n(received b'hello, i am client' from ${BOARD_IP} \\d+\\n){3}$`));
  });

  it("http_server/main.py imports the package beside it and serves HTTP to a Linux client", async () => {
    const ns = namespace();
    const w = walnutRun(ns, join("http_server", "main.py"));
    await waitForOutput(w, `HTTP server on http://${BOARD_IP}:8080/`, 15_000);
    const get = `import sys, urllib.request
for path in sys.argv[2:]:
    try:
        r = urllib.request.urlopen('http://%s:8080%s' % (sys.argv[1], path), timeout=10)
        print(r.status, r.read().decode(), end='')
    except urllib.error.HTTPError as e:
        print(e.code, e.read().decode(), end='')
`;
    const client = await runInNetns(ns, ["python3", "-c", get, BOARD_IP, "/", "/hello?name=wal%20nut", "/", "/nope"], 20_000);
    expect(client.stderr).toBe("");
    expect(client.stdout).toBe(
      `200 walnut board at ${BOARD_IP}, visit 1\n200 hello, wal nut\n200 walnut board at ${BOARD_IP}, visit 2\n404 no page /nope\n`,
    );
    w.child.kill("SIGINT");
    const r = await w.done;
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`HTTP server on http://${BOARD_IP}:8080/\nserver closed\n`);
  });
});

afterAll(() => {
  for (const ns of namespaces.splice(0)) removeNetns(ns);
});
