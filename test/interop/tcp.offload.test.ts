// TCP offloads on the real TAP (IFF_VNET_HDR, TUNSETOFFLOAD CSUM|TSO4) against the Linux kernel in a
// namespace this file creates, and the plain per-frame path (--no-offload) beside it: bulk both ways through
// the board's services with the data checked by SHA-256 — echo (both directions at once), discard (kernel →
// board) and chargen (board → kernel) — and the counters showing that super-frames really crossed the TAP
// with offloads on, and that none did without. Traffic stays inside 10.66.30.0/24 and 10.66.31.0/24.

import { describe, expect, it } from "vitest";
import { canRunTapTests } from "../helpers/env.js";
import { type TestBoard, useTestBoard } from "../helpers/board.js";
import { mibPerSec, pcbSummary, rfc864, runPeer, sha256Hex, PYTHON } from "../helpers/tcpPeer.js";

const run = canRunTapTests("tcp.offload.test.ts", [PYTHON]);

const MiB = 1024 * 1024;
/** The kernel's MSS toward the board (1500 − 40 − 12 bytes of timestamps). */
const SEGMENT_BYTES = 1448;

interface StreamResult {
  sent: number;
  sentSha: string;
  received: number;
  recvSha: string;
  seconds: number;
}

for (const offload of [true, false]) {
  const label = offload ? "offloads on (TSO/GRO, partial checksums)" : "--no-offload (plain 1514-byte frames)";
  describe.runIf(run)(`bulk TCP with the kernel, ${label}`, () => {
    const board = useTestBoard(offload ? "wto" : "wtp", offload ? "10.66.30" : "10.66.31", { offload });

    it("opens the TAP as asked", () => {
      const b = board();
      expect(b.board.host.device.hasVnetHdr).toBe(offload);
      expect(b.board.stack.netif.offloads).toEqual({ tso: offload, csum: offload });
    });

    it("echo: 64 MiB each way at once comes back byte for byte", async () => {
      const b = board();
      const bytes = 64 * MiB;
      const r = await runPeer<StreamResult>(b.ns, "stream", { host: b.boardIp, port: 7, send: bytes, seed: 9, timeoutS: 40 });
      console.log(`${label}: echo 64 MiB each way: ${r.seconds.toFixed(2)} s, ${mibPerSec(bytes, r.seconds)} MiB/s per direction`);
      expect(r.sent).toBe(bytes);
      expect(r.received).toBe(bytes);
      expect(r.recvSha).toBe(r.sentSha);
      await waitForNoPcbs(b);
    });

    it("kernel → board: 100 MiB to discard, in super-frames only with offloads", async () => {
      const b = board();
      const bytes = 100 * MiB;
      const tap = b.board.host.device;
      const tcp = b.board.stack.tcp.stats;
      const before = { frames: b.board.stack.netif.stats.rxFrames, gso: tap.offloadStats.rxGsoFrames, gro: tcp.rxGroSegments, bad: tcp.dropBadChecksum };
      const r = await runPeer<StreamResult>(b.ns, "stream", { host: b.boardIp, port: 9, send: bytes, seed: 10, timeoutS: 30 });
      console.log(`${label}: discard 100 MiB: ${r.seconds.toFixed(2)} s, ${mibPerSec(bytes, r.seconds)} MiB/s`);
      expect(r.sent).toBe(bytes);
      await waitForNoPcbs(b);
      const frames = b.board.stack.netif.stats.rxFrames - before.frames;
      const gso = tap.offloadStats.rxGsoFrames - before.gso;
      const gro = tcp.rxGroSegments - before.gro;
      console.log(`${label}: ${frames} frames received, ${gso} of them super-frames (${gro} carried several segments)`);
      expect(tcp.dropBadChecksum - before.bad).toBe(0);
      if (offload) {
        expect(gso).toBeGreaterThan(0);
        expect(gro).toBeGreaterThan(0);
        // Fewer frames than the segments they carried: the kernel coalesced them.
        expect(frames).toBeLessThan(bytes / SEGMENT_BYTES);
      } else {
        expect([gso, gro]).toEqual([0, 0]);
        expect(frames).toBeGreaterThanOrEqual(bytes / SEGMENT_BYTES);
      }
    });

    it("board → kernel: 50 MiB from chargen follow RFC 864, sent as super-segments only with offloads", async () => {
      const b = board();
      const bytes = 50 * MiB;
      const tap = b.board.host.device;
      const tcp = b.board.stack.tcp.stats;
      const before = { tso: tcp.txTsoSegments, gso: tap.offloadStats.txGsoFrames, csum: tap.offloadStats.txNeedsCsum, errors: tap.stats.txErrors };
      const r = await runPeer<{ received: number; sha: string; mismatchAt: number; seconds: number }>(b.ns, "chargen", {
        host: b.boardIp,
        port: 19,
        recv: bytes,
        timeoutS: 30,
      });
      console.log(`${label}: chargen 50 MiB: ${r.seconds.toFixed(2)} s, ${mibPerSec(bytes, r.seconds)} MiB/s`);
      expect(r.received).toBe(bytes);
      expect(r.mismatchAt).toBe(-1);
      expect(r.sha).toBe(sha256Hex(rfc864(bytes)));
      await waitForNoPcbs(b);
      const tso = tcp.txTsoSegments - before.tso;
      const gso = tap.offloadStats.txGsoFrames - before.gso;
      console.log(`${label}: ${tso} super-segments sent`);
      // The kernel took every frame: a wrong gso_size or checksum offset would be EINVAL (txErrors).
      expect(tap.stats.txErrors - before.errors).toBe(0);
      if (offload) {
        expect(tso).toBeGreaterThan(0);
        expect(gso).toBe(tso);
        expect(tap.offloadStats.txNeedsCsum - before.csum).toBeGreaterThan(tso);
      } else {
        expect([tso, gso, tap.offloadStats.txNeedsCsum - before.csum]).toEqual([0, 0, 0]);
      }
    });
  });
}

async function waitForNoPcbs(b: TestBoard): Promise<void> {
  const tcp = b.board.stack.tcp;
  const deadline = Date.now() + 5000;
  while (tcp.allPcbs().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(pcbSummary(tcp)).toEqual([]);
}
