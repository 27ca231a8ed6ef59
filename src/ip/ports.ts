// Ephemeral port selection (RFC 6056 §3.3.4, Algorithm 4 "double-hash port selection"), shared by the
// transports: TcpLayer.connect and a TCP or UDP bind to port 0 ask their own `EphemeralPorts` for a local port;
// the caller's `isFree` says whether a candidate is usable (TCP: no PCB on the same 4-tuple, or not bound; UDP:
// not bound). Runs once per connection or bind, not per segment.

import { createHmac } from "node:crypto";
import { assert } from "../core/assert.js";
import { randomSecret, type Random } from "../core/random.js";

/** RFC 6056 §3.2 / IANA dynamic range. */
const DEFAULT_MIN_PORT = 49152;
const DEFAULT_MAX_PORT = 65535;

/**
 * Entries in Algorithm 4's counter table. RFC 6056 leaves the size open; Linux uses 2^16 since small tables
 * (it had 256) let a peer observe collisions and track a host (Klein & Pinkas, 2022).
 */
const TABLE_BITS = 16;
const TABLE_SIZE = 1 << TABLE_BITS;

export interface EphemeralPortsOptions {
  /** Lowest port handed out (default 49152). */
  min?: number;
  /** Highest port handed out (default 65535). */
  max?: number;
}

export class EphemeralPorts {
  readonly min: number;
  readonly max: number;
  private readonly secret: Uint8Array;
  /** RFC 6056 Algorithm 4's `table[]`: per-bucket counters that advance by one per port probed. */
  private readonly table: Uint16Array;
  /** The 10 bytes (local IP, remote IP, remote port) fed to the keyed hash, reused. */
  private readonly tuple = Buffer.alloc(10);

  /** @param random draws the hash key and the table's initial values (a seeded one makes choices reproducible). */
  constructor(random: Random, options: EphemeralPortsOptions = {}) {
    this.min = options.min ?? DEFAULT_MIN_PORT;
    this.max = options.max ?? DEFAULT_MAX_PORT;
    assert(
      Number.isInteger(this.min) && Number.isInteger(this.max) && this.min >= 1 && this.min <= this.max && this.max <= 65535,
      `ephemeral port range ${this.min}-${this.max} must lie within 1-65535 with min <= max`,
    );
    this.secret = randomSecret(random);
    // RFC 6056 Algorithm 4 starts every counter at a random value.
    this.table = new Uint16Array(TABLE_SIZE);
    random.fill(new Uint8Array(this.table.buffer));
  }

  /**
   * A local port for a connection from `localIp` to `remoteIp:remotePort`, or 0 when every port in the range
   * is busy. Probes each port of the range at most once.
   */
  choose(localIp: number, remoteIp: number, remotePort: number, isFree: (port: number) => boolean): number {
    const t = this.tuple;
    t.writeUInt32BE(localIp >>> 0, 0);
    t.writeUInt32BE(remoteIp >>> 0, 4);
    t.writeUInt16BE(remotePort & 0xffff, 8);
    // RFC 6056 §3.3.4: offset = F(3-tuple, key1), index = G(3-tuple, key2). Disjoint bits of one keyed
    // HMAC-SHA-256 serve as the two independent keyed functions.
    const digest = createHmac("sha256", this.secret).update(t).digest();
    const offset = digest.readUInt32BE(0);
    const index = digest.readUInt32BE(4) & (TABLE_SIZE - 1);
    const count = this.max - this.min + 1;
    const base = this.table[index] ?? 0;
    for (let i = 0; i < count; i++) {
      // RFC 6056 §3.3.4: port = min_ephemeral + (offset + table[index]) % num_ephemeral; table[index]++.
      // Counting from a local `base + i` (not the wrapping u16 entry) guarantees every port is tried once.
      const port = this.min + ((offset + base + i) % count);
      if (isFree(port)) {
        this.table[index] = base + i + 1;
        return port;
      }
    }
    this.table[index] = base + count;
    return 0;
  }
}
