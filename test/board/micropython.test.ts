// MicroPython scripts on a board without a TAP: two stacks on a MemLink with the real clock (the worker
// blocks in real time); the script's stack is the board, the other stack plays the peer through the
// TypeScript usocket API. Covers the bridge (import usocket, UDP and TCP exchanges, OSError errnos,
// tracebacks, time.sleep, select, network.WLAN, input()).

import { afterEach, describe, expect, it } from "vitest";
import { RealClock } from "../../src/core/clock.js";
import { Scheduler } from "../../src/core/scheduler.js";
import { memLinkPair } from "../../src/link/memlink.js";
import { Stack } from "../../src/stack/stack.js";
import { parseIpv4, parseMac } from "../../src/core/addr.js";
import { SOCK_DGRAM, SOCK_STREAM, SO_LINGER, SOL_SOCKET, usocketFor } from "../../src/usocket/index.js";
import { LineConsole, runScript, type ScriptOptions, type ScriptResult } from "../../src/board/micropython/runtime.js";

interface Pair {
  board: Stack;
  peer: Stack;
  stop(): void;
}

function pair(): Pair {
  const scheduler = new Scheduler(new RealClock());
  const [wa, wb] = memLinkPair(scheduler, { latencyMs: 0.05, mtu: 1500 });
  const base = { netmask: 0xffffff00, gateway: 0, mtu: 1500 };
  const board = new Stack(wa, { ...base, mac: parseMac("02:00:00:00:00:01"), ip: parseIpv4("10.0.0.1") }, scheduler);
  const peer = new Stack(wb, { ...base, mac: parseMac("02:00:00:00:00:02"), ip: parseIpv4("10.0.0.2") }, scheduler);
  board.start();
  peer.start();
  return {
    board,
    peer,
    stop(): void {
      board.stop();
      peer.stop();
      scheduler.stopHostTimer();
    },
  };
}

let current: Pair | null = null;
afterEach(() => {
  current?.stop();
  current = null;
});

async function run(p: Pair, source: string, options: ScriptOptions = {}): Promise<ScriptResult & { out: string }> {
  let out = "";
  const r = await runScript({ stack: p.board }, source, { stdout: (t) => (out += t), stderr: (t) => (out += t), ...options });
  const res = await r.done;
  return { ...res, out };
}

describe("MicroPython on the board (MemLink)", () => {
  it("runs a UDP client against the other stack (import usocket)", async () => {
    const p = (current = pair());
    const us = usocketFor(p.peer);
    const srv = us.socket(2, SOCK_DGRAM);
    srv.bind(["0.0.0.0", 5000]);
    const served = (async () => {
      for (let i = 0; i < 3; i++) {
        const [d, addr] = await srv.recvfrom(1024);
        await srv.sendto(`echo:${new TextDecoder().decode(d)}`, addr);
      }
    })();
    const r = await run(
      p,
      `import usocket as socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(3):
    s.sendto('hello %d' % i, ('10.0.0.2', 5000))
    data, addr = s.recvfrom(1024)
    print(data.decode(), addr)
s.close()
`,
    );
    await served;
    srv.close();
    expect(r.traceback).toBeNull();
    expect(r.ok).toBe(true);
    expect(r.out).toBe("echo:hello 0 ('10.0.0.2', 5000)\necho:hello 1 ('10.0.0.2', 5000)\necho:hello 2 ('10.0.0.2', 5000)\n");
  });

  it("runs a TCP client, and a refused connect raises OSError 104 (finally blocks run)", async () => {
    const p = (current = pair());
    const us = usocketFor(p.peer);
    const lst = us.socket(2, SOCK_STREAM);
    lst.bind(["0.0.0.0", 7000]);
    lst.listen();
    const served = (async () => {
      const [conn] = await lst.accept();
      const line = await conn.readline();
      await conn.sendall(`got ${new TextDecoder().decode(line ?? new Uint8Array())}`);
      conn.close();
    })();
    const r = await run(
      p,
      `import socket, errno
s = socket.socket()
s.connect(socket.getaddrinfo('10.0.0.2', 7000)[0][-1])
s.sendall(b'ping\\n')
print(s.read())
s.close()
c = socket.socket()
try:
    c.connect(('10.0.0.2', 7001))
except OSError as e:
    print('errno', e.args[0], errno.errorcode[e.args[0]])
finally:
    c.close()
    print('closed')
s2 = socket.socket()
s2.connect(('10.0.0.2', 7002))
`,
    );
    await served;
    lst.close();
    expect(r.ok).toBe(false);
    expect(r.out).toBe("b'got ping\\n'\nerrno 104 ECONNRESET\nclosed\n");
    expect(r.traceback).toContain("OSError: [Errno 104] ECONNRESET");
    expect(r.traceback).toContain("line 16");
  });

  it("time.sleep blocks without spinning; timeouts, select and network.WLAN work; input() reads lines", async () => {
    const p = (current = pair());
    const console = new LineConsole();
    console.push("first");
    console.end();
    const r = await run(
      p,
      `import time, network, select, socket
wl = network.WLAN(network.STA_IF); wl.active(1); wl.connect('ssid', 'pw', security=network.AUTH_PSK)
print(wl.isconnected(), wl.ifconfig(), wl.config(), len(wl.config('mac')), wl.status() == network.STAT_GOT_IP)
t = time.ticks_ms(); time.sleep(0.2); dt = time.ticks_diff(time.ticks_ms(), t)
print(180 <= dt < 1000)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('0.0.0.0', 6000)); u.settimeout(0.1)
try:
    u.recvfrom(10)
except OSError as e:
    print('timeout', e.args[0])
print(select.select([u], [], [], 0.05))
p = select.poll(); p.register(u, select.POLLOUT); print(p.poll(0) == [(u, select.POLLOUT)])
print(input('> '))
try:
    input()
except EOFError:
    print('eof')
`,
      { console },
    );
    expect(r.traceback).toBeNull();
    expect(r.out).toBe(
      "True ('10.0.0.1', '255.255.255.0', '0.0.0.0', '0.0.0.0') 10.0.0.1 6 True\nTrue\ntimeout 110\n([], [], [])\nTrue\n> first\neof\n",
    );
  });

  it("Ctrl-C interrupts a blocked call (KeyboardInterrupt, finally runs); terminate frees the script's sockets", async () => {
    const p = (current = pair());
    let out = "";
    const source = `import socket
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(('0.0.0.0', 6001))
print('waiting')
try:
    u.recvfrom(10)
finally:
    print('finally')
    u.close()
`;
    const r1 = await runScript({ stack: p.board }, source, { stdout: (t) => (out += t) });
    await waitUntil(() => out.includes("waiting"));
    r1.interrupt();
    const res1 = await r1.done;
    expect(out).toBe("waiting\nfinally\n");
    expect(res1.ok).toBe(false);
    expect(res1.traceback).toContain("KeyboardInterrupt");

    out = "";
    const r2 = await runScript({ stack: p.board }, source.replace("finally:\n    print('finally')", "finally:\n    pass"), { stdout: (t) => (out += t) });
    await waitUntil(() => out.includes("waiting"));
    await r2.terminate();
    // The port the dead script held is free again.
    const u = usocketFor(p.board).socket(2, SOCK_DGRAM);
    expect(() => u.bind(["0.0.0.0", 6001])).not.toThrow();
    u.close();
  });

  it("posted calls: sends that fit go in order without a round trip, a reset meanwhile is the next send's error, a UDP reply to recvfrom's address and a close are posted", async () => {
    const p = (current = pair());
    const us = usocketFor(p.peer);
    const lst = us.socket(2, SOCK_STREAM);
    lst.bind(["0.0.0.0", 7000]);
    lst.listen();
    let got = "";
    const served = (async () => {
      const [conn] = await lst.accept();
      got = new TextDecoder().decode((await conn.readline()) ?? new Uint8Array());
      await conn.sendall("ok");
      // An abortive close: the board's stack gets a RST while the script sleeps.
      conn.setsockopt(SOL_SOCKET, SO_LINGER, new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]));
      conn.close();
    })();
    const udp = us.socket(2, SOCK_DGRAM);
    udp.bind(["0.0.0.0", 6002]);
    let replies: string[] = [];
    const udpPeer = (async () => {
      // After the script's 0.3 s sleep, when it has bound port 6001.
      await served;
      await new Promise((r) => setTimeout(r, 700));
      for (const m of ["one", "two"]) await udp.sendto(m, ["10.0.0.1", 6001]);
      replies = [];
      for (let i = 0; i < 2; i++) replies.push(new TextDecoder().decode((await udp.recvfrom(100))[0]));
    })();
    const r = await run(
      p,
      `import socket, time
s = socket.socket()
s.connect(('10.0.0.2', 7000))
print(sum(s.send(('%02d,' % i).encode()) for i in range(50)), s.write(b'end\\n'))
print(s.recv(10))
time.sleep(0.3)
try:
    s.send(b'x')
    print('sent')
except OSError as e:
    print('errno', e.args[0])
s.close()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(('0.0.0.0', 6001))
d1, a1 = u.recvfrom(100)
print(u.sendto(d1.upper(), a1))
d2, a2 = u.recvfrom(100)
print(a1 is a2, a2, u.sendto(d2.upper(), a2))
u.close()
`,
    );
    await served;
    await udpPeer;
    lst.close();
    udp.close();
    expect(r.traceback).toBeNull();
    expect(got).toBe(`${Array.from({ length: 50 }, (_, i) => `${String(i).padStart(2, "0")},`).join("")}end\n`);
    expect(r.out).toBe("150 4\nb'ok'\nerrno 104\n3\nTrue ('10.0.0.2', 6002) 3\n");
    expect(replies).toEqual(["ONE", "TWO"]);
  });
});

async function waitUntil(cond: () => boolean): Promise<void> {
  const end = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
}
