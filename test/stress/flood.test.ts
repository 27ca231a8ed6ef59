// The short version of `npm run stress`'s flood section (stress/flood.ts): a 5 s SYN flood from ten on-link
// sources while a 16 MiB echo transfer, a 1-byte latency probe and new connections run from the kernel side.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canRunTapTests } from "../helpers/env.js";
import { startStressEnv, type StressEnv } from "../../stress/env.js";
import { runFlood } from "../../stress/flood.js";

const run = canRunTapTests("stress/flood.test.ts", ["cc"]);

describe.runIf(run)("stress: SYN flood", () => {
  let env: StressEnv;
  beforeAll(() => {
    env = startStressEnv({ log: (l) => console.log(l) });
  });
  afterAll(() => env?.stop());

  it("a 5 s SYN flood: the transfer stays intact, the board keeps answering", async () => {
    const r = await runFlood(env, { seconds: 5, transferBytes: 16 << 20 });
    console.log(JSON.stringify(r));
  }, 60_000);
});
