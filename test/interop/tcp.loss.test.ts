// TCP over a lossy link against the Linux kernel: the board's FaultInjector drops 2 % of frames in each
// direction (seeded; this kernel has no netem), and a python client in a namespace this file creates still
// gets 20 MiB echoed back intact. Both sides must have recovered by retransmitting: the board's counters and
// the kernel's TcpRetransSegs grow. Traffic stays inside 10.66.12.0/24 in that namespace.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canRunTapTests } from "../helpers/env.js";
import { startTestBoard, type TestBoard } from "../helpers/board.js";
import { kernelCounter, mibPerSec, pcbSummary, runPeer, PYTHON } from "../helpers/tcpPeer.js";
import { FaultInjector } from "../../src/link/fault.js";

const run = canRunTapTests("tcp.loss.test.ts", [PYTHON, "nstat"]);

const MiB = 1024 * 1024;

describe.runIf(run)("TCP echo through 2 % loss each way", () => {
  let tb: TestBoard | null = null;

  beforeAll(() => {
    tb = startTestBoard("wtl", "10.66.12", { faults: { seed: 7, loss: 0.02 } });
  });

  afterAll(() => {
    const b = tb;
    tb = null;
    b?.stop();
    // Quiescence (docs/architecture.md "Tests"): once stopped, the board has nothing armed (fault lanes included).
    if (b !== null) expect(b.board.scheduler.armedLabels()).toEqual([]);
  });

  it("20 MiB each way arrive intact, with retransmissions on both sides", async () => {
    const b = tb!;
    const tcp = b.board.stack.tcp;
    const faults = b.board.stack.netif.device;
    expect(faults).toBeInstanceOf(FaultInjector);
    const fi = faults as FaultInjector;
    const before = { ...tcp.stats };
    const kernelBefore = await kernelCounter(b.ns, "TcpRetransSegs");
    const bytes = 20 * MiB;
    const r = await runPeer<{ sent: number; sentSha: string; received: number; recvSha: string; seconds: number }>(
      b.ns,
      "stream",
      { host: b.boardIp, port: 7, send: bytes, seed: 2, timeoutS: 45 },
    );
    const kernelRetrans = (await kernelCounter(b.ns, "TcpRetransSegs")) - kernelBefore;
    const s = tcp.stats;
    console.log(
      `echo 20 MiB each way at 2 % loss: ${r.seconds.toFixed(2)} s, ${mibPerSec(bytes, r.seconds)} MiB/s; ` +
        `dropped tx ${fi.tx!.stats.dropped}/${fi.tx!.stats.frames} rx ${fi.rx!.stats.dropped}/${fi.rx!.stats.frames}; ` +
        `board retransmits ${s.txRetransmits - before.txRetransmits} (fast ${s.fastRetransmits - before.fastRetransmits}, ` +
        `RTO ${s.rtoFired - before.rtoFired}); kernel retransmits ${kernelRetrans}`,
    );
    expect(r.sent).toBe(bytes);
    expect(r.received).toBe(bytes);
    expect(r.recvSha).toBe(r.sentSha);
    // Frames were really lost both ways, and both senders repaired the stream.
    expect(fi.tx!.stats.dropped).toBeGreaterThan(0);
    expect(fi.rx!.stats.dropped).toBeGreaterThan(0);
    expect(s.txRetransmits - before.txRetransmits).toBeGreaterThan(0);
    expect(s.fastRetransmits - before.fastRetransmits).toBeGreaterThan(0);
    expect(kernelRetrans).toBeGreaterThan(0);
    // Echo closes after the kernel's FIN; with loss the last FIN/ACK may need a retransmission or two.
    const deadline = Date.now() + 10_000;
    while (tcp.allPcbs().length > 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    expect(pcbSummary(tcp)).toEqual([]);
  });
});
