// The short version of `npm run stress`'s fuzz section (stress/fuzz.ts): 100 000 fuzzed frames written into
// a real TAP's kernel side (the kernel side's own ARP identity kept) while the kernel pings the board every
// second. The generator runs from source (vite-node, which vitest ships), so the test needs no build.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { canRunTapTests } from "../helpers/env.js";
import { startStressEnv, type StressEnv } from "../../stress/env.js";
import { runFuzz } from "../../stress/fuzz.js";
import { isNearBaseline } from "../../stress/goals.js";

const run = canRunTapTests("stress/fuzz.test.ts", ["cc", "ping"]);
const viteNode = fileURLToPath(new URL("../../node_modules/vite-node/vite-node.mjs", import.meta.url));
const GENERATOR = [process.execPath, viteNode, fileURLToPath(new URL("../../stress/fuzzGen.ts", import.meta.url))];
const FRAMES = 100_000;

describe.runIf(run)("stress: fuzzed frames into the TAP", () => {
  let env: StressEnv;
  beforeAll(() => {
    env = startStressEnv({ log: (l) => console.log(l) });
  });
  afterAll(() => {
    env?.stop();
    // A stopped board has nothing armed: whatever the fuzzing left half-done (ARP, reassembly) was cancelled.
    expect(env.board.scheduler.armedLabels()).toEqual([]);
  });

  it("100 000 fuzzed frames: every ping answered, TCP echo still works, RSS back near its baseline", async () => {
    const r = await runFuzz(env, { frames: FRAMES, seed: 1, generator: GENERATOR, rate: 50_000, settleSeconds: 2 });
    console.log(JSON.stringify(r));
    expect(r.frames).toBe(FRAMES);
    // The generator draws only frames an Ethernet link carries; the kernel takes (nearly) all of them.
    expect(r.sent).toBeGreaterThanOrEqual(FRAMES * 0.999);
    // What reached the board went through its frame path without an exception (one would end this process),
    // and every frame ended in a counter: accepted, or dropped for a reason.
    expect(r.boardRead).toBeGreaterThanOrEqual(r.sent - r.tapDrops);
    expect(r.ping.sent).toBeGreaterThanOrEqual(3);
    expect(r.ping.answered).toBe(r.ping.sent);
    expect(r.ping.maxRttMs).toBeLessThan(1000);
    expect(r.echoAfter).toBe(true);
    expect(isNearBaseline(r.rssBefore, r.rssAfter), `RSS ${r.rssBefore} → ${r.rssAfter}`).toBe(true);
    // The fuzzing reached every layer.
    for (const counter of ["netif.arpRxRequests", "ip.dropBadChecksum", "ip.rxFragments", "icmp.txEchoReplies", "udp.rxDelivered", "tcp.txResets"]) {
      expect(r.counters[counter] ?? 0, counter).toBeGreaterThan(0);
    }
  }, 60_000);
});
