// The DNS resolver against dnsmasq on the Linux side of a real TAP: dnsmasq serves DNS only (no DHCP, no
// upstream, no /etc/hosts) inside a namespace this file creates; the board, on a static address, asks it.
// Also a silent server (a socket that reads and drops port 53 on a second address in the namespace) and a
// stopped dnsmasq, both of which must end in TIMEOUT within totalTimeoutMs; and a name with 60 addresses,
// which dnsmasq truncates over UDP (TC) and the resolver then asks over TCP (RFC 7766 §5). Traffic stays in
// 10.66.53.0/24.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { canRunTapTests } from "../helpers/env.js";
import { runAsync, startTestBoard, waitFor, type TestBoard } from "../helpers/board.js";
import { parseIpv4 } from "../../src/core/addr.js";
import { DnsResolver, type DnsResolverOptions } from "../../src/apps/dns.js";

const run = canRunTapTests("dns.test.ts", ["dnsmasq", "python3"]);

const SUBNET = "10.66.53";
/** A second kernel-side address (on the namespace's lo) whose port 53 reads and drops everything. */
const SILENT_IP = `${SUBNET}.3`;

/** The TTL dnsmasq gives the names it serves from its configuration (--local-ttl). */
const LOCAL_TTL_S = 123;

/** A name with more A records than fit in 512 bytes (12 + 14 + 60 × 16 = 986): dnsmasq sets TC over UDP. */
const BIG_NAME = "big.test";
const BIG_ADDRESSES = Array.from({ length: 60 }, (_, i) => `10.57.0.${i + 1}`);

/** A long-running child inside the namespace, with its output kept for failure messages. */
interface Daemon {
  child: ChildProcess;
  output: () => string;
  /** SIGTERM, then SIGKILL after 2 s; resolves once it has exited. */
  stop: () => Promise<void>;
}

/** Starts `argv` in `ns` and resolves once `ready` appears on its stdout or stderr. */
async function startDaemon(ns: string, argv: readonly string[], ready: string): Promise<Daemon> {
  const child = spawn("ip", ["netns", "exec", ns, ...argv], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  let exited = false;
  child.stdout?.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr?.on("data", (c: Buffer) => (output += c.toString()));
  const closed = new Promise<void>((resolve) => child.on("close", () => resolve()));
  void closed.then(() => (exited = true));
  const daemon: Daemon = {
    child,
    output: () => output,
    async stop() {
      if (exited) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 2000);
      await closed;
      clearTimeout(timer);
    },
  };
  try {
    await waitFor(() => output.includes(ready) || exited, 10_000, `${argv[0]} to start`);
  } catch (err) {
    await daemon.stop();
    throw err;
  }
  if (exited) throw new Error(`${argv[0]} exited at start:\n${output}`);
  return daemon;
}

describe.runIf(run)("DNS resolver against dnsmasq", () => {
  let tb: TestBoard | null = null;
  let dnsmasq: Daemon | null = null;
  let blackhole: Daemon | null = null;
  let dir = "";

  beforeAll(async () => {
    tb = startTestBoard("wdn", SUBNET);
    const b = tb;
    dir = mkdtempSync(join(tmpdir(), "walnut-dns-"));
    const hosts = join(dir, "big.hosts");
    writeFileSync(hosts, BIG_ADDRESSES.map((a) => `${a} ${BIG_NAME}\n`).join(""));
    // dnsmasq reads it after dropping root for its own user: the folder mkdtemp made (0700) must let it in.
    chmodSync(dir, 0o755);
    dnsmasq = await startDaemon(
      b.ns,
      [
        "dnsmasq",
        "--keep-in-foreground",
        "--log-facility=-",
        "--log-queries",
        "--pid-file=",
        "--port=53",
        "--no-resolv",
        "--no-hosts",
        "--address=/board.test/10.56.0.9",
        "--host-record=printer.test,10.56.0.77",
        `--addn-hosts=${hosts}`,
        // Answers from its configuration carry TTL 0 unless told otherwise: a distinctive TTL shows the
        // resolver reads the answer's TTL field rather than a default.
        `--local-ttl=${LOCAL_TTL_S}`,
        `--interface=${b.tap}`,
        "--except-interface=lo",
        "--bind-interfaces",
        "--conf-file=/dev/null",
      ],
      "started, version",
    );
    // On lo, not the TAP: dnsmasq follows address changes on the interfaces it serves and would answer there
    // too (hence --except-interface=lo, since --interface adds lo implicitly). The kernel still answers ARP
    // for it on the TAP (arp_ignore 0: any local address).
    const add = await runAsync(["ip", "-n", b.ns, "addr", "add", `${SILENT_IP}/32`, "dev", "lo"], { timeoutMs: 5000 });
    expect(add.code, add.stderr).toBe(0);
    const script = [
      "import socket",
      "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)",
      `s.bind(('${SILENT_IP}', 53))`,
      "print('ready', flush=True)",
      "while True:",
      "    s.recvfrom(4096)",
      "    print('dropped', flush=True)",
    ].join("\n");
    blackhole = await startDaemon(b.ns, ["python3", "-u", "-c", script], "ready");
  });

  afterAll(async () => {
    await dnsmasq?.stop();
    await blackhole?.stop();
    const b = tb;
    tb = null;
    b?.stop();
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
    // Quiescence (docs/architecture.md "Tests"): once stopped, the board has nothing armed.
    if (b !== null) expect(b.board.scheduler.armedLabels()).toEqual([]);
  });

  function board(): TestBoard {
    if (tb === null) throw new Error("board did not start");
    return tb;
  }

  /** A resolver on the board's stack; with `withTcp`, one that retries truncated answers over TCP (as `stack.dns`). */
  function resolverFor(server: string, o: DnsResolverOptions = {}, withTcp = false): DnsResolver {
    const b = board();
    const s = b.board.stack;
    return new DnsResolver(s.udp, b.board.scheduler, s.random, { servers: [parseIpv4(server)], ...o }, withTcp ? s.tcp : null);
  }

  /** Every resolver PCB is closed after each query. */
  function expectNoResolverPcbs(): void {
    const pcbs = board().board.stack.udp.allPcbs().filter((p) => p.remotePort === 53);
    expect(pcbs).toEqual([]);
  }

  it("resolves the names dnsmasq serves (--address covers subdomains; --host-record)", async () => {
    const resolver = resolverFor(board().kernelIp);
    for (const [name, addr] of [
      ["board.test", "10.56.0.9"],
      ["www.Board.Test", "10.56.0.9"],
      ["printer.test", "10.56.0.77"],
    ] as const) {
      const r = await resolver.resolve(name);
      expect(r, `${name}\n${dnsmasq?.output() ?? ""}`).toMatchObject({ ok: true, addresses: [parseIpv4(addr)] });
      if (r.ok) expect(r.ttlSeconds).toBe(LOCAL_TTL_S);
    }
    expect(resolver.stats).toMatchObject({ txQueries: 3, rxResponses: 3, answers: 3, timeouts: 0 });
    expectNoResolverPcbs();
  });

  it("a name whose answer dnsmasq truncates over UDP is asked again over TCP and comes back whole", async () => {
    const sorted = (xs: number[]): number[] => [...xs].sort((x, y) => x - y);
    // Control: without TCP the truncated answer is all there is, and it fails.
    const udpOnly = resolverFor(board().kernelIp);
    expect(await udpOnly.resolve(BIG_NAME), dnsmasq?.output()).toEqual({ ok: false, error: "SERVFAIL" });
    expect(udpOnly.stats).toMatchObject({ txQueries: 1, truncatedAnswers: 1, tcpQueries: 0 });

    const resolver = resolverFor(board().kernelIp, {}, true);
    const tcpOutBefore = board().board.stack.tcp.stats.activeOpens;
    const r = await resolver.resolve(BIG_NAME);
    expect(r.ok, `${JSON.stringify(r)}\n${dnsmasq?.output() ?? ""}`).toBe(true);
    if (r.ok) {
      expect(sorted(r.addresses)).toEqual(sorted(BIG_ADDRESSES.map(parseIpv4)));
      expect(r.ttlSeconds).toBe(LOCAL_TTL_S);
    }
    expect(resolver.stats).toMatchObject({ txQueries: 1, truncatedAnswers: 1, tcpQueries: 1, tcpAnswers: 1, tcpFailures: 0, tcpTimeouts: 0 });
    expect(board().board.stack.tcp.stats.activeOpens).toBe(tcpOutBefore + 1);
    // The stack's own resolver (getaddrinfo's) does the same.
    const s = board().board.stack;
    s.dns.setServers([parseIpv4(board().kernelIp)]);
    const viaStack = await s.dns.resolve(BIG_NAME);
    expect(viaStack.ok && viaStack.addresses.length).toBe(60);
    s.dns.setServers([]);
    s.dns.clearCache();
    expectNoResolverPcbs();
  });

  it("fails an unknown name cleanly and fast: dnsmasq with --no-resolv and no upstream answers REFUSED", async () => {
    // Checked against dnsmasq 2.90: a name it has no local data for and no upstream to forward to gets RCODE 5
    // (REFUSED). It is a server answer, not silence: one query, no retry, well inside one try's timeout.
    const resolver = resolverFor(board().kernelIp, { timeoutMs: 2000, attempts: 2 });
    const started = Date.now();
    const r = await resolver.resolve("nosuch.example");
    expect(r, dnsmasq?.output()).toEqual({ ok: false, error: "REFUSED" });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(resolver.stats).toMatchObject({ txQueries: 1, refused: 1, tryTimeouts: 0 });
    expectNoResolverPcbs();
  });

  it("times out against a server that drops port 53, within totalTimeoutMs", async () => {
    const resolver = resolverFor(SILENT_IP, { timeoutMs: 500, attempts: 10, totalTimeoutMs: 1500 });
    const started = Date.now();
    const r = await resolver.resolve("board.test");
    const elapsed = Date.now() - started;
    expect(r).toEqual({ ok: false, error: "TIMEOUT" });
    expect(elapsed).toBeGreaterThanOrEqual(1400);
    expect(elapsed).toBeLessThan(2500);
    // Tries at 0, 500, 1000; the bound ends the third at 1500.
    expect(resolver.stats).toMatchObject({ txQueries: 3, tryTimeouts: 3, rxDatagrams: 0, timeouts: 1 });
    // The queries did reach the host (ARP resolved, delivered to its socket); it just never answers.
    await waitFor(() => (blackhole?.output().match(/dropped/g) ?? []).length === 3, 2000, "the silent host to log 3 queries");
    expectNoResolverPcbs();
  });

  it("times out within totalTimeoutMs once dnsmasq is gone (the kernel's port unreachable ends each try early)", async () => {
    await dnsmasq?.stop();
    const resolver = resolverFor(board().kernelIp, { timeoutMs: 1000, attempts: 2, totalTimeoutMs: 3000 });
    const started = Date.now();
    const r = await resolver.resolve("board.test");
    expect(r).toEqual({ ok: false, error: "TIMEOUT" });
    expect(Date.now() - started).toBeLessThan(3500);
    expect(resolver.stats.txQueries).toBe(2);
    // Linux rate-limits ICMP errors (icmp_ratelimit), so a try may also just time out; either way none answered.
    expect(resolver.stats.icmpErrors + resolver.stats.tryTimeouts).toBe(2);
    expectNoResolverPcbs();
  });
});
