// The fuzz section's frame source, run as its own process so generating frames never takes the board's
// CPU thread: `node dist/stress/fuzzGen.js COUNT SEED` writes COUNT frames from stress/fuzzFrames.ts
// (random and mutated, the peer's ARP identity kept) to stdout, each as a 2-byte big-endian length and the
// frame, for stress/c/stressnet.c `send` to write into the TAP's kernel side. Only frames an Ethernet link
// carries are drawn (14 to 1514 bytes: the kernel refuses shorter and longer ones on a 1500-byte MTU, so
// they could never reach the board). Deterministic per SEED.

import fc from "fast-check";
import { anyFrame, keepPeerIdentity } from "./fuzzFrames.js";

/** An Ethernet header, at least; at most the header and a 1500-byte MTU (no FCS on a TAP). */
const MIN_FRAME = 14;
const MAX_FRAME = 1514;
const linkFrame = anyFrame.filter((f) => f.length >= MIN_FRAME && f.length <= MAX_FRAME);

/** Frames drawn per fast-check sample (each chunk has its own seed: SEED + chunk index). */
const CHUNK_FRAMES = 2000;

/** Encodes `frames` as length-prefixed records in one buffer; AF_PACKET cannot send more than 65 535 bytes anyway. */
function encode(frames: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const f of frames) total += 2 + f.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const f of frames) {
    out[at] = f.length >>> 8;
    out[at + 1] = f.length & 0xff;
    out.set(f, at + 2);
    at += 2 + f.length;
  }
  return out;
}

/** Writes `count` frames to stdout, waiting for the pipe to drain between chunks. */
async function main(argv: readonly string[]): Promise<void> {
  const [countText, seedText] = argv;
  const count = Number(countText);
  const seed = Number(seedText);
  if (!Number.isInteger(count) || count < 0 || !Number.isInteger(seed)) {
    process.stderr.write("usage: node dist/stress/fuzzGen.js COUNT SEED\n");
    process.exit(2);
  }
  for (let done = 0, chunk = 0; done < count; chunk++) {
    const n = Math.min(CHUNK_FRAMES, count - done);
    const frames = fc.sample(linkFrame, { seed: seed + chunk, numRuns: n }).map(keepPeerIdentity);
    done += n;
    if (!process.stdout.write(encode(frames))) await new Promise<void>((resolve) => process.stdout.once("drain", resolve));
  }
}

process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  // The sender went away (EPIPE): it reports what it sent; nothing more to do here.
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});
await main(process.argv.slice(2));
