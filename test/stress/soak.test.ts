// The short version of `npm run stress`'s soak section (stress/soak.ts): 10 s of mixed load — transfers,
// short connections, bursts, a latency probe, pings — with the board's RSS sampled.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canRunTapTests } from "../helpers/env.js";
import { startStressEnv, type StressEnv } from "../../stress/env.js";
import { runSoak } from "../../stress/soak.js";

const run = canRunTapTests("stress/soak.test.ts", ["cc", "ping"]);

describe.runIf(run)("stress: soak", () => {
  let env: StressEnv;
  beforeAll(() => {
    env = startStressEnv({ log: (l) => console.log(l) });
  });
  afterAll(() => env?.stop());

  it("10 s of mixed load", async () => {
    const r = await runSoak(env, { seconds: 10, settleSeconds: 2 });
    console.log(JSON.stringify({ ...r, rssSamples: r.rssSamples.length }));
  }, 60_000);
});
