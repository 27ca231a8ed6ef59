// The stack's one source of randomness. Every layer that needs unpredictable or random numbers (ISN and
// SYN-cookie secrets, ephemeral-port keys, IP identifications, timestamp offsets, DHCP xids and jitter, DNS
// IDs and ports, IGMP report delays, ping identifiers) is handed a `Random` when the Stack is built: by
// default `CryptoRandom` (the OS CSPRNG, as RFC 6528, RFC 6056 and RFC 5452 ask), or a seeded `Prng`
// (core/prng) for runs that must replay exactly. Nothing else in the stack reads entropy.

import { randomFillSync } from "node:crypto";

export interface Random {
  /** A uniformly distributed u32. */
  nextU32(): number;
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  below(n: number): number;
  /** Overwrites every byte of `bytes` with random ones. */
  fill(bytes: Uint8Array): void;
}

/** Bytes drawn from the OS per refill: one system call serves many draws. */
const POOL_BYTES = 256;

/** `Random` from node:crypto (the OS CSPRNG); drawn in blocks of POOL_BYTES. */
export class CryptoRandom implements Random {
  private readonly pool = new Uint8Array(POOL_BYTES);
  private readonly view = new DataView(this.pool.buffer);
  /** Offset of the next unused pool byte; POOL_BYTES when the pool is used up. */
  private used = POOL_BYTES;

  nextU32(): number {
    if (this.used > POOL_BYTES - 4) {
      randomFillSync(this.pool);
      this.used = 0;
    }
    const v = this.view.getUint32(this.used);
    this.used += 4;
    return v;
  }

  next(): number {
    return this.nextU32() / 0x100000000;
  }

  below(n: number): number {
    return Math.floor(this.next() * n);
  }

  fill(bytes: Uint8Array): void {
    randomFillSync(bytes);
  }
}

/** `n` fresh random bytes from `random`: a key for a keyed hash (ISNs, SYN cookies, ephemeral ports). */
export function randomSecret(random: Random, n = 16): Uint8Array {
  const bytes = new Uint8Array(n);
  random.fill(bytes);
  return bytes;
}
