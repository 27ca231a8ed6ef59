// TCP's configuration: the knobs a Stack (or a test) sets for its TcpLayer, and their defaults. Read by
// tcp/tcp when it builds PCBs and by the input, listen and timer modules through the layer's TcpContext.

import { DEFAULT_RING_POOL_BYTES } from "../core/ringPool.js";
import type { IsnSource } from "./isn.js";
import type { RtoOptions } from "./rtt.js";
import type { TcpPcbOptions } from "./pcb.js";

export interface TcpConfig {
  /** Maximum segment lifetime; TIME-WAIT lasts 2·MSL (RFC 9293 §3.4.2). Linux's TIME-WAIT is 60 s. */
  mslMs: number;
  /** Most PCBs (connections in any state but LISTEN); the oldest TIME-WAIT one is recycled when full. */
  maxPcbs: number;
  /** Half-open connections per listener before SYN cookies take over (RFC 4987 §3.6). */
  synBacklog: number;
  /** Delayed-ACK timeout (RFC 9293 §3.8.6.3: < 0.5 s; Linux's minimum is 40 ms). */
  delayedAckMs: number;
  /** SYN (or SYN-ACK) retransmissions before giving up (Linux tcp_syn_retries: 6). */
  maxSynRetries: number;
  /** Data retransmissions before the connection is dropped with ETIMEDOUT (lwIP TCP_MAXRTX: 12). */
  maxRetries: number;
  /** FIN-WAIT-2 lifetime once the application has closed (Linux tcp_fin_timeout: 60 s). */
  finWait2TimeoutMs: number;
  /** Keep-alive probe interval and count (RFC 1122 §4.2.3.6; Linux: 75 s, 9). */
  keepAliveIntervalMs: number;
  keepAliveProbes: number;
  /**
   * Ring storage kept for reuse once connections give it back, in bytes (core/ringPool); beyond it stores go
   * to the garbage collector, so a burst of connections leaves at most this much behind.
   */
  ringPoolBytes: number;
  /** Idle time after which a connection's ring stores are shrunk to what they hold (tcp/ringTrim); 0: never. */
  ringIdleMs: number;
  /** Out-of-order ranges held per connection; segments needing more are dropped and counted. */
  maxOooRanges: number;
  /** Challenge ACKs per second (RFC 5961 §7; Linux's default is 1000). */
  challengeAckPerSec: number;
  /** Options we offer on our SYNs and accept on theirs. */
  windowScaling: boolean;
  timestamps: boolean;
  sack: boolean;
  /**
   * With SACK agreed, detect loss with RACK-TLP (RFC 8985: per-segment send times, reorder timer, tail loss
   * probe); false keeps RFC 6675's DupThresh recovery. Without SACK NewReno (RFC 6582) applies either way.
   */
  rack: boolean;
  rto: Partial<RtoOptions>;
  defaults: TcpPcbOptions;
  /**
   * Replace the per-connection random choices: the RFC 6528 ISS generator keyed from the stack's Random, and
   * the RFC 7323 §7.1 timestamp offset drawn from it. For scripted tests that need chosen values (near 2^32,
   * so a scenario crosses the wrap): a seed makes them reproducible but cannot choose them.
   */
  isn?: IsnSource;
  tsOffset?: () => number;
}

export const DEFAULT_TCP_CONFIG: TcpConfig = {
  mslMs: 30_000,
  maxPcbs: 1024,
  synBacklog: 128,
  delayedAckMs: 40,
  maxSynRetries: 6,
  maxRetries: 12,
  finWait2TimeoutMs: 60_000,
  keepAliveIntervalMs: 75_000,
  keepAliveProbes: 9,
  ringPoolBytes: DEFAULT_RING_POOL_BYTES,
  ringIdleMs: 1000,
  maxOooRanges: 32,
  challengeAckPerSec: 1000,
  windowScaling: true,
  timestamps: true,
  sack: true,
  rack: true,
  rto: {},
  defaults: {
    sendBufferBytes: 256 * 1024,
    recvBufferBytes: 256 * 1024,
    noDelay: false,
    keepAliveIdleMs: 0,
    congestionControl: "newreno",
  },
};
