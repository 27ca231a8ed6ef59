// Capture and trace on a real TAP: the kernel pings the board three times from a namespace this file
// creates; the pcapng file the board wrote must open in tshark with one frame per frame the netif saw or
// sent, decoded as ARP and ICMP echo, and the trace must show the echoes In and Out. Traffic stays inside
// 10.66.3.0/24 in that namespace.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { canRunTapTests } from "../helpers/env.js";
import { parsePingSummary, runAsync, runInNetns, startTestBoard, type TestBoard } from "../helpers/board.js";

const run = canRunTapTests("capture.test.ts", ["ping", "tshark"]);

describe.runIf(run)("pcapng capture and trace of a real ping", () => {
  let tb: TestBoard | null = null;
  let dir = "";

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "walnut-capture-"));
  });

  afterAll(() => {
    const b = tb;
    tb = null;
    b?.stop();
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
    // Quiescence (docs/architecture.md "Tests"): once stopped, the board has nothing armed.
    if (b !== null) expect(b.board.scheduler.armedLabels()).toEqual([]);
  });

  it("writes every frame to a file tshark decodes, and traces the echoes", async () => {
    const pcapPath = join(dir, "board.pcapng");
    const trace: string[] = [];
    tb = startTestBoard("wcp", "10.66.3", { pcapPath, trace: (line) => trace.push(line) });
    const b = tb;
    const ping = await runInNetns(b.ns, ["ping", "-c", "3", "-i", "0.2", "-W", "1", b.boardIp]);
    expect(parsePingSummary(ping.stdout)).toEqual({ transmitted: 3, received: 3, lossPercent: 0 });

    // Stopping flushes and closes the capture; the counters are final from here on.
    b.stop();
    const netif = { ...b.board.stack.netif.stats };
    expect(netif.txDeviceDrops).toBe(0);
    const framesSeen = netif.rxFrames + netif.txFrames;

    const r = await runAsync(["tshark", "-n", "-r", pcapPath], { timeoutMs: 15_000 });
    expect(r.code, r.stderr).toBe(0);
    const decoded = r.stdout.split("\n").filter((l) => l.trim().length > 0);
    expect(decoded.length).toBe(framesSeen);
    expect(trace.length).toBe(framesSeen);
    expect(decoded.filter((l) => l.includes("Echo (ping) request")).length).toBe(3);
    expect(decoded.filter((l) => l.includes("Echo (ping) reply")).length).toBe(3);
    expect(decoded.some((l) => / ARP /.test(l) && l.includes(`${b.boardIp} is at`))).toBe(true);
    expect(decoded.some((l) => / ARP /.test(l) && l.includes(`Who has ${b.boardIp}?`))).toBe(true);

    // Directions come from epb_flags: the requests were received, the replies sent.
    const dirs = await runAsync(
      ["tshark", "-n", "-r", pcapPath, "-Y", "icmp", "-T", "fields", "-e", "icmp.type", "-e", "frame.packet_flags_direction"],
      { timeoutMs: 15_000 },
    );
    expect(dirs.code, dirs.stderr).toBe(0);
    const rows = dirs.stdout.trim().split("\n").map((l) => l.split("\t"));
    expect(rows.filter(([type]) => type === "8").map(([, d]) => d)).toEqual(["1", "1", "1"].map(directionField));
    expect(rows.filter(([type]) => type === "0").map(([, d]) => d)).toEqual(["2", "2", "2"].map(directionField));

    const requestsIn = trace.filter((l) => / In  .*ICMP echo request/.test(l));
    const repliesOut = trace.filter((l) => / Out .*ICMP echo reply/.test(l));
    expect(requestsIn.length).toBe(3);
    expect(repliesOut.length).toBe(3);
    expect(trace.some((l) => / In  ARP, Request who-has /.test(l))).toBe(true);
    expect(trace.some((l) => / Out ARP, Reply /.test(l))).toBe(true);
  });
});

/** tshark prints epb_flags direction as 0x00000001 (inbound) / 0x00000002 (outbound). */
function directionField(bits: string): string {
  return `0x${bits.padStart(8, "0")}`;
}
