// The board as a TCP client of the Linux kernel, over a real TAP into a namespace this file creates: 10 MiB
// each way through a python echo server, and the three ways an active open fails — a closed port (the
// kernel's RST: Err.RST), an address with no host (ARP gives up: Err.RTE), and a host whose policy routing
// silently drops SYNs to one port (SYN retransmissions back off 1 s, 2 s, 4 s, then Err.ABRT). Traffic
// stays inside 10.66.13.0/24 in that namespace.

import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { canRunTapTests } from "../helpers/env.js";
import { runAsync, type TestBoard, useTestBoard } from "../helpers/board.js";
import { boardEchoClient, InteractivePeer, kernelCounter, mibPerSec, pcbSummary, sha256Hex, PYTHON } from "../helpers/tcpPeer.js";
import { parseIpv4 } from "../../src/core/addr.js";
import { Err, type ErrCode } from "../../src/core/errors.js";
import { TcpState } from "../../src/tcp/state.js";

const run = canRunTapTests("tcp.client.test.ts", [PYTHON, "nstat"]);

const MiB = 1024 * 1024;

describe.runIf(run)("the board connecting to the Linux kernel", () => {
  const board = useTestBoard("wtk", "10.66.13");

  afterEach(() => {
    // TIME-WAIT (the board closed first) lasts 2·MSL; anything else left is a leak of the test before.
    const tcp = board().board.stack.tcp;
    const live = pcbSummary(tcp).filter((s) => !s.startsWith("TIME-WAIT"));
    for (const p of tcp.allPcbs()) tcp.abort(p);
    expect(live).toEqual([]);
  });

  /** Connects and waits for the outcome of the open alone: "connected" or the `error` event's code. */
  function openOutcome(ip: string, port: number, timeoutMs: number): Promise<{ outcome: "connected" | ErrCode; ms: number }> {
    const tcp = board().board.stack.tcp;
    const t0 = performance.now();
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve({ outcome: Err.TIMEOUT, ms: performance.now() - t0 }), timeoutMs);
      const r = tcp.connect(parseIpv4(ip), port, {
        connected: (p) => {
          clearTimeout(timer);
          tcp.abort(p);
          resolve({ outcome: "connected", ms: performance.now() - t0 });
        },
        error: (_p, err) => {
          clearTimeout(timer);
          resolve({ outcome: err, ms: performance.now() - t0 });
        },
      });
      if (typeof r === "number") {
        clearTimeout(timer);
        resolve({ outcome: r, ms: 0 });
      }
    });
  }

  it("moves 10 MiB each way through a kernel echo server intact, and holds TIME-WAIT after closing first", async () => {
    const b = board();
    const tcp = b.board.stack.tcp;
    const port = 6001;
    const data = new Uint8Array(randomBytes(10 * MiB));
    const peer = new InteractivePeer(b.ns, "server", { host: b.kernelIp, port, timeoutS: 30 });
    try {
      expect(await peer.next()).toEqual({ event: "listening" });
      const r = await boardEchoClient(tcp, b.kernelIp, port, data, 30_000);
      const server = await peer.next<{ received: number; sha: string; peer: string; seconds: number }>(10_000);
      console.log(`board → kernel echo 10 MiB each way: ${(r.ms / 1000).toFixed(2)} s, ${mibPerSec(data.length, r.ms / 1000)} MiB/s per direction`);
      expect(r.err).toBe(Err.OK);
      expect(r.sent).toBe(data.length);
      expect(server.received).toBe(data.length);
      expect(server.sha).toBe(sha256Hex(data));
      expect(r.received).toBe(data.length);
      expect(r.recvSha).toBe(sha256Hex(data));
      expect(server.peer).toBe(`${b.boardIp}:${r.pcb!.localPort}`);
      // Our FIN went first (after the data), the server's came after its echo: the board ends in TIME-WAIT.
      expect(r.pcb!.state).toBe(TcpState.TIME_WAIT);
      expect(pcbSummary(tcp)).toEqual([`TIME-WAIT ${b.boardIp}:${r.pcb!.localPort} ${b.kernelIp}:${port}`]);
    } finally {
      peer.dispose();
    }
  });

  it("a closed kernel port fails the open with Err.RST (the kernel's reset)", async () => {
    const b = board();
    const tcp = b.board.stack.tcp;
    const resetsBefore = tcp.stats.resetsReceived;
    const r = await openOutcome(b.kernelIp, 6002, 5000);
    expect(r.outcome).toBe(Err.RST);
    expect(r.ms).toBeLessThan(1000);
    expect(tcp.stats.resetsReceived - resetsBefore).toBe(1);
    expect(tcp.allPcbs()).toEqual([]);
  });

  it("an address with no host fails the open with Err.RTE once ARP gives up (~3 s)", async () => {
    const b = board();
    const neighbors = b.board.stack.netif.neighbors.stats;
    const requestsBefore = neighbors.requestsSent;
    const failedBefore = neighbors.resolveFailed;
    // Inside the namespace's /24, on the TAP, and nothing answers for it.
    const r = await openOutcome("10.66.13.77", 6003, 8000);
    expect(r.outcome).toBe(Err.RTE);
    // Three requests 1 s apart, then the neighbour entry fails (neighbor.ts: maxRequests 3, 1000 ms).
    expect(r.ms).toBeGreaterThan(2500);
    expect(r.ms).toBeLessThan(4500);
    // (Not netif's arpTxRequests: the board's second RFC 5227 announcement, 2 s after start, counts there.)
    expect(neighbors.requestsSent - requestsBefore).toBe(3);
    expect(neighbors.resolveFailed - failedBefore).toBe(1);
    expect(b.board.stack.tcp.allPcbs()).toEqual([]);
  });

  it("a host that drops SYNs sees them backed off 1 s, 2 s, 4 s, then the open fails with Err.ABRT", async () => {
    const b = board();
    const tcp = b.board.stack.tcp;
    const port = 6004;
    // No nft or iptables on this machine: a policy-routing rule in the namespace blackholes TCP to `port`
    // arriving on the TAP. The local table's rule moves behind it first, or it would match before ours.
    for (const argv of [
      ["ip", "-n", b.ns, "rule", "add", "pref", "100", "lookup", "local"],
      ["ip", "-n", b.ns, "rule", "del", "pref", "0", "lookup", "local"],
      ["ip", "-n", b.ns, "rule", "add", "pref", "10", "iif", b.tap, "ipproto", "tcp", "dport", String(port), "blackhole"],
    ]) {
      const r = await runAsync(argv, { timeoutMs: 5000 });
      expect(r.code, `${argv.join(" ")}: ${r.stderr}`).toBe(0);
    }
    const addrErrorsBefore = await kernelCounter(b.ns, "IpInAddrErrors");
    const tcpInBefore = await kernelCounter(b.ns, "TcpInSegs");
    // Board exposes no stack config: shorten the give-up on the live TcpLayer (restored below) so the open
    // fails after the second retransmission — SYN at 0 s, again at 1 s and 3 s, Err.ABRT at 7 s.
    const savedRetries = tcp.config.maxSynRetries;
    tcp.config.maxSynRetries = 2;
    const retransmitTimes: number[] = [];
    const t0 = performance.now();
    const before = tcp.stats.txRetransmits;
    const watch = setInterval(() => {
      while (tcp.stats.txRetransmits - before > retransmitTimes.length) retransmitTimes.push(performance.now() - t0);
    }, 5);
    try {
      const r = await openOutcome(b.kernelIp, port, 12_000);
      expect(r.outcome).toBe(Err.ABRT);
      expect(retransmitTimes.length).toBe(2);
      // RFC 6298 §2.1 initial RTO of 1 s, doubled on each expiry (§5.5).
      expect(retransmitTimes[0]).toBeGreaterThan(900);
      expect(retransmitTimes[0]).toBeLessThan(1300);
      expect(retransmitTimes[1]! - retransmitTimes[0]!).toBeGreaterThan(1900);
      expect(retransmitTimes[1]! - retransmitTimes[0]!).toBeLessThan(2300);
      expect(r.ms - retransmitTimes[1]!).toBeGreaterThan(3900);
      expect(r.ms - retransmitTimes[1]!).toBeLessThan(4400);
      // The kernel's IP saw all three SYNs and dropped each at the blackhole (counted as an address error);
      // its TCP saw none.
      expect((await kernelCounter(b.ns, "IpInAddrErrors")) - addrErrorsBefore).toBe(3);
      expect((await kernelCounter(b.ns, "TcpInSegs")) - tcpInBefore).toBe(0);
      expect(tcp.allPcbs()).toEqual([]);
    } finally {
      clearInterval(watch);
      tcp.config.maxSynRetries = savedRetries;
    }
  });
});
