// The short version of `npm run stress`'s scale section (stress/scale.ts): 1 000 concurrent kernel clients
// each echoing 10 KiB through the board, then 2 000 idle connections held and each echoing one byte.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canRunTapTests } from "../helpers/env.js";
import { startStressEnv, type StressEnv } from "../../stress/env.js";
import { runScale } from "../../stress/scale.js";

const run = canRunTapTests("stress/scale.test.ts", ["cc"]);

describe.runIf(run)("stress: many connections", () => {
  let env: StressEnv;
  beforeAll(() => {
    env = startStressEnv({ log: (l) => console.log(l) });
  });
  afterAll(() => env?.stop());

  it("1 000 busy and 2 000 idle connections", async () => {
    const r = await runScale(env, { busy: 1000, busyBytes: 10 * 1024, idle: 2000, settleSeconds: 1 });
    console.log(JSON.stringify(r));
  }, 60_000);
});
