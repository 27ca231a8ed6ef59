// TCP offloads on the real TAP (IFF_VNET_HDR, TUNSETOFFLOAD CSUM|TSO4) against the Linux kernel in a
// namespace this file creates, and the plain per-frame path (--no-offload) beside it: bulk both ways through
// the board's services with the data checked by SHA-256 — echo (both directions at once), discard (kernel →
// board) and chargen (board → kernel) — and the counters showing that super-frames really crossed the TAP
// with offloads on, and that none did without. Then two boards on one Linux bridge (--lan): the kernel's
// bridge forwards one board's super-frames to the other's TAP as they are. Traffic stays inside
// 10.66.30.0/24, 10.66.31.0/24 and 10.66.33.0/24 in namespaces this file creates.

import { afterAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { Board } from "../../src/board/board.js";
import { parseIpv4, prefixToMask } from "../../src/core/addr.js";
import type { TcpPcb } from "../../src/tcp/pcb.js";
import { canRunTapTests, uniqueName } from "../helpers/env.js";
import { removeNetns, type TestBoard, useTestBoard, waitFor } from "../helpers/board.js";
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

describe.runIf(run)("two boards on one bridge, offloads on", () => {
  const ns = uniqueName("wtlan");
  const boards: Board[] = [];
  afterAll(() => {
    for (const b of boards.splice(0).reverse()) b.stop();
    removeNetns(ns);
  });

  function boardAt(ip: string, n: number): Board {
    const b = Board.start({
      mac: new Uint8Array([0x02, 0x57, 0x41, 0x4e, 0x00, n]),
      ip: parseIpv4(ip),
      netmask: prefixToMask(24),
      gateway: 0,
      mtu: 1500,
      tapName: `${ns.slice(0, 10)}%d`,
      netns: ns,
      hostCidr: "10.66.33.1/24",
      pcapPath: null,
      trace: null,
      faults: null,
      lan: "wtlanbr",
    });
    boards.push(b);
    return b;
  }

  it("board → board: 16 MiB of chargen cross the bridge in super-frames and follow RFC 864", async () => {
    const server = boardAt("10.66.33.2", 2);
    const client = boardAt("10.66.33.3", 3);
    const bytes = 16 * MiB;
    const tcp = client.stack.tcp;
    const hash = createHash("sha256");
    const buf = new Uint8Array(1 << 16);
    let received = 0;
    let failed = 0;
    const pcb = tcp.connect(parseIpv4("10.66.33.2"), 19, {
      readable: (p: TcpPcb) => {
        for (let n = tcp.read(p, buf, 0, Math.min(buf.length, bytes - received)); n > 0; n = tcp.read(p, buf, 0, Math.min(buf.length, bytes - received))) {
          hash.update(buf.subarray(0, n));
          received += n;
        }
        if (received >= bytes) tcp.abort(p);
      },
      error: (_p: TcpPcb, err: number) => {
        if (received < bytes) failed = err;
      },
    });
    expect(typeof pcb).not.toBe("number");
    await waitFor(() => received >= bytes || failed !== 0, 30_000, "16 MiB from the other board");
    expect(failed).toBe(0);
    expect(hash.digest("hex")).toBe(sha256Hex(rfc864(bytes)));
    expect(server.stack.tcp.stats.txTsoSegments).toBeGreaterThan(0);
    expect(client.host.device.offloadStats.rxGsoFrames).toBeGreaterThan(0);
    expect(client.stack.tcp.stats.rxGroSegments).toBeGreaterThan(0);
    expect(client.stack.tcp.stats.dropBadChecksum + server.stack.tcp.stats.dropBadChecksum).toBe(0);
  });
});

async function waitForNoPcbs(b: TestBoard): Promise<void> {
  const tcp = b.board.stack.tcp;
  const deadline = Date.now() + 5000;
  while (tcp.allPcbs().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(pcbSummary(tcp)).toEqual([]);
}
