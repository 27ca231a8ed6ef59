// Bulk TCP against the Linux kernel: a python client in a namespace this file creates talks to the board's
// built-in services on a real TAP — echo (RFC 862) 100 MiB each way with the SHA-256 of what came back equal
// to what was sent, discard (RFC 863) 100 MiB with the board's sequence space showing every byte, and chargen
// (RFC 864) 50 MiB checked against the RFC's pattern. Traffic stays inside 10.66.10.0/24 in that namespace.

import { describe, expect, it } from "vitest";
import { canRunTapTests } from "../helpers/env.js";
import { type TestBoard, useTestBoard } from "../helpers/board.js";
import { mibPerSec, pcbSummary, rfc864, runPeer, sha256Hex, PYTHON } from "../helpers/tcpPeer.js";
import type { TcpPcb } from "../../src/tcp/pcb.js";

const run = canRunTapTests("tcp.bulk.test.ts", [PYTHON]);

const MiB = 1024 * 1024;

interface StreamResult {
  sent: number;
  sentSha: string;
  received: number;
  recvSha: string;
  seconds: number;
}

describe.runIf(run)("bulk TCP from the Linux kernel to the board's services", () => {
  const board = useTestBoard("wtb", "10.66.10");

  /** Collects the board's PCBs on `port` while `work` runs (they are freed when the connection ends). */
  async function watchPcbs<T>(port: number, work: Promise<T>): Promise<{ result: T; pcbs: Set<TcpPcb> }> {
    const tcp = board().board.stack.tcp;
    const pcbs = new Set<TcpPcb>();
    const timer = setInterval(() => {
      for (const p of tcp.allPcbs()) if (p.localPort === port) pcbs.add(p);
    }, 2);
    try {
      return { result: await work, pcbs };
    } finally {
      clearInterval(timer);
    }
  }

  it("echo: 100 MiB each way comes back byte for byte", async () => {
    const b = board();
    const bytes = 100 * MiB;
    const r = await runPeer<StreamResult>(b.ns, "stream", { host: b.boardIp, port: 7, send: bytes, seed: 862, timeoutS: 40 });
    console.log(`echo 100 MiB each way: ${r.seconds.toFixed(2)} s, ${mibPerSec(bytes, r.seconds)} MiB/s per direction`);
    expect(r.sent).toBe(bytes);
    expect(r.received).toBe(bytes);
    expect(r.recvSha).toBe(r.sentSha);
    // The kernel closed first (SHUT_WR after the data); echo then closed, so the board holds nothing.
    await waitForNoPcbs(b);
  });

  it("discard: 100 MiB sent, and the board's receive sequence covers all of it", async () => {
    const b = board();
    const bytes = 100 * MiB;
    const rxBytesBefore = b.board.stack.netif.stats.rxBytes;
    const { result: r, pcbs } = await watchPcbs(
      9,
      runPeer<StreamResult>(b.ns, "stream", { host: b.boardIp, port: 9, send: bytes, seed: 863, timeoutS: 30 }),
    );
    console.log(`discard 100 MiB: ${r.seconds.toFixed(2)} s, ${mibPerSec(bytes, r.seconds)} MiB/s`);
    expect(r.sent).toBe(bytes);
    expect(r.received).toBe(0);
    expect(pcbs.size).toBe(1);
    const [pcb] = [...pcbs];
    await waitForNoPcbs(b);
    // RCV.NXT moved past the SYN, every data byte and the FIN: the board took in exactly `bytes`.
    expect(pcb!.finReceived).toBe(true);
    expect((pcb!.rcvNxt - pcb!.irs) >>> 0).toBe(bytes + 2);
    expect(b.board.stack.netif.stats.rxBytes - rxBytesBefore).toBeGreaterThan(bytes);
  });

  it("chargen: 50 MiB follow RFC 864's 72-character rotating lines", async () => {
    const b = board();
    const bytes = 50 * MiB;
    const r = await runPeer<{ received: number; sha: string; mismatchAt: number; seconds: number }>(b.ns, "chargen", {
      host: b.boardIp,
      port: 19,
      recv: bytes,
      timeoutS: 30,
    });
    console.log(`chargen 50 MiB: ${r.seconds.toFixed(2)} s, ${mibPerSec(bytes, r.seconds)} MiB/s`);
    expect(r.received).toBe(bytes);
    expect(r.mismatchAt).toBe(-1);
    expect(r.sha).toBe(sha256Hex(rfc864(bytes)));
    // The client closed with data unread, so its kernel answered the board's next segment with a reset.
    await waitForNoPcbs(b);
  });
});

async function waitForNoPcbs(b: TestBoard): Promise<void> {
  const tcp = b.board.stack.tcp;
  const deadline = Date.now() + 5000;
  while (tcp.allPcbs().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(pcbSummary(tcp)).toEqual([]);
}
