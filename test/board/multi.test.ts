// Board programs under `walnut run` against CPython peers in a namespace of the test's own, synchronised
// through stdin/stdout lines (harness.ts): TCP and UDP in both roles, timeouts, non-blocking calls, MSG_PEEK
// and MSG_DONTWAIT; the console (sys.stdin, input(), select on stdin), sys.argv and the exit status; a
// package beside the script and tracebacks that show only the user's frames; --fs as the board's flash
// (boot.py then main.py, files kept on the host, nothing outside reachable); wrong arguments to every
// usocket/select/network call raising exceptions while the board keeps serving; SIGUSR1 and the summary line.

import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { canRunTapTests } from "../helpers/env.js";
import { runAsync } from "../helpers/board.js";
import { ROOT } from "../helpers/walnutProcess.js";
import { BoardLab, PROGRAMS } from "./harness.js";

const tap = canRunTapTests("multi.test.ts", ["python3"]);
const labs: BoardLab[] = [];
const temps: string[] = [];

function lab(subnet: string): BoardLab {
  const l = new BoardLab(subnet);
  labs.push(l);
  return l;
}

afterEach(async () => {
  for (const l of labs.splice(0)) await l.close();
  for (const t of temps.splice(0)) rmSync(t, { recursive: true, force: true });
});

describe.runIf(tap)("board programs against CPython peers (walnut run, real TAP)", () => {
  beforeAll(async () => {
    // walnut run is the compiled CLI: build the current source first.
    const r = await runAsync(["npx", "tsc", "-p", "tsconfig.build.json"], { timeoutMs: 90_000, cwd: ROOT });
    if (r.code !== 0) throw new Error(`build failed:\n${r.stdout}${r.stderr}`);
  }, 120_000);

  it("TCP server on the board: accept timeout and non-blocking, MSG_DONTWAIT, MSG_PEEK, EOF, a console line to a client", async () => {
    const l = lab("10.71.1");
    const { board, peer } = l.pair("tcp_server_board.py", "tcp_client_peer.py");
    expect(await board.nextLines(4)).toEqual([
      "accept timeout ETIMEDOUT",
      "accept non-blocking EAGAIN",
      "accepted from the kernel side True",
      "dontwait on nothing EAGAIN",
    ]);
    expect(await board.next()).toBe("peek b'hello' then b'hello board'");
    expect(await peer.next()).toBe("peer got HELLO BOARD");
    expect(await board.next()).toBe("eof b''");
    board.send("typed on the console");
    expect(await peer.next()).toBe("peer line typed on the console");
    expect(await board.next()).toBe("line? done");
    expect((await board.finish()).code).toBe(0);
    expect((await peer.finish()).code).toBe(0);
  });

  it("TCP client on the board: a silent peer times out, then readline, read(n), readinto, read() to EOF", async () => {
    const l = lab("10.71.2");
    const { board, peer } = l.pair("tcp_client_board.py", "tcp_server_peer.py");
    expect(await board.nextLines(5)).toEqual([
      "silent peer ETIMEDOUT",
      "readline b'first line\\n'",
      "read b'abcd'",
      "readinto 8 b'EIGHTBYT'",
      "rest b'bye'",
    ]);
    expect(await peer.next()).toBe("peer got thanks");
    expect((await board.finish()).code).toBe(0);
    expect((await peer.finish()).code).toBe(0);
  });

  it("UDP on the board in both roles: recvfrom timeout, MSG_PEEK, replies to the sender's address", async () => {
    const l = lab("10.71.3");
    const { board, peer } = l.pair("udp_board.py", "udp_peer.py");
    expect(await board.nextLines(2)).toEqual(["no datagram yet ETIMEDOUT", "server got b'ping' peeked b'ping' from the kernel side True"]);
    expect(await peer.next()).toBe("peer got pong:ping");
    expect(await board.next()).toBe("client got b'hello, i am server' 7301");
    expect(await peer.next()).toBe("peer server got hello, i am client from True");
    expect((await board.finish()).code).toBe(0);
  });

  it("the console: sys.argv, select on sys.stdin, readline, read(n), input(), end of input, sys.exit(n) as the exit status", async () => {
    const l = lab("10.71.4");
    const board = l.board("console_exit.py", ["3", "extra arg"]);
    expect(await board.nextLines(2)).toEqual(["argv ['3', 'extra arg']", "nothing typed yet []"]);
    await waitForSync(board, "SYNC type");
    board.send("first line");
    board.send("abcdef");
    board.endInput();
    expect(await board.nextLines(6)).toEqual([
      "stdin ready True",
      "readline 'first line\\n'",
      "read 'abc'",
      "input 'def'",
      "at the end ''",
      "more? EOFError",
    ]);
    expect((await board.finish()).code).toBe(3);
  });

  it("socket calls allocate little in a heap collected only at the top level, and a script at the memory limit exits 1 with the reason", async () => {
    const l = lab("10.71.30");
    const { board, peer } = l.pair("memory_board.py", "memory_peer.py");
    expect(await peer.next()).toBe("peer sent 8388608");
    expect(await board.next()).toBe("recv got 4194304 allocated per byte at most 1.1: True");
    expect(await board.next()).toBe("readinto got 4194304 allocated under 64 KiB: True");
    expect(await peer.next()).toBe("peer got b''");
    // Then the script allocates 4 KiB at a time until the interpreter's 2 GiB are used up (~10 s here),
    // and the board ends it 5 s after the build reports the limit if it has not ended by itself.
    const r = await board.finish(60_000);
    expect(r.code).toBe(1);
    const err = board.stderr.join("\n");
    expect(err).toContain("MemoryError");
    expect(err).toContain("2 GiB limit");
  }, 120_000);

  it("reads from the inbox: local timeouts, poll woken by moved bytes, a bulk transfer in order through every read method, unread bytes reset at close, UDP's queue of 4 and replies to each sender; posted sends in a row keep their order", async () => {
    const l = lab("10.71.31");
    const { board, peer } = l.pair("inbox_board.py", "inbox_peer.py");
    expect(await board.nextLines(5)).toEqual(["first b'hello'", "empty inbox ETIMEDOUT", "non-blocking EAGAIN", "dontwait EAGAIN", "poll readable True b'x'"]);
    expect(await board.next()).toBe("bulk in order True 720000");
    expect(await peer.next()).toBe("peer reset True");
    expect(await peer.next()).toBe("peer a got b'a0'");
    expect(await board.next()).toBe("burst kept 4 EAGAIN");
    expect(await board.next()).toBe("udp stream methods on nothing None None None");
    expect(await peer.next()).toBe("peer replies b're:from a' b're:from b'");
    expect(await peer.next()).toBe("peer out in order True");
    expect((await board.finish()).code).toBe(0);
    expect((await peer.finish()).code).toBe(0);
  }, 60_000);

  it("a package beside the script imports; the traceback names the user's files, not the board's modules", async () => {
    const l = lab("10.71.5");
    const board = l.board(join("withpkg", "main.py"));
    expect(await board.next()).toBe("gadgets 1.2 12");
    const r = await board.finish();
    expect(r.code).toBe(1);
    const tb = board.stderr.join("\n");
    expect(tb).toContain(`File "${join(PROGRAMS, "withpkg", "main.py")}", line 7, in <module>`);
    expect(tb).toContain(`File "${join(PROGRAMS, "withpkg", "gadgets", "__init__.py")}", line 9, in fail_in_library`);
    expect(tb).toContain("TypeError: can't convert str to int");
    expect(tb).not.toContain("/lib/usocket.py");
    expect(tb).not.toContain("_walnutboot");
  });

  it("--fs DIR is the board's flash: boot.py then main.py, /lib importable, files kept on the host, nothing outside reachable", async () => {
    const dir = mkdtempSync(join(tmpdir(), "walnut-flash-"));
    temps.push(dir);
    cpSync(join(PROGRAMS, "flash"), dir, { recursive: true });
    symlinkSync("/etc", join(dir, "escape"));
    const l = lab("10.71.6");
    const board = l.board(null, [], ["--fs", dir]);
    expect(await board.nextLines(10)).toEqual([
      "boot: cwd /",
      "main: after boot True helper 42",
      "data from the host",
      "listdir ['boot.py', 'data.txt', 'junk.txt', 'lib', 'logs', 'main.py', 'out.txt']",
      "stat size 10",
      "removed True",
      "missing True",
      "exists True",
      "above root is root True",
      "symlink out refused EACCES",
    ]);
    expect((await board.finish()).code).toBe(0);
    expect(readFileSync(join(dir, "out.txt"), "utf8")).toBe("written on the board\n");
    expect(readFileSync(join(dir, "logs", "a.log"), "utf8")).toBe("x".repeat(10));
    expect(existsSync(join(dir, "junk.txt"))).toBe(false);
  });

  it("wrong arguments to every usocket, select and network call raise exceptions, and the board still serves", async () => {
    const l = lab("10.71.7");
    const { board, peer } = l.pair("badcalls.py", "badcalls_peer.py");
    const expected = readFileSync(join(PROGRAMS, "badcalls.out"), "utf8").trimEnd().split("\n");
    expect(await board.nextLines(expected.length)).toEqual(expected);
    expect(await peer.next()).toBe("peer got alive?");
    expect(await board.next()).toBe("still serving b'alive?'");
    expect((await board.finish()).code).toBe(0);
  });
});

describe.runIf(tap)("lwIP-exact edge cases and raw ping (docs/usocket.md)", () => {
  it("poll flags 20 for a new socket, 25 then 17 through a peer's reset, data before the reset first, SO_LINGER 0, getaddrinfo bytes/localhost", async () => {
    const l = lab("10.71.11");
    const { board, peer } = l.pair("edges_board.py", "edges_peer.py");
    expect(await board.nextLines(3)).toEqual(["new socket 20", "localhost ('127.0.0.1', 80)", "bytes host True"]);
    expect(await board.nextLines(5)).toEqual(["after reset 25", "data first b'before reset\\n'", "then ECONNRESET", "reported 17", "later b''"]);
    expect(await peer.next()).toBe("peer saw reset");
    expect((await board.finish()).code).toBe(0);
    expect((await peer.finish()).code).toBe(0);
  });

  it("bytes read ahead of recv keep their order through MSG_PEEK, readline, read, readinto and recvfrom; poll sees them; closing with some unread resets", async () => {
    const l = lab("10.71.13");
    const { board, peer } = l.pair("readahead_board.py", "readahead_peer.py");
    expect(await board.nextLines(8)).toEqual([
      "recv b'012'",
      "still readable True",
      "peek b'34'",
      "readline b'3456789\\n'",
      "read b'abcd'",
      "readinto 3 b'efg'",
      "recvfrom b'hij' True",
      "recv b'\\n' b'KL'",
    ]);
    expect(await peer.next()).toBe("peer saw reset");
    expect((await board.finish()).code).toBe(0);
    expect((await peer.finish()).code).toBe(0);
  });

  it("a ping module: uctypes echo requests on a connected SOCK_RAW socket, replies awaited with select.poll and parsed with uctypes", async () => {
    const l = lab("10.71.12");
    const board = l.board("ping_board.py", [l.kernelIp]);
    const reply = (seq: number): string => `reply seq ${seq} from True ttl 64 proto 1 payload ok True fast True`;
    expect(await board.nextLines(4)).toEqual([reply(1), reply(2), reply(3), "received 3 of 3"]);
    expect((await board.finish()).code).toBe(0);
  });
});

describe.runIf(tap)("the bridge's watches (WALNUT_BRIDGE_SPIN_US, WALNUT_BRIDGE_MAIN_SPIN_US)", () => {
  it("with both watches on, requests claimed without a doorbell give the same answers: the raw ping and the read-ahead programs", async () => {
    const saved = { w: process.env.WALNUT_BRIDGE_SPIN_US, m: process.env.WALNUT_BRIDGE_MAIN_SPIN_US };
    process.env.WALNUT_BRIDGE_SPIN_US = "200";
    process.env.WALNUT_BRIDGE_MAIN_SPIN_US = "100";
    try {
      // Spawned now, the children inherit the variables; each board in a namespace of its own.
      const pingLab = lab("10.71.16");
      const ping = pingLab.board("ping_board.py", [pingLab.kernelIp]);
      const pair = lab("10.71.17").pair("readahead_board.py", "readahead_peer.py");
      expect((await ping.nextLines(4))[3]).toBe("received 3 of 3");
      expect(await pair.board.nextLines(8)).toEqual([
        "recv b'012'",
        "still readable True",
        "peek b'34'",
        "readline b'3456789\\n'",
        "read b'abcd'",
        "readinto 3 b'efg'",
        "recvfrom b'hij' True",
        "recv b'\\n' b'KL'",
      ]);
      expect(await pair.peer.next()).toBe("peer saw reset");
      expect((await ping.finish()).code).toBe(0);
      expect((await pair.board.finish()).code).toBe(0);
    } finally {
      for (const [k, v] of [["WALNUT_BRIDGE_SPIN_US", saved.w], ["WALNUT_BRIDGE_MAIN_SPIN_US", saved.m]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});

describe.runIf(tap)("boards started at the same moment", () => {
  it("each gets a TAP of its own: four walnut run started together, each in its namespace, all come up and end cleanly", async () => {
    // The TAP name is picked from walnut%d before the open: boards racing for the same number must not fail.
    const labs4 = ["10.71.18", "10.71.19", "10.71.20", "10.71.21"].map((s) => lab(s));
    const boards = labs4.map((l) => l.board("address_board.py"));
    for (const [i, b] of boards.entries()) expect(await b.next()).toBe(`up ${labs4[i]?.boardIp}`);
    for (const b of boards) expect((await b.finish()).code).toBe(0);
  });
});

describe.runIf(tap)("what walnut run serves beside the script", () => {
  it("no built-in services unless --services: a script binds port 7 as on a board; with --services echo 7 is taken", async () => {
    const l = lab("10.71.14");
    const plain = l.board("port7_board.py");
    expect(await plain.next()).toBe("bound 7");
    expect((await plain.finish()).code).toBe(0);
    const served = l.board("port7_board.py", [], ["--services"]);
    expect(await served.next()).toBe("port 7 errno 98");
    expect((await served.finish()).code).toBe(0);
  });
});

describe.runIf(tap)("network.WLAN against a configured access point", () => {
  it("--wifi SSID:KEY: scan() finds it, another SSID is STAT_NO_AP_FOUND, a wrong key STAT_WRONG_PASSWORD, the pair connects", async () => {
    const l = lab("10.71.15");
    const board = l.board("wifi_board.py", [], ["--wifi", "lab:secret"]);
    expect(await board.nextLines(4)).toEqual(["scan [(b'lab', 6)]", "other ssid True False", "wrong key True False", "right pair True True"]);
    expect((await board.finish()).code).toBe(0);
  });
});

describe.runIf(tap)("machine on the board", () => {
  it("unique_id, freq, soft Timers firing during a blocking call, a Pin logged with --trace-pins, and reset() starting the script again", async () => {
    const l = lab("10.71.10");
    const board = l.board("machine_board.py", [], ["--trace-pins"]);
    const run = ["unique_id is the MAC True", "freq 160000000"];
    const checks = ["ticks while blocked in recvfrom True one-shot fired once [1]", "deinit stops it True pin value True"];
    expect(await board.nextLines(6)).toEqual([...run, "reset cause power-on", ...checks, "resetting"]);
    expect(await board.nextLines(6)).toEqual([...run, "reset cause soft reset", ...checks, "after the reset"]);
    expect((await board.finish()).code).toBe(0);
    const err = board.stderr.join("\n");
    expect(err).toContain("MPY: soft reboot");
    // A toggle every 50 ms over about 0.8 s, in each of the two runs.
    const changes = board.stderr.filter((line) => /^walnut: pin 2 = [01] at \d+\.\d{3} s$/.test(line));
    expect(changes.length).toBeGreaterThanOrEqual(20);
  });
});

describe.runIf(tap)("walnut run's own signals and lines", () => {
  it("prints the board summary on stderr only with --verbose when piped; SIGUSR1 prints the snapshot and never opens the inspector; Ctrl-C ends a pure-Python loop", async () => {
    const l = lab("10.71.8");
    const quiet = l.board("console_exit.py", ["0"]);
    quiet.endInput();
    await quiet.finish();
    expect(quiet.stderr.join("\n")).not.toContain("board up:");
    const board = l.board("busy.py", [], ["--verbose"]);
    await waitForSync(board, "SYNC busy");
    expect(board.stderr.join("\n")).toContain(`board up: ip ${l.boardIp}/24`);
    board.signal("SIGUSR1");
    const deadline = Date.now() + 5000;
    while (!board.stderr.some((line) => line.includes("*:7500")) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(board.stderr.join("\n")).toContain("UDP:");
    expect(board.stderr.join("\n")).toContain("*:7500");
    const inspector = await runAsync(["ss", "-Hltn", "sport = :9229"], { timeoutMs: 5000 });
    expect(inspector.stdout.trim()).toBe("");
    const startedMs = Date.now();
    board.signal("SIGINT");
    const r = await board.finish(10_000);
    expect(Date.now() - startedMs).toBeLessThan(5000);
    expect(r.code).toBe(1);
    expect(board.stderr.join("\n")).toContain("KeyboardInterrupt");
  });
});

/** Waits until `i` printed the SYNC line `line` (SYNC lines are not returned by next()). */
async function waitForSync(i: { lines: string[] }, line: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!i.lines.includes(line)) {
    if (Date.now() > deadline) throw new Error(`no '${line}' within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
