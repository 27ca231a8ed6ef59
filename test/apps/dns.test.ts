// The DNS stub resolver end to end: stack A resolves, stack B runs a fake DNS server PCB the test scripts,
// over MemLink on the simulated clock. Covers answers, CNAME chains, NXDOMAIN vs NO_ANSWER, RFC 5452 response
// validation (ID, source port, question), server failover, retries bounded by totalTimeoutMs, and the TTL cache.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { A_IP, B_IP, settle, twoStacks, type TwoStacks } from "../helpers/twoStacks.js";
import { parseIpv4 } from "../../src/core/addr.js";
import { Prng } from "../../src/core/prng.js";
import type { Stack } from "../../src/stack/stack.js";
import type { UdpPcb } from "../../src/udp/udp.js";
import type { TcpLayer } from "../../src/tcp/tcp.js";
import type { TcpListener, TcpPcb } from "../../src/tcp/pcb.js";
import { Deadline } from "../../src/core/scheduler.js";
import { DnsResolver, type DnsResolverOptions, type DnsResult } from "../../src/apps/dns.js";

const C_IP = parseIpv4("10.0.0.3"); // on the link, owned by nobody: a silent server

/** A query as the fake server saw it. */
interface SeenQuery {
  id: number;
  flags: number;
  srcIp: number;
  srcPort: number;
  /** Lower-cased dotted name from the question. */
  name: string;
  qtype: number;
  qclass: number;
  /** The question section's bytes, echoed in replies. */
  question: number[];
  atMs: number;
}

interface Reply {
  bytes: number[];
  /** Send from this port instead of 53 (it must be one of FakeDns's ports). */
  fromPort?: number;
}

function u16(n: number): number[] {
  return [(n >>> 8) & 0xff, n & 0xff];
}

function u32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

/** Uncompressed wire form of a dotted name. */
function wireName(name: string): number[] {
  return [...name.split(".").flatMap((l) => [l.length, ...Buffer.from(l, "latin1")]), 0];
}

/** Pointer to the question name at offset 12 (RFC 1035 §4.1.4). */
const PTR_Q = [0xc0, 0x0c];

function rr(owner: number[], type: number, ttl: number, rdata: number[]): number[] {
  return [...owner, ...u16(type), ...u16(1), ...u32(ttl), ...u16(rdata.length), ...rdata];
}

const a = (owner: number[], addr: string, ttl = 300): number[] => rr(owner, 1, ttl, u32(parseIpv4(addr)));
const cname = (owner: number[], target: string, ttl = 300): number[] => rr(owner, 5, ttl, wireName(target));
const soa = (owner: number[], ttl: number, minimum: number): number[] =>
  rr(owner, 6, ttl, [...wireName("ns.test"), ...wireName("hostmaster.test"), ...u32(1), ...u32(3600), ...u32(600), ...u32(86400), ...u32(minimum)]);

/** A response to `q`: its ID and question echoed unless overridden, QR RD RA set. */
function response(
  q: SeenQuery,
  o: { id?: number; rcode?: number; tc?: boolean; answers?: number[][]; authority?: number[][]; question?: number[] } = {},
): number[] {
  const answers = o.answers ?? [];
  const authority = o.authority ?? [];
  const flags = 0x8180 | (o.tc === true ? 0x0200 : 0) | (o.rcode ?? 0);
  return [
    ...u16(o.id ?? q.id),
    ...u16(flags),
    ...u16(1),
    ...u16(answers.length),
    ...u16(authority.length),
    ...u16(0),
    ...(o.question ?? q.question),
    ...answers.flat(),
    ...authority.flat(),
  ];
}

/** A query's fields; queries are uncompressed (RFC 1035 §4.1.2), so the labels are walked by hand. */
function parseQuery(bytes: number[], srcIp: number, srcPort: number, atMs: number): SeenQuery {
  let p = 12;
  const labels: string[] = [];
  while (bytes[p] !== 0) {
    const len = bytes[p]!;
    labels.push(Buffer.from(bytes.slice(p + 1, p + 1 + len)).toString("latin1").toLowerCase());
    p += 1 + len;
  }
  p += 1;
  return {
    id: (bytes[0]! << 8) | bytes[1]!,
    flags: (bytes[2]! << 8) | bytes[3]!,
    srcIp,
    srcPort,
    name: labels.join("."),
    qtype: (bytes[p]! << 8) | bytes[p + 1]!,
    qclass: (bytes[p + 2]! << 8) | bytes[p + 3]!,
    question: bytes.slice(12, p + 4),
    atMs,
  };
}

/** A DNS server PCB on port 53 of `stack` (plus a spare on 5353 to answer from a wrong port), run by `policy`. */
class FakeDns {
  readonly seen: SeenQuery[] = [];
  policy: (q: SeenQuery) => Reply[] = () => [];
  private readonly pcbs = new Map<number, UdpPcb>();
  private readonly buf = new Uint8Array(2048);

  constructor(private readonly stack: Stack) {
    for (const port of [53, 5353]) {
      const pcb = stack.udp.open({ maxQueuedDatagrams: 64 });
      expect(stack.udp.bind(pcb, 0, port)).toBe(0);
      this.pcbs.set(port, pcb);
    }
    this.pcbs.get(53)!.events = { readable: (pcb) => this.onReadable(pcb) };
  }

  private onReadable(pcb: UdpPcb): void {
    const udp = this.stack.udp;
    while (!pcb.queue.isEmpty) {
      const srcIp = pcb.queue.nextSrcIp;
      const srcPort = pcb.queue.nextSrcPort;
      const n = udp.receive(pcb, this.buf, 0, this.buf.length);
      const q = parseQuery([...this.buf.subarray(0, n)], srcIp, srcPort, this.stack.scheduler.now());
      this.seen.push(q);
      for (const r of this.policy(q)) {
        const out = new Uint8Array(r.bytes);
        udp.sendTo(this.pcbs.get(r.fromPort ?? 53)!, out, 0, out.length, srcIp, srcPort);
      }
    }
  }

  close(): void {
    for (const pcb of this.pcbs.values()) this.stack.udp.close(pcb);
    this.pcbs.clear();
  }
}

/** What the TCP server does with a query: answer (in writes of `pieceBytes`, `gapMs` apart), send some bytes and close, or nothing. */
type TcpReply = { bytes: number[]; pieceBytes?: number; gapMs?: number } | { closeAfter: number[] } | "silent";

/** A DNS server on TCP port 53 of `stack` (RFC 7766; RFC 1035 §4.2.2 length prefixes), run by `policy`. */
class FakeTcpDns {
  readonly seen: SeenQuery[] = [];
  /** Each connection's bytes as received, length prefix included. */
  readonly received: number[][] = [];
  /** Connections whose client sent its FIN. */
  finsSeen = 0;
  policy: (q: SeenQuery) => TcpReply = () => "silent";
  private readonly listener: TcpListener;
  private readonly later: Deadline[] = [];

  constructor(private readonly stack: Stack) {
    const tcp = stack.tcp;
    const l = tcp.listen(0, 53, 8, {
      acceptable: (listener) => {
        for (let pcb = tcp.accept(listener); pcb !== null; pcb = tcp.accept(listener)) this.serve(pcb);
      },
    });
    if (typeof l === "number") throw new Error(`listen failed: ${l}`);
    this.listener = l;
  }

  private serve(pcb: TcpPcb): void {
    const tcp = this.stack.tcp;
    const got: number[] = [];
    this.received.push(got);
    const buf = new Uint8Array(4096);
    let isAnswered = false;
    tcp.setNoDelay(pcb, true);
    pcb.events = {
      readable: (p) => {
        for (let n = tcp.read(p, buf, 0, buf.length); n > 0; n = tcp.read(p, buf, 0, buf.length)) got.push(...buf.subarray(0, n));
        if (!isAnswered && got.length >= 2 && got.length >= 2 + ((got[0]! << 8) | got[1]!)) {
          isAnswered = true;
          this.answer(p, parseQuery(got.slice(2), p.remoteIp, p.remotePort, this.stack.scheduler.now()));
        }
      },
      peerClosed: () => this.finsSeen++,
    };
  }

  private answer(pcb: TcpPcb, q: SeenQuery): void {
    const tcp = this.stack.tcp;
    this.seen.push(q);
    const r = this.policy(q);
    if (r === "silent") return;
    if ("closeAfter" in r) {
      const out = new Uint8Array(r.closeAfter);
      expect(tcp.write(pcb, out, 0, out.length)).toBe(out.length);
      tcp.close(pcb);
      return;
    }
    const framed = new Uint8Array([r.bytes.length >>> 8, r.bytes.length & 0xff, ...r.bytes]);
    const size = r.pieceBytes ?? framed.length;
    const pieces = Math.ceil(framed.length / size);
    for (let i = 0; i < pieces; i++) {
      const chunk = framed.subarray(i * size, Math.min(framed.length, (i + 1) * size));
      const send = (): void => void expect(tcp.write(pcb, chunk, 0, chunk.length)).toBe(chunk.length);
      if (i === 0) send();
      else {
        const d = new Deadline(send, "fake dns tcp write");
        this.later.push(d);
        this.stack.scheduler.set(d, this.stack.scheduler.now() + i * (r.gapMs ?? 10));
      }
    }
  }

  close(): void {
    this.stack.tcp.closeListener(this.listener);
    for (const d of this.later) this.stack.scheduler.cancel(d);
  }
}

let net: TwoStacks;
let server: FakeDns;
let tcpServer: FakeTcpDns | null = null;
let resolver: DnsResolver;

function makeResolver(o: DnsResolverOptions = {}, tcp: TcpLayer | null = null): DnsResolver {
  const prng = new Prng(0x5eed);
  return new DnsResolver(net.a.udp, net.scheduler, prng, { servers: [B_IP], ...o }, tcp);
}

function resolve(name: string, limitMs = 60_000): Promise<DnsResult> {
  return settle(net.scheduler, resolver.resolve(name), limitMs);
}

beforeEach(() => {
  net = twoStacks();
  server = new FakeDns(net.b);
  resolver = makeResolver();
});

afterEach(() => {
  // Quiescence (docs/architecture.md "Tests"): no query on the wire, no resolver PCB, no resolver deadline.
  expect(resolver.pendingCount).toBe(0);
  expect(net.a.udp.allPcbs()).toEqual([]);
  expect(net.scheduler.armedLabels()).not.toContain("dns try");
  server.close();
  tcpServer?.close();
  tcpServer = null;
  net.stop();
  expect(net.scheduler.armedLabels()).toEqual([]);
});

describe("answers", () => {
  it("resolves an A record with one query: RD set, A/IN, from a random dynamic port (RFC 5452 §9.2)", async () => {
    server.policy = (q) => [{ bytes: response(q, { answers: [a(PTR_Q, "10.56.0.9", 300)] }) }];
    expect(await resolve("board.test")).toEqual({ ok: true, addresses: [parseIpv4("10.56.0.9")], ttlSeconds: 300 });
    expect(server.seen).toHaveLength(1);
    const q = server.seen[0]!;
    expect(q).toMatchObject({ flags: 0x0100, srcIp: A_IP, name: "board.test", qtype: 1, qclass: 1 });
    expect(q.srcPort).toBeGreaterThanOrEqual(49152);
    expect(resolver.stats).toMatchObject({ txQueries: 1, rxResponses: 1, answers: 1 });
  });

  it("returns every A record, in order", async () => {
    server.policy = (q) => [{ bytes: response(q, { answers: [a(PTR_Q, "10.0.0.7", 120), a(PTR_Q, "10.0.0.8", 100)] }) }];
    expect(await resolve("multi.test")).toEqual({ ok: true, addresses: [parseIpv4("10.0.0.7"), parseIpv4("10.0.0.8")], ttlSeconds: 100 });
  });

  it("matches the question case-insensitively (RFC 4343)", async () => {
    server.policy = (q) => [{ bytes: response(q, { question: [...wireName("BOARD.Test"), 0, 1, 0, 1], answers: [a(PTR_Q, "10.56.0.9")] }) }];
    expect(await resolve("board.TEST")).toMatchObject({ ok: true });
  });

  it("answers a dotted quad itself, with no query", async () => {
    expect(await resolve("192.168.4.1")).toEqual({ ok: true, addresses: [parseIpv4("192.168.4.1")], ttlSeconds: 0 });
    expect(server.seen).toEqual([]);
  });

  it("rejects a bad name and a resolver with no servers without a query", async () => {
    expect(await resolve("a..b")).toEqual({ ok: false, error: "BAD_NAME" });
    expect(await resolve(`${"x".repeat(64)}.test`)).toEqual({ ok: false, error: "BAD_NAME" });
    resolver.setServers([]);
    expect(await resolve("board.test")).toEqual({ ok: false, error: "NO_SERVERS" });
    expect(server.seen).toEqual([]);
  });
});

describe("CNAME chains (RFC 1034 §3.6.2), followed within one response", () => {
  it("follows www → web → host to the A record; the TTL is the chain's smallest", async () => {
    server.policy = (q) => [
      {
        bytes: response(q, {
          answers: [
            // Out of order, as servers may send them; an unrelated A record that must not be used.
            a(wireName("host.example.test"), "10.1.2.3", 200),
            cname(wireName("web.example.test"), "host.example.test", 50),
            a(wireName("other.test"), "6.6.6.6", 999),
            cname(PTR_Q, "web.example.test", 300),
          ],
        }),
      },
    ];
    expect(await resolve("www.example.test")).toEqual({ ok: true, addresses: [parseIpv4("10.1.2.3")], ttlSeconds: 50 });
  });

  it("reports NO_ANSWER when the chain ends without an A record (no re-query: documented)", async () => {
    server.policy = (q) => [{ bytes: response(q, { answers: [cname(PTR_Q, "elsewhere.test")] }) }];
    expect(await resolve("alias.test")).toEqual({ ok: false, error: "NO_ANSWER" });
  });

  it("stops at a CNAME loop", async () => {
    server.policy = (q) => [{ bytes: response(q, { answers: [cname(PTR_Q, "b.test"), cname(wireName("b.test"), "loop.test")] }) }];
    expect(await resolve("loop.test")).toEqual({ ok: false, error: "NO_ANSWER" });
  });
});

describe("negative answers (RFC 2308)", () => {
  it("distinguishes NXDOMAIN (RCODE 3) from NOERROR with no A record (NO_ANSWER)", async () => {
    server.policy = (q) => [{ bytes: q.name === "gone.test" ? response(q, { rcode: 3 }) : response(q, {}) }];
    expect(await resolve("gone.test")).toEqual({ ok: false, error: "NXDOMAIN" });
    expect(await resolve("empty.test")).toEqual({ ok: false, error: "NO_ANSWER" });
    expect(resolver.stats).toMatchObject({ nxdomain: 1, noAnswer: 1, timeouts: 0 });
  });

  it("NXDOMAIN is final: the next server is not asked", async () => {
    resolver.setServers([B_IP, C_IP]);
    server.policy = (q) => [{ bytes: response(q, { rcode: 3 }) }];
    expect(await resolve("gone.test")).toEqual({ ok: false, error: "NXDOMAIN" });
    expect(resolver.stats.txQueries).toBe(1);
  });

  it("caches a negative answer for min(SOA TTL, MINIMUM, 60 s) (RFC 2308 §5), and not without an SOA", async () => {
    server.policy = (q) => [{ bytes: response(q, { rcode: 3, authority: q.name === "soa.test" ? [soa(wireName("test"), 900, 30)] : [] }) }];
    expect(await resolve("soa.test")).toEqual({ ok: false, error: "NXDOMAIN" });
    expect(await resolve("soa.test")).toEqual({ ok: false, error: "NXDOMAIN" });
    expect(server.seen).toHaveLength(1);
    net.scheduler.advance(30_000);
    expect(await resolve("soa.test")).toEqual({ ok: false, error: "NXDOMAIN" });
    expect(server.seen).toHaveLength(2);

    expect(await resolve("nosoa.test")).toEqual({ ok: false, error: "NXDOMAIN" });
    expect(await resolve("nosoa.test")).toEqual({ ok: false, error: "NXDOMAIN" });
    expect(server.seen).toHaveLength(4);
  });

  it("caps the negative TTL at 60 s", async () => {
    server.policy = (q) => [{ bytes: response(q, { authority: [soa(wireName("test"), 3600, 3600)] }) }];
    expect(await resolve("nodata.test")).toEqual({ ok: false, error: "NO_ANSWER" });
    net.scheduler.advance(59_000);
    expect(await resolve("nodata.test")).toEqual({ ok: false, error: "NO_ANSWER" });
    expect(server.seen).toHaveLength(1);
    net.scheduler.advance(1_000);
    expect(await resolve("nodata.test")).toEqual({ ok: false, error: "NO_ANSWER" });
    expect(server.seen).toHaveLength(2);
  });
});

describe("response validation (RFC 5452 §9.1)", () => {
  it("ignores a response with the wrong ID, then accepts the right one", async () => {
    server.policy = (q) => [
      { bytes: response(q, { id: q.id ^ 0x0101, answers: [a(PTR_Q, "6.6.6.6")] }) },
      { bytes: response(q, { answers: [a(PTR_Q, "10.56.0.9")] }) },
    ];
    expect(await resolve("board.test")).toEqual({ ok: true, addresses: [parseIpv4("10.56.0.9")], ttlSeconds: 300 });
    expect(resolver.stats.dropWrongId).toBe(1);
    expect(resolver.stats.txQueries).toBe(1);
  });

  it("ignores a response from the wrong source port (UDP drops it before the resolver), then accepts port 53", async () => {
    const noPortBefore = net.a.udp.stats.dropNoPort;
    server.policy = (q) => [
      { bytes: response(q, { answers: [a(PTR_Q, "6.6.6.6")] }), fromPort: 5353 },
      { bytes: response(q, { answers: [a(PTR_Q, "10.56.0.9")] }) },
    ];
    expect(await resolve("board.test")).toEqual({ ok: true, addresses: [parseIpv4("10.56.0.9")], ttlSeconds: 300 });
    expect(net.a.udp.stats.dropNoPort - noPortBefore).toBe(1);
    expect(resolver.stats.rxResponses).toBe(1);
  });

  it("ignores a response that only ever comes from the wrong port: the query times out", async () => {
    resolver = makeResolver({ timeoutMs: 1000, attempts: 2 });
    server.policy = (q) => [{ bytes: response(q, { answers: [a(PTR_Q, "6.6.6.6")] }), fromPort: 5353 }];
    expect(await resolve("board.test")).toEqual({ ok: false, error: "TIMEOUT" });
    expect(server.seen).toHaveLength(2);
  });

  it("ignores a response whose question is not ours (name, type or class)", async () => {
    server.policy = (q) => [
      { bytes: response(q, { question: [...wireName("evil.test"), 0, 1, 0, 1], answers: [a(PTR_Q, "6.6.6.6")] }) },
      { bytes: response(q, { question: [...q.question.slice(0, -4), 0, 28, 0, 1], answers: [a(PTR_Q, "6.6.6.6")] }) },
      { bytes: response(q, { question: [...q.question.slice(0, -4), 0, 1, 0, 3], answers: [a(PTR_Q, "6.6.6.6")] }) },
      { bytes: response(q, { answers: [a(PTR_Q, "10.56.0.9")] }) },
    ];
    expect(await resolve("board.test")).toEqual({ ok: true, addresses: [parseIpv4("10.56.0.9")], ttlSeconds: 300 });
    expect(resolver.stats.dropQuestionMismatch).toBe(3);
  });

  it("ignores malformed and non-response datagrams with the right ID and keeps waiting", async () => {
    server.policy = (q) => [
      { bytes: [...response(q, { answers: [a(PTR_Q, "6.6.6.6")] }).slice(0, 40)] }, // cut inside the answer
      { bytes: [...u16(q.id), 0x01, 0x00, ...response(q).slice(4)] }, // QR clear: a query, not a response
      { bytes: [...u16(q.id), 0x81] }, // shorter than a header
      { bytes: response(q, { question: [0xc0, 0x0c, 0, 1, 0, 1] }) }, // pointer loop in the question
      { bytes: response(q, { answers: [a(PTR_Q, "10.56.0.9")] }) },
    ];
    expect(await resolve("board.test")).toMatchObject({ ok: true, addresses: [parseIpv4("10.56.0.9")] });
    expect(resolver.stats).toMatchObject({ dropTruncated: 2, dropNotResponse: 1, dropPointerLoop: 1, rxResponses: 1 });
  });

  it("uses a fresh random ID and source port on every try", async () => {
    resolver = makeResolver({ timeoutMs: 500, attempts: 4, totalTimeoutMs: 10_000 });
    expect(await resolve("silent.test")).toEqual({ ok: false, error: "TIMEOUT" });
    expect(server.seen).toHaveLength(4);
    expect(new Set(server.seen.map((q) => q.id)).size).toBe(4);
    expect(new Set(server.seen.map((q) => q.srcPort)).size).toBe(4);
  });
});

describe("retries and failover", () => {
  it("goes round-robin over the servers and gives up at totalTimeoutMs", async () => {
    resolver = makeResolver({ servers: [B_IP, C_IP], timeoutMs: 2000, attempts: 2, totalTimeoutMs: 5000 });
    const start = net.scheduler.now();
    const result = await resolve("silent.test");
    const elapsed = net.scheduler.now() - start;
    expect(result).toEqual({ ok: false, error: "TIMEOUT" });
    // Tries at 0 (B), 2000 (C), 4000 (B); the bound ends the third at 5000, before C's second.
    expect(elapsed).toBeGreaterThanOrEqual(5000);
    expect(elapsed).toBeLessThanOrEqual(5002);
    expect(server.seen.map((q) => q.atMs - start)).toEqual([expect.closeTo(0, 0), expect.closeTo(4000, 0)]);
    expect(resolver.stats).toMatchObject({ txQueries: 3, tryTimeouts: 3, timeouts: 1 });
  });

  it("ends after attempts × servers tries when that comes first", async () => {
    resolver = makeResolver({ timeoutMs: 1000, attempts: 3, totalTimeoutMs: 10_000 });
    const start = net.scheduler.now();
    expect(await resolve("silent.test")).toEqual({ ok: false, error: "TIMEOUT" });
    expect(net.scheduler.now() - start).toBeLessThanOrEqual(3002);
    expect(server.seen).toHaveLength(3);
  });

  it("moves on at once from a server that says SERVFAIL and does not ask it again", async () => {
    resolver = makeResolver({ servers: [C_IP, B_IP], timeoutMs: 2000, attempts: 2 });
    // C is silent; B says SERVFAIL: tries C@0, B@2000 (fails at once), C@2000; B's second turn is skipped.
    server.policy = (q) => [{ bytes: response(q, { rcode: 2 }) }];
    const start = net.scheduler.now();
    expect(await resolve("flaky.test")).toEqual({ ok: false, error: "SERVFAIL" });
    expect(net.scheduler.now() - start).toBeGreaterThanOrEqual(4000);
    expect(net.scheduler.now() - start).toBeLessThanOrEqual(4002);
    expect(server.seen).toHaveLength(1);
    expect(resolver.stats).toMatchObject({ serverFailures: 1, txQueries: 3, tryTimeouts: 2 });
  });

  it("asks the next server at once after a REFUSED, and reports REFUSED if that one is silent", async () => {
    resolver = makeResolver({ servers: [B_IP, C_IP], timeoutMs: 2000, attempts: 2 });
    server.policy = (q) => [{ bytes: response(q, { rcode: 5 }) }];
    const pending = resolver.resolve("board.test");
    net.scheduler.advance(5);
    expect(resolver.stats.txQueries).toBe(2);
    // C@0 and C@2000 time out; B is not asked again.
    expect(await settle(net.scheduler, pending)).toEqual({ ok: false, error: "REFUSED" });
    expect(resolver.stats).toMatchObject({ refused: 1, txQueries: 3 });
    expect(server.seen).toHaveLength(1);
  });

  it("takes the second server's answer after the first is silent", async () => {
    resolver = makeResolver({ servers: [C_IP, B_IP], timeoutMs: 2000 });
    server.policy = (q) => [{ bytes: response(q, { answers: [a(PTR_Q, "10.56.0.9")] }) }];
    const start = net.scheduler.now();
    expect(await resolve("board.test")).toMatchObject({ ok: true, addresses: [parseIpv4("10.56.0.9")] });
    expect(net.scheduler.now() - start).toBeGreaterThanOrEqual(2000);
    expect(net.scheduler.now() - start).toBeLessThan(2010);
  });

  it("reports REFUSED when the only server refuses (asked once, not attempts times)", async () => {
    server.policy = (q) => [{ bytes: response(q, { rcode: 5 }) }];
    expect(await resolve("board.test")).toEqual({ ok: false, error: "REFUSED" });
    expect(server.seen).toHaveLength(1);
  });

  it("without a TCP layer, treats a TC answer as that server failing", async () => {
    server.policy = (q) => [{ bytes: response(q, { tc: true, answers: [a(PTR_Q, "10.56.0.9")] }) }];
    expect(await resolve("big.test")).toEqual({ ok: false, error: "SERVFAIL" });
    expect(resolver.stats.truncatedAnswers).toBe(1);
  });

  it("ends a try early on ICMP port unreachable (no server on port 53)", async () => {
    server.close();
    resolver = makeResolver({ timeoutMs: 2000, attempts: 2, totalTimeoutMs: 10_000 });
    const start = net.scheduler.now();
    expect(await resolve("board.test")).toEqual({ ok: false, error: "TIMEOUT" });
    expect(net.scheduler.now() - start).toBeLessThan(100);
    expect(resolver.stats).toMatchObject({ txQueries: 2, icmpErrors: 2, tryTimeouts: 0 });
    server = new FakeDns(net.b);
  });
});

describe("cache", () => {
  it("answers again from the cache with no query and the remaining TTL; queries again once expired", async () => {
    server.policy = (q) => [{ bytes: response(q, { answers: [a(PTR_Q, "10.56.0.9", 60)] }) }];
    expect(await resolve("board.test")).toMatchObject({ ok: true, ttlSeconds: 60 });
    net.scheduler.advance(20_000);
    expect(await resolve("BOARD.test.")).toEqual({ ok: true, addresses: [parseIpv4("10.56.0.9")], ttlSeconds: 40 });
    expect(server.seen).toHaveLength(1);
    expect(resolver.stats.cacheHits).toBe(1);
    net.scheduler.advance(40_000);
    expect(await resolve("board.test")).toMatchObject({ ok: true, ttlSeconds: 60 });
    expect(server.seen).toHaveLength(2);
    expect(resolver.stats.cacheExpired).toBe(1);
  });

  it("does not cache TTL 0 (RFC 1035 §3.2.1)", async () => {
    server.policy = (q) => [{ bytes: response(q, { answers: [a(PTR_Q, "10.56.0.9", 0)] }) }];
    await resolve("board.test");
    await resolve("board.test");
    expect(server.seen).toHaveLength(2);
  });

  it("holds at most cacheEntries names, evicting the least recently used", async () => {
    resolver = makeResolver({ cacheEntries: 2 });
    server.policy = (q) => [{ bytes: response(q, { answers: [a(PTR_Q, "10.0.0.9")] }) }];
    await resolve("one.test");
    await resolve("two.test");
    await resolve("one.test"); // hit: one is now the most recent
    await resolve("three.test"); // evicts two
    expect(resolver.cacheSize).toBe(2);
    await resolve("one.test");
    expect(server.seen.map((q) => q.name)).toEqual(["one.test", "two.test", "three.test"]);
    await resolve("two.test");
    expect(server.seen).toHaveLength(4);
    expect(resolver.stats.cacheEvictions).toBe(2);
  });

  it("clearCache forgets everything; the returned addresses are the caller's own", async () => {
    server.policy = (q) => [{ bytes: response(q, { answers: [a(PTR_Q, "10.56.0.9")] }) }];
    const first = await resolve("board.test");
    if (first.ok) first.addresses.push(1);
    expect(await resolve("board.test")).toMatchObject({ addresses: [parseIpv4("10.56.0.9")] });
    resolver.clearCache();
    await resolve("board.test");
    expect(server.seen).toHaveLength(2);
  });

  it("shares one query between concurrent resolves of a name", async () => {
    server.policy = (q) => [{ bytes: response(q, { answers: [a(PTR_Q, "10.56.0.9")] }) }];
    const both = Promise.all([resolver.resolve("board.test"), resolver.resolve("Board.Test")]);
    const [r1, r2] = await settle(net.scheduler, both);
    expect(r1).toEqual(r2);
    expect(server.seen).toHaveLength(1);
    expect(resolver.stats.coalesced).toBe(1);
  });
});

describe("shutdown", () => {
  it("ends queries on the wire with TIMEOUT, releasing PCBs and deadlines", async () => {
    const pending = resolver.resolve("silent.test");
    net.scheduler.advance(10);
    expect(resolver.pendingCount).toBe(1);
    expect(net.a.udp.allPcbs()).toHaveLength(1);
    resolver.shutdown();
    expect(await pending).toEqual({ ok: false, error: "TIMEOUT" });
  });
});

describe("truncated answers are asked again over TCP (RFC 7766 §5, RFC 1035 §4.2.2)", () => {
  /** 100 A records for the question name: 1 600 bytes of answers, far beyond 512 (RFC 1035 §4.2.1). */
  const many = Array.from({ length: 100 }, (_, i) => a(PTR_Q, `10.57.${i >> 4}.${i & 15}`, 120));
  const manyAddresses = Array.from({ length: 100 }, (_, i) => parseIpv4(`10.57.${i >> 4}.${i & 15}`));

  beforeEach(() => {
    resolver = makeResolver({}, net.a.tcp);
    // UDP: what fits, with TC set, as a server with a big answer does.
    server.policy = (q) => [{ bytes: response(q, { tc: true, answers: many.slice(0, 3) }) }];
  });

  it("retries over TCP to the same server, length-prefixed, and returns the whole answer", async () => {
    tcpServer = new FakeTcpDns(net.b);
    tcpServer.policy = (q) => ({ bytes: response(q, { answers: many }) });
    expect(await resolve("big.test")).toEqual({ ok: true, addresses: manyAddresses, ttlSeconds: 120 });
    expect(server.seen).toHaveLength(1);
    expect(tcpServer.seen).toHaveLength(1);
    const udpQ = server.seen[0]!;
    const tcpQ = tcpServer.seen[0]!;
    // The same question from our address, RD set; a fresh ID on the new transport.
    expect(tcpQ).toMatchObject({ srcIp: A_IP, flags: 0x0100, name: "big.test", qtype: 1, qclass: 1, question: udpQ.question });
    expect(tcpQ.id).not.toBe(udpQ.id);
    // One query per connection: prefix (the message's length, two octets) then the message, nothing more.
    const bytes = tcpServer.received[0]!;
    expect((bytes[0]! << 8) | bytes[1]!).toBe(bytes.length - 2);
    expect(bytes.length - 2).toBe(12 + udpQ.question.length);
    expect(resolver.stats).toMatchObject({ truncatedAnswers: 1, tcpQueries: 1, tcpAnswers: 1, tcpFailures: 0, tcpTimeouts: 0, answers: 1 });
    // We close gracefully once the answer is in (a FIN, not a reset).
    net.scheduler.advance(100);
    expect(tcpServer.finsSeen).toBe(1);
    // The answer is cached like any other.
    expect(await resolve("big.test")).toMatchObject({ ok: true });
    expect(server.seen).toHaveLength(1);
  });

  it("reassembles a response that arrives in pieces (the prefix split; 1-byte and 600-byte segments)", async () => {
    tcpServer = new FakeTcpDns(net.b);
    tcpServer.policy = (q) => ({ bytes: response(q, { answers: many }), pieceBytes: 1, gapMs: 1 });
    expect(await resolve("big.test")).toEqual({ ok: true, addresses: manyAddresses, ttlSeconds: 120 });
    // It did come in many segments (TCP_NODELAY on the server's side), the prefix bytes in separate ones.
    expect(net.b.tcp.stats.txSegments).toBeGreaterThan(100);
    tcpServer.policy = (q) => ({ bytes: response(q, { answers: many }), pieceBytes: 600, gapMs: 20 });
    resolver.clearCache();
    expect(await resolve("big.test")).toEqual({ ok: true, addresses: manyAddresses, ttlSeconds: 120 });
  });

  it("maps the TCP answer's RCODE as a UDP one: NXDOMAIN", async () => {
    tcpServer = new FakeTcpDns(net.b);
    tcpServer.policy = (q) => ({ bytes: response(q, { rcode: 3 }) });
    expect(await resolve("gone.test")).toEqual({ ok: false, error: "NXDOMAIN" });
  });

  it("no TCP listener (RST): SERVFAIL at once, as a TC answer was before", async () => {
    const start = net.scheduler.now();
    expect(await resolve("big.test")).toEqual({ ok: false, error: "SERVFAIL" });
    expect(net.scheduler.now() - start).toBeLessThan(100);
    expect(resolver.stats).toMatchObject({ tcpQueries: 1, tcpFailures: 1, tcpAnswers: 0 });
  });

  it("a silent TCP server: SERVFAIL after tcpTimeoutMs, the connection reset", async () => {
    resolver = makeResolver({ tcpTimeoutMs: 3000 }, net.a.tcp);
    tcpServer = new FakeTcpDns(net.b);
    const start = net.scheduler.now();
    expect(await resolve("big.test")).toEqual({ ok: false, error: "SERVFAIL" });
    expect(net.scheduler.now() - start).toBeGreaterThanOrEqual(3000);
    expect(net.scheduler.now() - start).toBeLessThan(3100);
    expect(tcpServer.seen).toHaveLength(1);
    expect(resolver.stats).toMatchObject({ tcpQueries: 1, tcpTimeouts: 1, tcpFailures: 0 });
    net.scheduler.advance(10);
    // Aborted: nothing of ours is left on either side.
    expect(net.a.tcp.allPcbs()).toEqual([]);
    expect(net.b.tcp.allPcbs()).toEqual([]);
  });

  it("the TCP time is still bounded by totalTimeoutMs", async () => {
    resolver = makeResolver({ tcpTimeoutMs: 60_000, totalTimeoutMs: 4000 }, net.a.tcp);
    tcpServer = new FakeTcpDns(net.b);
    const start = net.scheduler.now();
    expect(await resolve("big.test")).toEqual({ ok: false, error: "SERVFAIL" });
    expect(net.scheduler.now() - start).toBeLessThanOrEqual(4001);
  });

  it("a server that closes before the whole response: SERVFAIL", async () => {
    tcpServer = new FakeTcpDns(net.b);
    tcpServer.policy = (q) => ({ closeAfter: [0x06, 0x40, ...response(q, { answers: many }).slice(0, 100)] });
    expect(await resolve("big.test")).toEqual({ ok: false, error: "SERVFAIL" });
    expect(resolver.stats).toMatchObject({ tcpFailures: 1, tcpAnswers: 0 });
  });

  it("a TCP response with the wrong ID or question is not believed: SERVFAIL, counted", async () => {
    tcpServer = new FakeTcpDns(net.b);
    tcpServer.policy = (q) => ({ bytes: response(q, { id: q.id ^ 1, answers: many }) });
    expect(await resolve("big.test")).toEqual({ ok: false, error: "SERVFAIL" });
    expect(resolver.stats).toMatchObject({ dropWrongId: 1, tcpFailures: 1 });
    tcpServer.policy = (q) => ({ bytes: response(q, { question: [...wireName("other.test"), 0, 1, 0, 1], answers: many }) });
    expect(await resolve("big2.test")).toEqual({ ok: false, error: "SERVFAIL" });
    expect(resolver.stats).toMatchObject({ dropQuestionMismatch: 1, tcpFailures: 2 });
  });

  it("a TCP answer marked truncated again ends there: no loop", async () => {
    tcpServer = new FakeTcpDns(net.b);
    tcpServer.policy = (q) => ({ bytes: response(q, { tc: true, answers: many }) });
    expect(await resolve("big.test")).toEqual({ ok: false, error: "SERVFAIL" });
    expect(resolver.stats).toMatchObject({ tcpQueries: 1, truncatedAnswers: 2 });
    expect(server.seen).toHaveLength(1);
  });

  it("a failed TCP retry fails that server only: the others are still asked, over UDP", async () => {
    resolver = makeResolver({ servers: [C_IP, B_IP], timeoutMs: 2000, attempts: 2 }, net.a.tcp);
    // C (silent) times out, B answers TC and refuses TCP, C is asked again; B is not.
    expect(await resolve("big.test")).toEqual({ ok: false, error: "SERVFAIL" });
    expect(server.seen).toHaveLength(1);
    expect(resolver.stats).toMatchObject({ txQueries: 3, tryTimeouts: 2, tcpQueries: 1, tcpFailures: 1 });
  });
});
