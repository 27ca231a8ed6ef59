// The short version of `npm run stress`'s flood section (stress/flood.ts): a 5 s SYN flood from ten on-link
// sources, faster than the board reads its TAP, while a 16 MiB echo transfer and 1-byte latency probes on
// ten connections (established before the flood) and a new connection every 100 ms run from the kernel
// side's own address.
// Issue 11's latency goal (p99 ≤ 50 ms, max ≤ 1 s under the flood) is printed, not asserted: the figure
// swings with the machine's load (the flooder takes a CPU of its own); `npm run stress` judges it.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canRunTapTests } from "../helpers/env.js";
import { runConns, startStressEnv, type StressEnv } from "../../stress/env.js";
import { runFlood } from "../../stress/flood.js";

const run = canRunTapTests("stress/flood.test.ts", ["cc"]);

describe.runIf(run)("stress: SYN flood", () => {
  let env: StressEnv;
  beforeAll(() => {
    env = startStressEnv({ log: (l) => console.log(l) });
  });
  afterAll(() => {
    env?.stop();
    expect(env.board.scheduler.armedLabels()).toEqual([]);
  });

  it("a 5 s SYN flood: the transfer stays intact, new connections get through, the board answers afterwards", async () => {
    const transferBytes = 16 << 20;
    const r = await runFlood(env, { seconds: 5, transferBytes });
    console.log(JSON.stringify(r));
    // The flood outran the TAP: the kernel dropped frames on its full queue.
    expect(r.tapDrops).toBeGreaterThan(0);
    expect(r.offeredPerSecond).toBeGreaterThan(r.boardReadPerSecond);
    expect(r.synsAnsweredPerSecond).toBeGreaterThan(1000);
    expect(r.transfer.failures).toEqual({});
    expect(r.transfer.intact).toBe(1);
    // Each of the ten probe connections had echoes out, and every echo came back or was counted lost.
    expect(r.probe.error).toBeUndefined();
    expect(r.probe.rttMs.n + r.probe.lost).toBeGreaterThanOrEqual(10);
    expect(r.connects.failures).toEqual({});
    expect(r.connects.intact).toBe(r.connects.count);
    // No reset toward a legitimate client.
    expect(r.tcpCounters["txResets"] ?? 0).toBe(0);
    // Afterwards the board serves as before.
    const after = await runConns(env, { count: 20, bytes: 10 * 1024, timeoutS: 15, intervalMs: 0, window: 20 });
    expect(after.intact).toBe(20);
  }, 60_000);
});
