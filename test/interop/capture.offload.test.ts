// Capture of an offloaded transfer on a real TAP: the kernel in a namespace this file creates sends 8 MiB to
// the board's discard service and reads 8 MiB from its chargen, with offloads on (TSO/GRO super-frames and
// partial checksums both ways). The pcapng file must open in tshark with IP, TCP and UDP checksum
// validation turned on and show no bad checksum, hold super-frames in both directions, and the trace must
// mark them. Traffic stays inside 10.66.32.0/24 in that namespace.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { canRunTapTests } from "../helpers/env.js";
import { runAsync, startTestBoard, type TestBoard } from "../helpers/board.js";
import { PYTHON, runPeer } from "../helpers/tcpPeer.js";

const run = canRunTapTests("capture.offload.test.ts", [PYTHON, "tshark"]);

const MiB = 1024 * 1024;
const CHECKSUMS_ON = ["-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE"];

describe.runIf(run)("pcapng capture of an offloaded TCP transfer", () => {
  let tb: TestBoard | null = null;
  let dir = "";

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "walnut-capture-offload-"));
  });

  afterAll(() => {
    const b = tb;
    tb = null;
    b?.stop();
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
    if (b !== null) expect(b.board.scheduler.armedLabels()).toEqual([]);
  });

  it("tshark reads it with checksum validation on and finds every checksum good, super-frames both ways", async () => {
    const pcapPath = join(dir, "offload.pcapng");
    let superLinesIn = 0;
    let superLinesOut = 0;
    tb = startTestBoard("wco", "10.66.32", {
      pcapPath,
      offload: true,
      trace: (line) => {
        if (!line.includes("[gso ")) return;
        if (line.includes(" In  ")) superLinesIn++;
        else superLinesOut++;
      },
    });
    const b = tb;
    await runPeer(b.ns, "stream", { host: b.boardIp, port: 9, send: 8 * MiB, seed: 1, timeoutS: 30 });
    await runPeer(b.ns, "chargen", { host: b.boardIp, port: 19, recv: 8 * MiB, timeoutS: 30 });
    b.stop();
    const netif = b.board.stack.netif.stats;
    const framesSeen = netif.rxFrames + netif.txFrames;
    expect(superLinesIn).toBeGreaterThan(0);
    expect(superLinesOut).toBeGreaterThan(0);

    const r = await runAsync(
      ["tshark", "-n", "-r", pcapPath, ...CHECKSUMS_ON, "-T", "fields", "-E", "separator=,", "-e", "frame.len", "-e", "frame.packet_flags_direction", "-e", "ip.checksum.status", "-e", "tcp.checksum.status", "-e", "udp.checksum.status"],
      { timeoutMs: 60_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    // Nothing on stderr but tshark's note about running as root (no "appears to have been cut short", no bad block).
    expect(r.stderr.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("Running as user"))).toEqual([]);
    const rows = r.stdout.trim().split("\n").map((l) => l.split(","));
    expect(rows.length).toBe(framesSeen);
    // Wireshark's checksum status: 0 bad, 1 good, 2 unverified; an empty field where the protocol is absent.
    const bad = rows.filter((row) => row.slice(2).some((status) => status === "0"));
    expect(bad.slice(0, 5)).toEqual([]);
    const tcpGood = rows.filter((row) => row[3] === "1").length;
    expect(tcpGood).toBeGreaterThan(0);
    // Super-frames (longer than a 1514-byte Ethernet frame) were captured whole, in both directions.
    const big = (dir: string): number => rows.filter((row) => Number(row[0]) > 1514 && row[1] === dir).length;
    expect(big("0x00000001")).toBeGreaterThan(0);
    expect(big("0x00000002")).toBeGreaterThan(0);

    // tshark's expert info finds no checksum error either (the summary a user would see).
    const expert = await runAsync(["tshark", "-n", "-r", pcapPath, ...CHECKSUMS_ON, "-Y", "_ws.expert.group == \"Checksum\""], { timeoutMs: 60_000 });
    expect(expert.code, expert.stderr).toBe(0);
    expect(expert.stdout.trim()).toBe("");
  });
});
