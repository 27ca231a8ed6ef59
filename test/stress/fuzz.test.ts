// The short version of `npm run stress`'s fuzz section (stress/fuzz.ts): 100 000 fuzzed frames written into
// a real TAP's kernel side while the kernel pings the board every second. Runs the generator from source
// (vite-node, which vitest ships) so the test needs no build.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { canRunTapTests } from "../helpers/env.js";
import { startStressEnv, type StressEnv } from "../../stress/env.js";
import { runFuzz } from "../../stress/fuzz.js";

const run = canRunTapTests("stress/fuzz.test.ts", ["cc", "ping"]);
const viteNode = fileURLToPath(new URL("../../node_modules/vite-node/vite-node.mjs", import.meta.url));
const GENERATOR = [process.execPath, viteNode, fileURLToPath(new URL("../../stress/fuzzGen.ts", import.meta.url))];

describe.runIf(run)("stress: fuzzed frames into the TAP", () => {
  let env: StressEnv;
  beforeAll(() => {
    env = startStressEnv({ log: (l) => console.log(l) });
  });
  afterAll(() => env?.stop());

  it("100 000 fuzzed frames: the board answers every ping, still echoes, RSS settles", async () => {
    const r = await runFuzz(env, { frames: 100_000, seed: 1, generator: GENERATOR, rate: 40_000, settleSeconds: 2 });
    console.log(JSON.stringify(r));
    expect(r.frames).toBe(100_000);
  }, 60_000);
});
