// TCP connection life cycles against the Linux kernel: a python client in a namespace this file creates
// opens 200 short connections in a row and 50 at once to the board's echo service, is refused on a closed
// port, closes first (and then holds TIME-WAIT) or lets the board close first, and shows in `ss -tin` the
// options both sides agreed on. States are checked on both sides: `ss -tan` in the namespace, the board's
// PCBs through allPcbs()/info(). Traffic stays inside 10.66.11.0/24 in that namespace.

import { afterEach, describe, expect, it } from "vitest";
import { canRunTapTests } from "../helpers/env.js";
import { waitFor, type TestBoard, useTestBoard } from "../helpers/board.js";
import {
  InteractivePeer,
  mibPerSec,
  pcbSummary,
  runPeer,
  sha256Hex,
  ssRows,
  
  PYTHON,
} from "../helpers/tcpPeer.js";
import type { TcpListener, TcpPcb } from "../../src/tcp/pcb.js";
import { TcpState } from "../../src/tcp/state.js";

const run = canRunTapTests("tcp.conn.test.ts", [PYTHON, "ss"]);

const MiB = 1024 * 1024;

describe.runIf(run)("TCP connections between the Linux kernel and the board", () => {
  const board = useTestBoard("wtc", "10.66.11");

  afterEach(async () => {
    // Each test starts from a board with no live connections; TIME-WAIT PCBs (ours) are dropped here because
    // 2·MSL is a minute. Anything else still there after the last FIN/ACK exchange had time to finish is a
    // leak and fails the test that left it.
    const tcp = board().board.stack.tcp;
    const onlyTimeWait = (): boolean => tcp.allPcbs().every((p) => p.state === TcpState.TIME_WAIT);
    await waitFor(onlyTimeWait, 3000, "board PCBs to close").catch(() => undefined);
    const live = pcbSummary(tcp).filter((s) => !s.startsWith("TIME-WAIT"));
    for (const p of tcp.allPcbs()) tcp.abort(p);
    expect(live).toEqual([]);
  });

  /** Waits until every board PCB is in TIME-WAIT (or gone). */
  async function settle(b: TestBoard): Promise<void> {
    const tcp = b.board.stack.tcp;
    const onlyTimeWait = (): boolean => tcp.allPcbs().every((p) => p.state === TcpState.TIME_WAIT);
    await waitFor(onlyTimeWait, 5000, "board PCBs to close").catch(() => undefined);
    expect(pcbSummary(tcp).filter((s) => !s.startsWith("TIME-WAIT"))).toEqual([]);
  }

  it("200 sequential short echo connections all succeed, and the kernel holds the TIME-WAITs", async () => {
    const b = board();
    const tcp = b.board.stack.tcp;
    const passiveBefore = tcp.stats.passiveOpens;
    const r = await runPeer<{ ok: number; failures: unknown[]; ports: number[]; seconds: number }>(b.ns, "short", {
      host: b.boardIp,
      port: 7,
      count: 200,
      size: 100,
      seed: 1000,
      timeoutS: 30,
    });
    console.log(`200 connect+echo+close: ${r.seconds.toFixed(2)} s, ${Math.round(200 / r.seconds)} connections/s`);
    expect(r.failures).toEqual([]);
    expect(r.ok).toBe(200);
    expect(new Set(r.ports).size).toBe(200);
    expect(tcp.stats.passiveOpens - passiveBefore).toBe(200);
    // The kernel closed first each time: the board passed through CLOSE-WAIT and LAST-ACK to CLOSED, so it
    // keeps nothing, while the kernel keeps one TIME-WAIT per connection.
    await settle(b);
    expect(tcp.allPcbs().length).toBe(0);
    const timeWait = (await ssRows(b.ns)).filter((row) => row.state === "TIME-WAIT" && row.peer === `${b.boardIp}:7`);
    expect(timeWait.length).toBe(200);
  });

  it("50 concurrent echo connections each move 1 MiB both ways intact", async () => {
    const b = board();
    const r = await runPeer<{ intact: number; bad: unknown[]; seconds: number }>(b.ns, "concurrent", {
      host: b.boardIp,
      port: 7,
      count: 50,
      send: MiB,
      seed: 5000,
      timeoutS: 40,
    });
    console.log(`50 × 1 MiB echo at once: ${r.seconds.toFixed(2)} s, ${mibPerSec(50 * MiB, r.seconds)} MiB/s per direction`);
    expect(r.bad).toEqual([]);
    expect(r.intact).toBe(50);
    await settle(b);
  });

  it("a closed port refuses the kernel's connect with a reset (ECONNREFUSED)", async () => {
    const b = board();
    const tcp = b.board.stack.tcp;
    const resetsBefore = tcp.stats.txResets;
    const noPcbBefore = tcp.stats.dropNoPcb;
    const r = await runPeer<{ result: string }>(b.ns, "connect-error", { host: b.boardIp, port: 4444, timeoutS: 10 });
    expect(r.result).toBe("ECONNREFUSED");
    expect(tcp.stats.dropNoPcb - noPcbBefore).toBe(1);
    expect(tcp.stats.txResets - resetsBefore).toBe(1);
  });

  it("kernel closes first: after its FIN and echo's, the kernel is in TIME-WAIT and the board holds nothing", async () => {
    const b = board();
    const tcp = b.board.stack.tcp;
    const peer = new InteractivePeer(b.ns, "eof-hold", { host: b.boardIp, port: 7, send: 10_000, shutdown: true, seed: 7, timeoutS: 20 });
    try {
      const eof = await peer.next<{ port: number; received: number; sha: string; sentSha: string }>();
      expect(eof.received).toBe(10_000);
      expect(eof.sha).toBe(eof.sentSha);
      // FIN-WAIT-2 + the board's FIN → TIME-WAIT on the kernel side; the board's LAST-ACK was answered.
      await waitFor(() => !tcp.allPcbs().some((p) => p.remotePort === eof.port), 3000, "board PCB to be freed");
      const rows = (await ssRows(b.ns)).filter((row) => row.local === `${b.kernelIp}:${eof.port}` && row.peer === `${b.boardIp}:7`);
      expect(rows.map((row) => row.state)).toEqual(["TIME-WAIT"]);
      peer.resume();
      await peer.next();
      peer.resume();
    } finally {
      peer.dispose();
    }
  });

  it("board closes first: the kernel reads exactly 1 MB to EOF, then both sides walk to TIME-WAIT / CLOSED", async () => {
    const b = board();
    const tcp = b.board.stack.tcp;
    const port = 5001;
    const total = 1_000_000;
    const data = new Uint8Array(total);
    for (let i = 0; i < total; i++) data[i] = (i * 7 + (i >>> 10)) & 0xff;
    let served: TcpPcb | null = null;
    const listener = tcp.listen(0, port, 4, {
      acceptable: (l) => {
        for (let pcb = tcp.accept(l); pcb !== null; pcb = tcp.accept(l)) {
          served = pcb;
          let written = 0;
          const pump = (p: TcpPcb): void => {
            for (let guard = 0; guard < 64 && written < total; guard++) {
              const n = tcp.write(p, data, written, total - written);
              if (typeof n !== "number" || n <= 0) break;
              written += n;
            }
            // All of it is queued: the FIN follows it (RFC 9293 §3.10.4), and the PCB finishes on its own.
            if (written === total) tcp.close(p);
          };
          pcb.events = { writable: pump, error: () => undefined };
          pump(pcb);
        }
      },
    });
    expect(typeof listener).not.toBe("number");
    const peer = new InteractivePeer(b.ns, "eof-hold", { host: b.boardIp, port, timeoutS: 20 });
    try {
      const eof = await peer.next<{ port: number; received: number; sha: string }>();
      expect(eof.received).toBe(total);
      expect(eof.sha).toBe(sha256Hex(data));
      const pcb = served as TcpPcb | null;
      expect(pcb).not.toBeNull();
      // Board: FIN sent and acknowledged, waiting for the kernel's FIN. Kernel: FIN received, app not closed.
      await waitFor(() => pcb!.state === TcpState.FIN_WAIT_2, 3000, "board FIN-WAIT-2");
      expect(tcp.info(pcb!).state).toBe("FIN-WAIT-2");
      expect(tcp.info(pcb!).remote).toBe(`${b.kernelIp}:${eof.port}`);
      let rows = (await ssRows(b.ns)).filter((row) => row.local === `${b.kernelIp}:${eof.port}` && row.peer === `${b.boardIp}:${port}`);
      expect(rows.map((row) => row.state)).toEqual(["CLOSE-WAIT"]);

      peer.resume();
      await peer.next(); // closed
      // Kernel: LAST-ACK → CLOSED once the board ACKs its FIN. Board: TIME-WAIT for 2·MSL.
      await waitFor(() => pcb!.state === TcpState.TIME_WAIT, 3000, "board TIME-WAIT");
      expect(tcp.allPcbs().map((p) => tcp.info(p).state)).toEqual(["TIME-WAIT"]);
      for (let i = 0; i < 50; i++) {
        rows = (await ssRows(b.ns)).filter((row) => row.local === `${b.kernelIp}:${eof.port}` && row.peer === `${b.boardIp}:${port}`);
        if (rows.length === 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(rows).toEqual([]);
      peer.resume();
    } finally {
      peer.dispose();
      if (typeof listener !== "number") tcp.closeListener(listener as TcpListener);
    }
  });

  it("ss -tin and TCP_INFO show the negotiated window scaling, SACK, timestamps and MSS 1448", async () => {
    const b = board();
    const tcp = b.board.stack.tcp;
    const peer = new InteractivePeer(b.ns, "hold", { host: b.boardIp, port: 7, send: 100_000, seed: 3, timeoutS: 20 });
    try {
      const held = await peer.next<{ port: number; echoed: boolean; tcpInfo: KernelTcpInfo }>();
      expect(held.echoed).toBe(true);
      const row = (await ssRows(b.ns, true)).find((r) => r.local === `${b.kernelIp}:${held.port}`);
      expect(row?.state).toBe("ESTAB");
      // e.g. "bbr wscale:3,10 rto:204 rtt:0.5/0.2 ato:40 mss:1448 pmtu:1500 rcvmss:1448 advmss:1448 …".
      // mss:1448 is 1460 less the 12 bytes of timestamp option every segment carries (RFC 7323 §3.2).
      const info = row!.info;
      expect(info).toMatch(/ mss:1448 /);
      const ws = /wscale:(\d+),(\d+)/.exec(info);
      expect(ws).not.toBeNull();
      // ss would print "ts" and "sack" from tcpi_options, but iproute2 6.1's ss on this 6.18 kernel prints
      // neither even between two Linux sockets; TCP_INFO read by the peer itself carries the same bits.
      if (/(^| )ts /.test(info) || /(^| )sack /.test(info)) {
        expect(info).toMatch(/(^| )ts /);
        expect(info).toMatch(/(^| )sack /);
      }
      expect(held.tcpInfo).toEqual({
        timestamps: true,
        sack: true,
        wscale: true,
        sndWscale: Number(ws![1]),
        rcvWscale: Number(ws![2]),
      });
      // The board's view of the same connection.
      const pcb = tcp.allPcbs().find((p) => p.remotePort === held.port);
      expect(pcb).toBeDefined();
      const mine = tcp.info(pcb!);
      expect(mine.state).toBe("ESTABLISHED");
      expect(mine.mss).toBe(1448);
      // Kernel "wscale:snd,rcv" is the board's "wscale rcv,snd": each side's send shift is the other's receive.
      expect(mine.options).toBe(`wscale ${ws![2]},${ws![1]} ts sack`);
      // The board's shift covers its 256 KiB receive ring in 16 bits (RFC 7323 §2.2): 2^16 << 2 = 256 KiB.
      expect(Number(ws![1])).toBe(pcb!.rcvWndShift);
      peer.resume();
      await peer.next();
    } finally {
      peer.dispose();
    }
  });
});

/** The head of the kernel's struct tcp_info as tcp_peer.py reports it. */
interface KernelTcpInfo {
  timestamps: boolean;
  sack: boolean;
  wscale: boolean;
  sndWscale: number;
  rcvWscale: number;
}
