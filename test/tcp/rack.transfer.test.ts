// Whole-stack RACK-TLP (RFC 8985): 10 MiB each way through echo between two walnut stacks over a MemLink
// with seeded random loss on both directions (the loss table's set-up, bench/lossTable.ts), on the simulated
// clock. The echo must come back intact (SHA-256), and RACK-TLP must need fewer retransmission timeouts
// than RFC 6675 in the very same scenario (same seeds, same data).

import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ENTROPY_SEED, runLossRow } from "../../bench/lossTable.js";
import { Prng } from "../../src/core/prng.js";

const SIZE = 10 << 20;

function randomBytes(n: number, seed: number): Uint8Array {
  const rng = new Prng(seed);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i += 4) {
    const x = rng.nextU32();
    for (let k = 0; k < 4 && i + k < n; k++) b[i + k] = (x >>> (8 * k)) & 0xff;
  }
  return b;
}

describe("RACK-TLP over a lossy MemLink", () => {
  const data = randomBytes(SIZE, 5);
  const sha = createHash("sha256").update(data).digest("hex");

  for (const lossRate of [0.01, 0.05]) {
    it(`${lossRate * 100} % loss: 10 MiB echoed intact, with fewer RTOs than RFC 6675`, () => {
      const rack = runLossRow(data, sha, lossRate, "rack", "newreno", ENTROPY_SEED);
      const rfc6675 = runLossRow(data, sha, lossRate, "rfc6675", "newreno", ENTROPY_SEED);
      expect(rack.failure).toBeNull();
      expect(rfc6675.failure).toBeNull();
      expect(rack.framesDropped).toBeGreaterThan(0);
      expect(rack.rtoFired).toBeLessThan(rfc6675.rtoFired);
      expect(rack.transferMs).toBeLessThan(rfc6675.transferMs);
    }, 60_000);
  }
});
