// A stub resolver for A records (RFC 1035 §7, RFC 1123 §6.1.3), hardened against off-path spoofing as RFC 5452
// asks: each try goes out from a fresh PCB on a random port with a random ID, and only a response from the
// server's port 53 echoing our ID and question is believed. Tries go round-robin over the servers, bounded in
// count and in total time; answers are cached by TTL on the scheduler's clock. Call order: resolve → try (PCB,
// dnsMessage.writeQuery, UdpLayer.sendTo) → UdpLayer.input → readable → DnsView.check/parse → finish → cache.
// A truncated (TC) answer is asked again over TCP of the same server (RFC 7766 §5, apps/dnsTcp), bounded by
// `tcpTimeoutMs`; the TCP answer is judged like a UDP one.
//
// Deliberately not supported: EDNS (so UDP answers stay ≤ 512 bytes, RFC 1035 §4.2.1), AAAA, search lists,
// keeping a TCP connection open for later queries (RFC 7766 §6.2.1 allows it; one query per connection here),
// and following a CNAME whose target the response does not answer (RFC 1034 §5.3.3 would re-query).

import { Err, type ErrCode } from "../core/errors.js";
import { tryParseIpv4 } from "../core/addr.js";
import { assert } from "../core/assert.js";
import { makeCounters } from "../core/stats.js";
import type { Random } from "../core/random.js";
import { Deadline, type Scheduler } from "../core/scheduler.js";
import { UDP_MAX_DATA, type UdpLayer, type UdpPcb } from "../udp/udp.js";
import type { TcpLayer } from "../tcp/tcp.js";
import { DnsTcpExchange } from "./dnsTcp.js";
import {
  DNS_CHECK_NAMES,
  DNS_DROP_NAMES,
  DNS_UDP_MAX_BYTES,
  DnsCheck,
  DnsClass,
  DnsType,
  DnsView,
  NameCheck,
  OPCODE_QUERY,
  Rcode,
  checkName,
  nameKey,
  writeQuery,
  type DnsMessage,
} from "./dnsMessage.js";

export type DnsError = "NXDOMAIN" | "NO_ANSWER" | "TIMEOUT" | "SERVFAIL" | "REFUSED" | "BAD_NAME" | "NO_SERVERS";

/**
 * The outcome of `resolve`. Errors:
 * - NXDOMAIN: RCODE 3, the name does not exist (RFC 1035 §4.1.1; through a CNAME chain, its target, RFC 6604).
 * - NO_ANSWER: NOERROR but no A record for the name or the end of its CNAME chain (RFC 2308 §2.2 "NODATA").
 * - TIMEOUT: no server gave a usable answer within the tries and `totalTimeoutMs` (silence, ICMP unreachable,
 *   or only spoofed/malformed datagrams), or the resolver was shut down.
 * - SERVFAIL: every server that answered said SERVFAIL, FORMERR or NOTIMP, or set TC and then did not answer
 *   over TCP (refused, reset, closed early, malformed, or not within `tcpTimeoutMs`); without a TCP layer a TC
 *   answer counts as that server failing at once.
 * - REFUSED: the last server that answered refused (RCODE 5).
 * - BAD_NAME: not a name we can query (`checkName`). NO_SERVERS: no server configured.
 */
export type DnsResult = { ok: true; addresses: number[]; ttlSeconds: number } | { ok: false; error: DnsError };

export interface DnsResolverOptions {
  /** Server addresses (u32), tried round-robin. */
  servers?: number[];
  /** Wait for an answer per try. */
  timeoutMs?: number;
  /** Wait for the TCP retry after a truncated answer: connect, query and the whole response. */
  tcpTimeoutMs?: number;
  /** Tries per server. */
  attempts?: number;
  /** Bound on one `resolve`, whatever the tries. */
  totalTimeoutMs?: number;
  /** Cached names (positive and negative); 0 turns the cache off. */
  cacheEntries?: number;
}

export const DNS_PORT = 53;
export const DEFAULT_DNS_TIMEOUT_MS = 2000;
/** glibc's RES_TIMEOUT (5 s) for a TCP exchange; still capped by `totalTimeoutMs`. */
export const DEFAULT_DNS_TCP_TIMEOUT_MS = 5000;
export const DEFAULT_DNS_ATTEMPTS = 2;
export const DEFAULT_DNS_TOTAL_TIMEOUT_MS = 10_000;
export const DEFAULT_DNS_CACHE_ENTRIES = 32;
/** CNAME links followed within one response before giving up (loops end here too). */
export const MAX_CNAME_CHAIN = 8;
/** RFC 2308 §5 negative TTL = min(SOA TTL, SOA MINIMUM), further capped: a board should notice a new name soon. */
export const NEGATIVE_TTL_CAP_SECONDS = 60;
/** Positive TTLs are capped at a day (RFC 8767 §4 suggests capping; a board is not a long-lived cache). */
export const MAX_TTL_SECONDS = 86_400;
/** RFC 6335 §6 dynamic ports; RFC 5452 §10 asks for as many random source ports as we can use. */
const PORT_FIRST = 49152;
const PORT_COUNT = 16384;
/**
 * Per-try PCB queue: deep enough that a burst of forged datagrams arriving with the answer (all drained at the
 * end of the same input batch) does not crowd the answer out.
 */
const QUEUED_DATAGRAMS = 16;
const QUEUED_BYTES = 32 * 1024;
/** Random ports tried before falling back to the UDP layer's own choice. */
const PORT_PICKS = 16;

/** One cached answer; `expiresAtMs` is on the scheduler's clock. */
interface CacheEntry {
  readonly result: DnsResult;
  readonly expiresAtMs: number;
}

/** One `resolve` on the wire: the current try's PCB, ID and server, and its one deadline. */
class Query {
  /** Index of the current try in the round-robin sequence; each try is `servers[tryIndex % servers.length]`. */
  tryIndex = -1;
  /** The server of the current try. */
  server = 0;
  /** The current try's ID (RFC 5452 §9.2: random per query). */
  id = 0;
  /** The current try's PCB; null between tries and after the end. */
  pcb: UdpPcb | null = null;
  /** The current try's TCP retry after a truncated answer (RFC 7766 §5); null otherwise. */
  tcp: DnsTcpExchange | null = null;
  /** What to report when the tries run out: TIMEOUT unless a server answered with a failure. */
  failure: DnsError = "TIMEOUT";
  /** Servers that answered with a failure this time; not asked again by this query. */
  readonly failedServers = new Set<number>();
  /** The current try already failed (ICMP error, send error): the deadline was pulled in to move on. */
  tryFailed = false;
  settle: (result: DnsResult) => void = () => undefined;
  readonly promise: Promise<DnsResult>;
  /** Fires at the end of each try, capped by `giveUpAtMs`. */
  readonly deadline: Deadline;

  constructor(
    readonly name: string,
    readonly key: string,
    readonly servers: readonly number[],
    readonly giveUpAtMs: number,
    fire: (q: Query) => void,
  ) {
    this.promise = new Promise((resolve) => (this.settle = resolve));
    this.deadline = new Deadline(() => fire(this), "dns try");
  }
}

export class DnsResolver {
  readonly stats = makeCounters([
    "queries",
    "dottedQuads",
    "badNames",
    "noServers",
    "cacheHits",
    "cacheExpired",
    "cacheEvictions",
    "coalesced",
    "txQueries",
    "txErrors",
    "tryTimeouts",
    "icmpErrors",
    "rxDatagrams",
    "rxResponses",
    "dropWrongSource",
    "dropWrongId",
    "dropNotResponse",
    "dropQuestionMismatch",
    // One counter per malformation DnsView.check reports.
    ...DNS_DROP_NAMES,
    "truncatedAnswers",
    /** TCP retries of truncated answers started, answered (a response believed), failed, and timed out. */
    "tcpQueries",
    "tcpAnswers",
    "tcpFailures",
    "tcpTimeouts",
    "serverFailures",
    "refused",
    "answers",
    "nxdomain",
    "noAnswer",
    "timeouts",
  ] as const);

  private serverList: number[];
  private readonly timeoutMs: number;
  private readonly tcpTimeoutMs: number;
  private readonly attempts: number;
  private readonly totalTimeoutMs: number;
  private readonly cacheEntries: number;
  /** Name key → answer; Map order is least recently used first. Bounded by `cacheEntries`. */
  private readonly cache = new Map<string, CacheEntry>();
  /** Name key → the query on the wire for it; a second `resolve` of the same name shares it. */
  private readonly inflight = new Map<string, Query>();
  private readonly view = new DnsView();
  /** Queries are written here; at most 12 + 255 + 4 bytes. */
  private readonly txBuffer = new Uint8Array(DNS_UDP_MAX_BYTES);
  /** Responses are read here whole, so an oversized one is judged on its content rather than cut. */
  private readonly rxBuffer = new Uint8Array(UDP_MAX_DATA);

  /**
   * @param random the stack's entropy for query IDs and source ports: crypto-strength unless the stack was
   *   seeded, as RFC 5452 §9.2 needs against off-path spoofing.
   * @param tcp for retrying truncated answers over TCP (RFC 7766 §5); null: a TC answer fails that server.
   */
  constructor(
    private readonly udp: UdpLayer,
    private readonly scheduler: Scheduler,
    private readonly random: Random,
    options: DnsResolverOptions = {},
    private readonly tcp: TcpLayer | null = null,
  ) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_DNS_TIMEOUT_MS;
    this.tcpTimeoutMs = options.tcpTimeoutMs ?? DEFAULT_DNS_TCP_TIMEOUT_MS;
    this.attempts = options.attempts ?? DEFAULT_DNS_ATTEMPTS;
    this.totalTimeoutMs = options.totalTimeoutMs ?? DEFAULT_DNS_TOTAL_TIMEOUT_MS;
    this.cacheEntries = options.cacheEntries ?? DEFAULT_DNS_CACHE_ENTRIES;
    assert(this.timeoutMs > 0 && this.tcpTimeoutMs > 0 && this.totalTimeoutMs > 0, "dns: timeouts must be positive");
    assert(Number.isInteger(this.attempts) && this.attempts >= 1, "dns: attempts must be a positive integer");
    assert(Number.isInteger(this.cacheEntries) && this.cacheEntries >= 0, "dns: cacheEntries must be ≥ 0");
    this.serverList = [];
    this.setServers(options.servers ?? []);
  }

  /** The servers queried, in order. */
  get servers(): readonly number[] {
    return this.serverList;
  }

  /** Replaces the server list; queries already on the wire keep the list they started with. */
  setServers(servers: number[]): void {
    for (const s of servers) assert(Number.isInteger(s) && s > 0 && s <= 0xffffffff, `dns: bad server address ${s}`);
    this.serverList = servers.map((s) => s >>> 0);
  }

  /** The A records of `name` (a dotted quad is its own answer, with no query and TTL 0). Never rejects. */
  resolve(name: string): Promise<DnsResult> {
    this.stats.queries++;
    const quad = tryParseIpv4(name);
    if (quad >= 0) {
      this.stats.dottedQuads++;
      return Promise.resolve({ ok: true, addresses: [quad], ttlSeconds: 0 });
    }
    if (checkName(name) !== NameCheck.OK) {
      this.stats.badNames++;
      return Promise.resolve({ ok: false, error: "BAD_NAME" });
    }
    const key = nameKey(name);
    const cached = this.cacheLookup(key);
    if (cached !== null) return Promise.resolve(cached);
    const running = this.inflight.get(key);
    if (running !== undefined) {
      this.stats.coalesced++;
      return running.promise;
    }
    if (this.servers.length === 0) {
      this.stats.noServers++;
      return Promise.resolve({ ok: false, error: "NO_SERVERS" });
    }
    const q = new Query(name, key, this.servers, this.scheduler.now() + this.totalTimeoutMs, this.onDeadline);
    this.inflight.set(key, q);
    this.nextTry(q);
    return q.promise;
  }

  /** Forgets every cached answer. */
  clearCache(): void {
    this.cache.clear();
  }

  /** Cached names, expired ones included until looked up or evicted. */
  get cacheSize(): number {
    return this.cache.size;
  }

  /** Queries on the wire. */
  get pendingCount(): number {
    return this.inflight.size;
  }

  /** Ends every query (each reports TIMEOUT), closing its PCB and cancelling its deadline; clears the cache. */
  shutdown(): void {
    for (const q of [...this.inflight.values()]) this.finish(q, { ok: false, error: "TIMEOUT" });
    this.cache.clear();
  }

  private cacheLookup(key: string): DnsResult | null {
    const entry = this.cache.get(key);
    if (entry === undefined) return null;
    const now = this.scheduler.now();
    if (entry.expiresAtMs <= now) {
      this.stats.cacheExpired++;
      this.cache.delete(key);
      return null;
    }
    this.stats.cacheHits++;
    // Most recently used goes last.
    this.cache.delete(key);
    this.cache.set(key, entry);
    const r = entry.result;
    // RFC 1035 §7.1 (and what any cache does): report what is left of the TTL.
    return r.ok ? { ok: true, addresses: [...r.addresses], ttlSeconds: Math.ceil((entry.expiresAtMs - now) / 1000) } : r;
  }

  private cacheStore(key: string, result: DnsResult, ttlSeconds: number): void {
    if (this.cacheEntries === 0 || ttlSeconds <= 0) return; // RFC 1035 §3.2.1: TTL 0 is not cached.
    this.cache.delete(key);
    while (this.cache.size >= this.cacheEntries) {
      const oldest = this.cache.keys().next();
      if (oldest.done === true) break;
      this.cache.delete(oldest.value);
      this.stats.cacheEvictions++;
    }
    this.cache.set(key, { result, expiresAtMs: this.scheduler.now() + ttlSeconds * 1000 });
  }

  /** Starts the next try of `q`, or ends it when the tries or the time have run out. */
  private nextTry(q: Query): void {
    this.closePcb(q);
    q.tryFailed = false;
    const now = this.scheduler.now();
    const maxTries = q.servers.length * this.attempts;
    let server = -1;
    while (server < 0 && ++q.tryIndex < maxTries) {
      const candidate = q.servers[q.tryIndex % q.servers.length] as number;
      if (!q.failedServers.has(candidate)) server = candidate;
    }
    if (server < 0 || now >= q.giveUpAtMs) {
      this.finish(q, { ok: false, error: q.failure });
      return;
    }
    q.server = server;
    // RFC 5452 §9.2: a fresh random ID and a fresh random source port for every query sent.
    q.id = this.random.below(0x10000);
    const pcb = this.openPcb(q, server);
    this.scheduler.set(q.deadline, Math.min(now + this.timeoutMs, q.giveUpAtMs));
    if (pcb === null) {
      this.failTry(q);
      return;
    }
    const length = writeQuery(this.txBuffer, 0, q.id, q.name);
    const err = this.udp.sendTo(pcb, this.txBuffer, 0, length, null, 0);
    if (err === Err.OK) this.stats.txQueries++;
    else {
      this.stats.txErrors++;
      this.failTry(q);
    }
  }

  /** A PCB bound to a random port and connected to (server, 53), or null when none could be had. */
  private openPcb(q: Query, server: number): UdpPcb | null {
    const udp = this.udp;
    const pcb = udp.open({ maxQueuedDatagrams: QUEUED_DATAGRAMS, maxQueuedBytes: QUEUED_BYTES });
    let err: ErrCode = Err.USE;
    for (let i = 0; i < PORT_PICKS && err === Err.USE; i++) {
      err = udp.bind(pcb, 0, PORT_FIRST + this.random.below(PORT_COUNT));
    }
    if (err !== Err.OK) err = udp.bind(pcb, 0, 0);
    // Connected, as glibc's res_send does: the UDP layer then hands us only datagrams from (server, 53) and
    // reports ICMP errors about our query (RFC 1122 §4.1.3.3), which end the try early.
    if (err === Err.OK) err = udp.connect(pcb, server, DNS_PORT);
    if (err !== Err.OK) {
      udp.close(pcb);
      return null;
    }
    pcb.events = {
      readable: (p) => this.onReadable(q, p),
      error: (p) => this.onIcmpError(q, p),
    };
    q.pcb = pcb;
    return pcb;
  }

  /** Ends the current try's transport: its UDP PCB, and a TCP retry if one is running (reset). */
  private closePcb(q: Query): void {
    if (q.pcb !== null) this.udp.close(q.pcb);
    q.pcb = null;
    if (q.tcp !== null) q.tcp.cancel();
    q.tcp = null;
  }

  /** Ends the current try now: the deadline is pulled in so the next try starts outside the caller's stack. */
  private failTry(q: Query): void {
    q.tryFailed = true;
    this.closePcb(q);
    this.scheduler.set(q.deadline, this.scheduler.now());
  }

  private readonly onDeadline = (q: Query): void => {
    if (q.tcp !== null) {
      // The server answered, truncated, but not over TCP in time: as a TC answer used to, it fails.
      this.stats.tcpTimeouts++;
      this.closePcb(q);
      this.serverFailed(q, "SERVFAIL");
      return;
    }
    if (!q.tryFailed) this.stats.tryTimeouts++;
    this.nextTry(q);
  };

  private onIcmpError(q: Query, pcb: UdpPcb): void {
    if (pcb !== q.pcb) return;
    // Port or host unreachable: this server will not answer this try. Not proof it never will (ICMP is
    // unauthenticated), so the server stays in the rotation.
    this.stats.icmpErrors++;
    this.failTry(q);
  }

  private onReadable(q: Query, pcb: UdpPcb): void {
    while (q.pcb === pcb && !pcb.queue.isEmpty) {
      const srcIp = pcb.queue.nextSrcIp;
      const srcPort = pcb.queue.nextSrcPort;
      const n = this.udp.receive(pcb, this.rxBuffer, 0, this.rxBuffer.length);
      this.stats.rxDatagrams++;
      this.onDatagram(q, srcIp, srcPort, n);
    }
  }

  /** RFC 5452 §3/§9.1: believe a response only if source, port, ID and question all match ours. */
  private onDatagram(q: Query, srcIp: number, srcPort: number, length: number): void {
    const stats = this.stats;
    // The connected PCB already filters on source; checked again so the rule does not hang on the UDP layer.
    if (srcIp !== q.server || srcPort !== DNS_PORT) {
      stats.dropWrongSource++;
      return;
    }
    // Malformed or not ours: maybe forged, so keep waiting for the real answer rather than failing the try.
    const msg = this.believe(q, this.rxBuffer, length);
    if (msg === null) return;
    this.onResponse(q, this.view.isTruncated, this.view.rcode, msg, false);
  }

  /**
   * The checks every response must pass, UDP or TCP (RFC 5452 §9.1: ID, response to a query, well formed, our
   * question); each failure counted. On success `this.view` still points at the message.
   */
  private believe(q: Query, bytes: Uint8Array, length: number): DnsMessage | null {
    const stats = this.stats;
    const v = this.view.point(bytes, 0, length);
    if (!v.hasHeader) {
      stats.dropTruncated++;
      return null;
    }
    if (v.id !== q.id) {
      stats.dropWrongId++;
      return null;
    }
    if (!v.isResponse || v.opcode !== OPCODE_QUERY) {
      stats.dropNotResponse++;
      return null;
    }
    const reason = v.check();
    if (reason !== DnsCheck.OK) {
      stats[DNS_CHECK_NAMES[reason] as "dropTruncated"]++;
      return null;
    }
    const msg = v.parse();
    const question = msg.questions[0];
    // RFC 5452 §4.2/§9.1: the question must be ours (names compare case-insensitively, RFC 4343).
    if (msg.questions.length !== 1 || question === undefined || question.nameKey !== q.key || question.type !== DnsType.A || question.class !== DnsClass.IN) {
      stats.dropQuestionMismatch++;
      return null;
    }
    stats.rxResponses++;
    return msg;
  }

  /**
   * RFC 7766 §5 (and RFC 1123 §6.1.3.2): a truncated UDP answer is asked again over TCP of the same server,
   * with a fresh ID; the try's deadline becomes the TCP exchange's (`tcpTimeoutMs`, within the total).
   */
  private retryOverTcp(q: Query, tcp: TcpLayer): void {
    this.closePcb(q);
    q.id = this.random.below(0x10000);
    // RFC 1035 §4.2.2: the message is prefixed with its length as two octets.
    const length = writeQuery(this.txBuffer, 2, q.id, q.name);
    this.txBuffer[0] = length >>> 8;
    this.txBuffer[1] = length & 0xff;
    const exchange: DnsTcpExchange = new DnsTcpExchange(tcp, {
      response: (bytes, n) => this.onTcpResponse(q, exchange, bytes, n),
      failed: () => this.onTcpFailed(q, exchange),
    });
    const err = exchange.start(q.server, DNS_PORT, this.txBuffer, length + 2);
    if (err !== Err.OK) {
      this.stats.tcpFailures++;
      this.serverFailed(q, "SERVFAIL");
      return;
    }
    q.tcp = exchange;
    this.stats.tcpQueries++;
    this.scheduler.set(q.deadline, Math.min(this.scheduler.now() + this.tcpTimeoutMs, q.giveUpAtMs));
  }

  private onTcpResponse(q: Query, exchange: DnsTcpExchange, bytes: Uint8Array, length: number): void {
    if (q.tcp !== exchange) return;
    q.tcp = null;
    const msg = this.believe(q, bytes, length);
    if (msg === null) {
      // Over TCP nothing else will come on this connection: a response we cannot believe ends the retry.
      this.stats.tcpFailures++;
      this.serverFailed(q, "SERVFAIL");
      return;
    }
    this.stats.tcpAnswers++;
    this.onResponse(q, this.view.isTruncated, this.view.rcode, msg, true);
  }

  private onTcpFailed(q: Query, exchange: DnsTcpExchange): void {
    if (q.tcp !== exchange) return;
    q.tcp = null;
    this.stats.tcpFailures++;
    this.serverFailed(q, "SERVFAIL");
  }

  private onResponse(q: Query, isTruncated: boolean, rcode: number, msg: DnsMessage, isOverTcp: boolean): void {
    const stats = this.stats;
    if (isTruncated) {
      // RFC 1035 §4.2.1 / RFC 7766 §5: a TC answer is incomplete; ask again over TCP. Without TCP, or when the
      // TCP answer itself is marked truncated (nothing bigger exists), this server fails and we move on.
      stats.truncatedAnswers++;
      if (!isOverTcp && this.tcp !== null) this.retryOverTcp(q, this.tcp);
      else this.serverFailed(q, "SERVFAIL");
      return;
    }
    switch (rcode) {
      case Rcode.NOERROR: {
        const answer = followChain(msg, q.key);
        if (answer !== null) {
          stats.answers++;
          const ttl = Math.min(answer.ttlSeconds, MAX_TTL_SECONDS);
          const result: DnsResult = { ok: true, addresses: answer.addresses, ttlSeconds: ttl };
          this.cacheStore(q.key, result, ttl);
          this.finish(q, { ok: true, addresses: [...answer.addresses], ttlSeconds: ttl });
        } else {
          // RFC 2308 §2.2: NODATA, the name exists but has no A record.
          stats.noAnswer++;
          this.finishNegative(q, "NO_ANSWER", msg);
        }
        return;
      }
      case Rcode.NXDOMAIN:
        // RFC 1035 §4.1.1 / RFC 2308 §2.1: the name does not exist; final, no other server is asked.
        stats.nxdomain++;
        this.finishNegative(q, "NXDOMAIN", msg);
        return;
      case Rcode.REFUSED:
        stats.refused++;
        this.serverFailed(q, "REFUSED");
        return;
      default:
        // SERVFAIL, FORMERR, NOTIMP and unassigned codes: this server cannot help; the next one may.
        stats.serverFailures++;
        this.serverFailed(q, "SERVFAIL");
        return;
    }
  }

  /** RFC 2308 §5: cache a negative answer for min(SOA TTL, SOA MINIMUM), capped; without an SOA, not at all. */
  private finishNegative(q: Query, error: "NXDOMAIN" | "NO_ANSWER", msg: DnsMessage): void {
    const soa = msg.authority.find((rr) => rr.type === DnsType.SOA && rr.class === DnsClass.IN);
    const result: DnsResult = { ok: false, error };
    if (soa !== undefined) {
      this.cacheStore(q.key, result, Math.min(soa.ttlSeconds, soa.soaMinimumSeconds, NEGATIVE_TTL_CAP_SECONDS));
    }
    this.finish(q, result);
  }

  /** The server answered but cannot help (RFC 1035 §7.2 / RFC 1536 §1: try the next one). */
  private serverFailed(q: Query, failure: "SERVFAIL" | "REFUSED"): void {
    q.failure = failure;
    q.failedServers.add(q.server);
    this.scheduler.cancel(q.deadline);
    this.nextTry(q);
  }

  private finish(q: Query, result: DnsResult): void {
    this.scheduler.cancel(q.deadline);
    this.closePcb(q);
    if (this.inflight.get(q.key) === q) this.inflight.delete(q.key);
    if (!result.ok && result.error === "TIMEOUT") this.stats.timeouts++;
    q.settle(result);
  }
}

/**
 * RFC 1034 §3.6.2 / §4.3.2: the A records of `key`, following CNAMEs in the answer section, with the smallest
 * TTL met on the way; null when the chain ends without one (or runs past MAX_CNAME_CHAIN, a loop included).
 * Records for names off the chain are ignored (RFC 5452 §6: do not believe what was not asked).
 */
function followChain(msg: DnsMessage, key: string): { addresses: number[]; ttlSeconds: number } | null {
  let ttlSeconds = MAX_TTL_SECONDS;
  let current = key;
  for (let hop = 0; hop <= MAX_CNAME_CHAIN; hop++) {
    const addresses: number[] = [];
    let addressTtl = ttlSeconds;
    let cnameTarget: string | null = null;
    let cnameTtl = 0;
    for (const rr of msg.answers) {
      if (rr.class !== DnsClass.IN || rr.nameKey !== current) continue;
      if (rr.type === DnsType.A) {
        addresses.push(rr.address);
        addressTtl = Math.min(addressTtl, rr.ttlSeconds);
      } else if (rr.type === DnsType.CNAME && cnameTarget === null) {
        cnameTarget = rr.targetKey;
        cnameTtl = rr.ttlSeconds;
      }
    }
    if (addresses.length > 0) return { addresses, ttlSeconds: addressTtl };
    if (cnameTarget === null) return null;
    ttlSeconds = Math.min(ttlSeconds, cnameTtl);
    current = cnameTarget;
  }
  return null;
}
