// UDP and IGMP against the Linux kernel: Debian's python in a namespace this file creates talks to a board on
// a real TAP — the board's UDP echo (port 7) for sizes up to 65 507 bytes (fragmented both ways), the board
// through the PCB API against a kernel echo server, a subnet broadcast from the kernel, ECONNREFUSED on a
// connected kernel socket sending to a closed board port, and kernel multicast (TTL 1) reaching a board PCB
// only between igmp.join and igmp.leave, with the board's IGMP report and leave seen by tcpdump on the
// kernel side. Traffic stays inside 10.66.17.0/24 (and 239.66.17.1 on that link) in that namespace.

import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Err } from "../../src/core/errors.js";
import { formatIpv4, parseIpv4 } from "../../src/core/addr.js";
import { IpProto } from "../../src/ip/ipv4.js";
import type { UdpPcb } from "../../src/udp/udp.js";
import { canRunTapTests } from "../helpers/env.js";
import { runInNetns, startTestBoard, waitFor, type RunResult, type TestBoard } from "../helpers/board.js";

const run = canRunTapTests("udp.test.ts", ["tcpdump"]);

/** Debian's interpreter (the pyenv one on PATH is not guaranteed inside `ip netns exec`). */
const PYTHON = "/usr/bin/python3";
const SUBNET = "10.66.17";
const GROUP = "239.66.17.1";

// ---- kernel-side programs (python, run inside the namespace) ----

/** Sends one datagram of `size` seeded bytes to host:port on a connected socket, expects it echoed. */
const ECHO_CLIENT = `
import json, random, socket, sys, time
host, port, size, timeout = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
data = random.Random(size).randbytes(size)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect((host, port))
s.settimeout(1.0)
end = time.time() + timeout
tries = 0
while time.time() < end:
    tries += 1
    s.send(data)
    try:
        got = s.recv(70000)
    except socket.timeout:
        continue
    print(json.dumps({"ok": got == data, "len": len(got), "tries": tries}))
    sys.exit(0)
print(json.dumps({"ok": False, "len": -1, "tries": tries}))
sys.exit(1)
`;

/** Echoes every datagram on host:port until it gets b"bye" or times out; prints "ready" once bound. */
const ECHO_SERVER = `
import json, socket, sys, time
host, port, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
s.bind((host, port))
s.settimeout(0.2)
print("ready", flush=True)
end = time.time() + timeout
n = 0
while time.time() < end:
    try:
        data, addr = s.recvfrom(70000)
    except socket.timeout:
        continue
    if data == b"bye":
        break
    s.sendto(data, addr)
    n += 1
print(json.dumps({"echoed": n}))
`;

/** Sends \`count\` datagrams "<tag> i" to addr:port, \`gapS\` apart; mode "bcast" sets SO_BROADCAST, "mcast"
 * sets IP_MULTICAST_IF to \`ifaddr\` and IP_MULTICAST_TTL 1. */
const SENDER = `
import socket, sys, time
mode, addr, port, count, gap, tag, ifaddr = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), sys.argv[6], sys.argv[7]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
if mode == "bcast":
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
if mode == "mcast":
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(ifaddr))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
for i in range(count):
    s.sendto(("%s %d" % (tag, i)).encode(), (addr, port))
    time.sleep(gap)
print("sent", count)
`;

/** Sends to a closed port on a connected socket until the ICMP error surfaces as ECONNREFUSED. */
const REFUSED = `
import json, socket, sys
host, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect((host, port))
s.settimeout(1.0)
for i in range(3):
    s.send(b"anyone there?")
    try:
        s.recv(100)
    except ConnectionRefusedError:
        print(json.dumps({"refused": True, "tries": i + 1}))
        sys.exit(0)
    except socket.timeout:
        pass
print(json.dumps({"refused": False}))
`;

function lastJson<T>(r: RunResult, what: string): T {
  const line = r.stdout.trim().split("\n").filter((l) => l.startsWith("{")).at(-1);
  if (line === undefined) throw new Error(`${what}: no JSON (code ${r.code}, timedOut ${r.timedOut}):\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(line) as T;
}

/** A program in the namespace that keeps running while the test goes on; `stop()` kills only this child. */
interface Background {
  output(): string;
  done: Promise<RunResult>;
  stop(): void;
}

function background(ns: string, argv: readonly string[], timeoutMs: number): Background {
  const child = spawn("ip", ["netns", "exec", ns, ...argv], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, timeoutMs);
  const done = new Promise<RunResult>((resolve) => {
    child.on("error", (err) => {
      clearTimeout(timer);
      resolve({ code: 127, signal: null, stdout, stderr: stderr + err.message, timedOut });
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
  return {
    output: () => stdout + stderr,
    done,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    },
  };
}

describe.runIf(run)("UDP and IGMP against the Linux kernel", () => {
  let tb: TestBoard | null = null;
  const pcbs: UdpPcb[] = [];

  beforeAll(() => {
    tb = startTestBoard("wud", SUBNET);
  });

  afterAll(() => {
    const b = tb;
    tb = null;
    if (b !== null) {
      for (const pcb of pcbs.splice(0)) b.board.stack.udp.close(pcb);
      expect(b.board.stack.igmp.joinedGroups()).toEqual([]);
    }
    b?.stop();
    // Quiescence (docs/architecture.md "Tests"): once stopped, the board has nothing armed.
    if (b !== null) expect(b.board.scheduler.armedLabels()).toEqual([]);
  });

  function board(): TestBoard {
    if (tb === null) throw new Error("board did not start");
    return tb;
  }

  function openPcb(port: number, queue = 16): UdpPcb {
    const udp = board().board.stack.udp;
    const pcb = udp.open({ maxQueuedDatagrams: queue, maxQueuedBytes: 512 * 1024 });
    pcbs.push(pcb);
    expect(udp.bind(pcb, 0, port)).toBe(Err.OK);
    return pcb;
  }

  function drainText(pcb: UdpPcb): { text: string; src: string; dst: string }[] {
    const udp = board().board.stack.udp;
    const out: { text: string; src: string; dst: string }[] = [];
    const buf = new Uint8Array(2048);
    while (!pcb.queue.isEmpty) {
      const src = formatIpv4(pcb.queue.nextSrcIp);
      const dst = formatIpv4(pcb.queue.nextDstIp);
      const n = udp.receive(pcb, buf, 0, buf.length);
      out.push({ text: new TextDecoder().decode(buf.subarray(0, n)), src, dst });
    }
    return out;
  }

  it.each([1, 1472, 8000, 65000, 65507])("the kernel's %i-byte datagram comes back from the board's echo (RFC 862)", async (size) => {
    const b = board();
    const before = b.board.stack.udp.stats.txDatagrams;
    const r = await runInNetns(b.ns, [PYTHON, "-c", ECHO_CLIENT, b.boardIp, "7", String(size), "8"], 15_000);
    const res = lastJson<{ ok: boolean; len: number; tries: number }>(r, "echo client");
    expect(res).toMatchObject({ ok: true, len: size });
    // The first datagram may wait for ARP on the kernel side, never longer than one retry.
    expect(res.tries).toBeLessThanOrEqual(2);
    expect(b.board.stack.udp.stats.txDatagrams - before).toBe(res.tries);
  });

  it("the board, through the PCB API, gets its datagrams back from a kernel echo server", async () => {
    const b = board();
    const udp = b.board.stack.udp;
    const server = background(b.ns, [PYTHON, "-u", "-c", ECHO_SERVER, b.kernelIp, "9007", "20"], 25_000);
    try {
      await waitFor(() => server.output().includes("ready"), 5000, "the kernel echo server");
      const pcb = openPcb(0);
      const kernel = parseIpv4(b.kernelIp);
      for (const size of [1, 1472, 8000, 65000, 65507]) {
        const data = Uint8Array.from({ length: size }, (_, i) => (i * 7 + size) & 0xff);
        let attempts = 0;
        while (pcb.queue.isEmpty && attempts < 3) {
          attempts++;
          expect(udp.sendTo(pcb, data, 0, size, kernel, 9007)).toBe(Err.OK);
          await waitFor(() => !pcb.queue.isEmpty, 2000, `echo of ${size} bytes`).catch(() => undefined);
        }
        expect(attempts, `attempts for ${size} bytes`).toBeLessThanOrEqual(2);
        expect(pcb.queue.nextSrcIp).toBe(kernel);
        expect(pcb.queue.nextSrcPort).toBe(9007);
        const buf = new Uint8Array(70000);
        const n = udp.receive(pcb, buf, 0, buf.length);
        expect(n).toBe(size);
        expect(buf.subarray(0, n)).toEqual(data);
        // A duplicate from a retry, if any, is dropped before the next size.
        await new Promise((r) => setTimeout(r, 20));
        while (udp.receive(pcb, buf, 0, 0) >= 0) {
          /* discard */
        }
      }
      const bye = new TextEncoder().encode("bye");
      udp.sendTo(pcb, bye, 0, bye.length, kernel, 9007);
      const r = await server.done;
      expect(lastJson<{ echoed: number }>(r, "echo server").echoed).toBeGreaterThanOrEqual(5);
    } finally {
      server.stop();
    }
  });

  it("a kernel broadcast to the subnet's broadcast address reaches a board PCB bound to the port", async () => {
    const b = board();
    const pcb = openPcb(5100);
    const bcast = `${SUBNET}.255`;
    const r = await runInNetns(b.ns, [PYTHON, "-c", SENDER, "bcast", bcast, "5100", "5", "0.05", "bcast", "0"], 10_000);
    expect(r.code).toBe(0);
    await waitFor(() => pcb.queue.length >= 5, 2000, "5 broadcasts");
    const got = drainText(pcb);
    expect(got.map((g) => g.text)).toEqual(["bcast 0", "bcast 1", "bcast 2", "bcast 3", "bcast 4"]);
    expect(got.every((g) => g.src === b.kernelIp && g.dst === bcast)).toBe(true);
  });

  it("a connected kernel socket sending to a closed board port gets ECONNREFUSED (ICMP port unreachable)", async () => {
    const b = board();
    const before = b.board.stack.icmp.stats.txUnreachable;
    const r = await runInNetns(b.ns, [PYTHON, "-c", REFUSED, b.boardIp, "5999"], 10_000);
    expect(lastJson<{ refused: boolean; tries: number }>(r, "refused")).toMatchObject({ refused: true });
    expect(b.board.stack.icmp.stats.txUnreachable - before).toBeGreaterThanOrEqual(1);
  });

  it("kernel multicast (TTL 1) reaches a board PCB only between igmp.join and igmp.leave; tcpdump sees the report and the leave", async () => {
    const b = board();
    const stack = b.board.stack;
    const pcb = openPcb(5200);
    const raw = stack.raw.open(IpProto.UDP, { maxQueuedDatagrams: 16 });
    const group = parseIpv4(GROUP);
    const send = (tag: string): Promise<RunResult> =>
      runInNetns(b.ns, [PYTHON, "-c", SENDER, "mcast", GROUP, "5200", "3", "0.05", tag, b.kernelIp], 10_000);
    const dump = background(b.ns, ["tcpdump", "-i", b.tap, "-n", "-l", "-v", "igmp"], 30_000);
    try {
      await waitFor(() => dump.output().includes("listening on"), 5000, "tcpdump to start");

      // Not joined: the board's netif drops the group's Ethernet address.
      const dropsBefore = stack.netif.stats.dropNotForUs;
      expect((await send("before")).code).toBe(0);
      await new Promise((r) => setTimeout(r, 200));
      expect(drainText(pcb)).toEqual([]);
      expect(stack.netif.stats.dropNotForUs - dropsBefore).toBeGreaterThanOrEqual(3);

      expect(stack.igmp.join(group)).toBe(Err.OK);
      expect((await send("joined")).code).toBe(0);
      await waitFor(() => pcb.queue.length >= 3, 2000, "3 multicast datagrams");
      const got = drainText(pcb);
      expect(got.map((g) => g.text)).toEqual(["joined 0", "joined 1", "joined 2"]);
      expect(got.every((g) => g.src === b.kernelIp && g.dst === GROUP)).toBe(true);
      // The kernel sent them with TTL 1, as asked (byte 8 of the IP header the raw PCB sees).
      const buf = new Uint8Array(100);
      expect(stack.raw.receive(raw, buf, 0, buf.length)).toBeGreaterThan(20);
      expect(buf[8]).toBe(1);

      expect(stack.igmp.leave(group)).toBe(Err.OK);
      expect((await send("left")).code).toBe(0);
      await new Promise((r) => setTimeout(r, 200));
      expect(drainText(pcb)).toEqual([]);

      await waitFor(() => dump.output().includes(`igmp leave ${GROUP}`), 3000, "tcpdump to show the leave");
      const text = dump.output();
      expect(text).toContain(`${b.boardIp} > ${GROUP}: igmp v2 report ${GROUP}`);
      expect(text).toContain(`${b.boardIp} > 224.0.0.2: igmp leave ${GROUP}`);
      expect(text).toMatch(/ttl 1,.*proto IGMP/);
    } finally {
      dump.stop();
      await dump.done;
      stack.raw.close(raw);
    }
  });
});
