// The compiled `walnut` command (bin/walnut.js → dist/), run as a child process: usage errors, `walnut up`
// serving pings until SIGINT with trace and capture, namespace ownership, `walnut demo`, and the message a
// non-root user gets. Board traffic stays inside namespaces this file (or walnut on its behalf) creates:
// 10.67.0.0/16, and the demo's own 192.168.50.0/24 in its private namespace.

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { canRunTapTests, uniqueName } from "../helpers/env.js";
import { interrupt, ROOT, spawnWalnut, WALNUT, waitForLine, type WalnutProcess } from "../helpers/walnutProcess.js";
import { parsePingSummary, removeNetns, runAsync, runInNetns, waitFor } from "../helpers/board.js";
import { createNetns, linkExists, netnsExists } from "../../src/host/iproute.js";

const NODE = process.execPath;

const run = canRunTapTests("cli.test.ts", ["ping", "tshark", "setpriv"]);

/**
 * Compiles src/ into dist/ once, so the CLI under test is the current source. Type errors elsewhere (exit 2:
 * diagnostics, outputs still written) are `tsc --noEmit`'s to report; only a build that wrote nothing fails.
 */
beforeAll(async () => {
  const startedMs = Date.now();
  const r = await runAsync(["npx", "tsc", "-p", "tsconfig.build.json"], { timeoutMs: 60_000, cwd: ROOT });
  if (r.code !== 0 && r.code !== 2) throw new Error(`build failed:\n${r.stdout}${r.stderr}`);
  if (r.code === 2) console.warn(`tsc reported type errors; testing the emitted CLI anyway:\n${r.stdout}`);
  const main = join(ROOT, "dist", "src", "cli", "main.js");
  if (statSync(main).mtimeMs < startedMs - 1000) throw new Error(`${main} was not rebuilt`);
});

function walnut(args: readonly string[], timeoutMs = 10_000): ReturnType<typeof runAsync> {
  return runAsync([NODE, WALNUT, ...args], { timeoutMs, cwd: ROOT });
}

/** The non-empty lines of `text`. */
const lines = (text: string): string[] => text.split("\n").filter((l) => l.length > 0);

describe("walnut usage errors", () => {
  it.each([
    { argv: ["up"], names: "--ip" },
    { argv: ["up", "--ip", "300.1.1.1/24"], names: "--ip" },
    { argv: ["up", "--ip", "10.0.0.1"], names: "--ip" },
    { argv: ["up", "--ip", "10.0.0.1/24", "--mtu", "abc"], names: "--mtu" },
    { argv: ["up", "--ip", "10.0.0.1/24", "--mac", "zz"], names: "--mac" },
    { argv: ["up", "--ip", "10.0.0.1/24", "--bogus"], names: "--bogus" },
    { argv: ["frobnicate"], names: "frobnicate" },
    { argv: ["up", "--ip", "10.0.0.1/24", "--host", "--netns", "x"], names: "--host" },
    { argv: ["up", "--ip", "10.0.0.1/24", "--loss", "2"], names: "--loss" },
    { argv: ["up", "--ip", "10.0.0.1/24", "--delay", "-5"], names: "--delay" },
    // Addresses that cannot work (issue 11): a /0 or /32 subnet, a network or broadcast address, a
    // kernel side or gateway off the board's link, addresses no host may hold.
    { argv: ["up", "--ip", "10.0.0.1/0"], names: "--ip" },
    { argv: ["up", "--ip", "10.0.0.1/32"], names: "--ip" },
    { argv: ["up", "--ip", "10.0.0.0/24"], names: "--ip" },
    { argv: ["up", "--ip", "10.0.0.255/24"], names: "--ip" },
    { argv: ["up", "--ip", "127.0.0.2/8"], names: "--ip" },
    { argv: ["up", "--ip", "224.0.0.9/24"], names: "--ip" },
    { argv: ["up", "--ip", "10.0.0.2/24", "--host-ip", "10.0.1.1/24"], names: "--host-ip" },
    { argv: ["up", "--ip", "10.0.0.2/24", "--host-ip", "10.0.0.255/24"], names: "--host-ip" },
    { argv: ["up", "--ip", "10.0.0.2/24", "--host-ip", "10.0.0.1/0"], names: "--host-ip" },
    { argv: ["up", "--dhcp", "--host-ip", "10.0.0.0/24"], names: "--host-ip" },
    { argv: ["up", "--ip", "10.0.0.2/24", "--gw", "192.168.1.1"], names: "--gw" },
    // A capture that cannot be written, and limits out of range.
    { argv: ["up", "--ip", "10.0.0.2/24", "--pcap", "/tmp"], names: "--pcap" },
    { argv: ["up", "--ip", "10.0.0.2/24", "--pcap", "/nonexistent-walnut-dir/board.pcapng"], names: "--pcap" },
    { argv: ["up", "--ip", "10.0.0.2/24", "--max-connections", "0"], names: "--max-connections" },
    { argv: ["up", "--ip", "10.0.0.2/24", "--backlog", "many"], names: "--backlog" },
    { argv: ["run", "--ip", "10.0.0.2/24", "--pcap", "-", "examples/udp_server.py"], names: "--pcap -" },
    { argv: ["repl", "--ip", "10.0.0.2/24", "--pcap", "-"], names: "--pcap -" },
    { argv: ["run", "--ip", "10.0.0.2/24", "examples"], names: "examples is a folder" },
    { argv: ["run", "--ip", "10.0.0.2/24", "--wifi", "nokey", "examples/udp_server.py"], names: "--wifi" },
    { argv: ["repl", "--ip", "10.0.0.2/24", "--wifi", ":secret"], names: "--wifi" },
    { argv: ["up", "--ip", "10.0.0.2/24", "--services", "--no-services"], names: "--services" },
  ])("walnut $argv exits 2 with one line naming $names", async ({ argv, names }) => {
    const r = await walnut(argv);
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/^walnut: /);
    expect(r.stderr).toContain(names);
    expect(r.stdout).toBe("");
  });
});

describe("walnut bench", () => {
  it("passes its options to the benchmark runner: --help prints the usage, a bad option exits 2 in one line", async () => {
    const help = await walnut(["bench", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--loss-table/);
    const bad = await walnut(["bench", "--bogus"]);
    expect(bad.code).toBe(2);
    expect(lines(bad.stderr)).toHaveLength(1);
    expect(bad.stderr).toContain("--bogus");
  });

  it("--help documents every option, one line each, as node dist/bench/run.js --help does", async () => {
    const help = await walnut(["bench", "--help"]);
    const direct = await runAsync([NODE, join(ROOT, "dist/bench/run.js"), "--help"], { timeoutMs: 10_000, cwd: ROOT });
    expect(direct.code).toBe(0);
    expect(help.stdout).toBe(direct.stdout);
    for (const flag of ["--quick", "--repeats N", "--seconds S", "--window N", "--only LIST", "--no-udp", "--targets LIST", "--metrics LIST", "--no-offload", "--halting-idle", "--json FILE", "--plot FILE.svg", "--verbose", "--loss-table"]) {
      expect(lines(help.stdout).filter((l) => l.trimStart().startsWith(`${flag} `)), flag).toHaveLength(1);
    }
  });

  it.each([
    ["--repeats", "0"],
    ["--seconds", "99"],
    ["--only", "tcp,ftp"],
    ["--plot", "out.png"],
    ["--json", "/no/such/folder/r.json"],
  ])("walnut bench %s %s exits 2 with one line, before anything runs", async (option, value) => {
    for (const argv of [[NODE, WALNUT, "bench", option, value], [NODE, join(ROOT, "dist/bench/run.js"), option, value]]) {
      const r = await runAsync(argv, { timeoutMs: 10_000, cwd: ROOT });
      expect(r.code).toBe(2);
      expect(lines(r.stderr)).toHaveLength(1);
      expect(r.stderr).toContain(option);
      expect(r.stdout).toBe("");
    }
  });
});

describe.runIf(run)("walnut up, demo and privileges on a real TAP", () => {
  const children: WalnutProcess["child"][] = [];

  function startUp(args: readonly string[]): WalnutProcess {
    const p = spawnWalnut(["up", ...args]);
    children.push(p.child);
    return p;
  }

  const waitForBoardUp = (p: WalnutProcess): Promise<string> => waitForLine(p, /board up:/, 10_000);
  const namespaces: string[] = [];
  let dir = "";

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "walnut-cli-"));
  });

  afterEach(async () => {
    for (const c of children.splice(0)) {
      if (c.exitCode === null && c.signalCode === null) {
        const gone = new Promise((r) => c.once("exit", r));
        c.kill("SIGKILL");
        await gone;
      }
    }
    for (const ns of namespaces.splice(0)) removeNetns(ns);
  });

  afterAll(() => {
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });




  it("serves pings with trace and capture, and removes its namespace and TAP on SIGINT", async () => {
    const ns = uniqueName("wclin");
    const tap = uniqueName("wclit");
    namespaces.push(ns);
    const pcap = join(dir, "up.pcapng");
    const p = startUp(["--ip", "10.67.1.2/24", "--netns", ns, "--tap", tap, "--pcap", pcap, "--trace"]);
    const up = await waitForBoardUp(p);
    expect(up).toContain("ip 10.67.1.2/24");
    expect(up).toContain(`tap ${tap}`);
    expect(up).toContain(`netns ${ns}`);
    expect(netnsExists(ns)).toBe(true);

    const ping = await runInNetns(ns, ["ping", "-c", "3", "-i", "0.2", "-W", "1", "10.67.1.2"]);
    expect(parsePingSummary(ping.stdout)).toEqual({ transmitted: 3, received: 3, lossPercent: 0 });
    await waitFor(() => p.stdout.filter((l) => / Out .*ICMP echo reply/.test(l)).length >= 3, 2000, "traced replies");
    expect(p.stdout.filter((l) => / In  .*ICMP echo request/.test(l))).toHaveLength(3);

    const exit = await interrupt(p);
    expect(exit).toEqual({ code: 0, signal: null });
    // The stop report: one line per layer with its non-zero counters.
    const report = p.stdout.slice(p.stdout.indexOf("walnut: stopped; counters:"));
    expect(report.length).toBeGreaterThan(1);
    expect(report.find((l) => l.startsWith("  icmp: "))).toMatch(/txEchoReplies=3/);
    expect(report.find((l) => l.startsWith("  netif: "))).toMatch(/rxFrames=\d+/);
    expect(p.stderr).toEqual([]);
    expect(netnsExists(ns)).toBe(false);
    expect(linkExists(null, tap)).toBe(false);

    const decoded = await runAsync(["tshark", "-n", "-r", pcap], { timeoutMs: 15_000 });
    expect(decoded.code, decoded.stderr).toBe(0);
    expect(lines(decoded.stdout).filter((l) => l.includes("Echo (ping) request"))).toHaveLength(3);
    expect(lines(decoded.stdout).filter((l) => l.includes("Echo (ping) reply"))).toHaveLength(3);
  });

  it("SIGUSR1 prints a netstat-like snapshot: an open TCP connection with its state, listeners, ARP, counters", async () => {
    const ns = uniqueName("wclin");
    const tap = uniqueName("wclit");
    namespaces.push(ns);
    const p = startUp(["--ip", "10.67.4.2/24", "--netns", ns, "--tap", tap]);
    const up = await waitForBoardUp(p);
    expect(up).toContain(`kill -USR1 ${p.child.pid}`);
    // A kernel client holds a connection to the board's echo service open for a moment.
    const holder = runInNetns(ns, [
      "/usr/bin/python3",
      "-c",
      "import socket, time; c = socket.create_connection(('10.67.4.2', 7), timeout=5); c.sendall(b'x'); c.recv(1); time.sleep(1.5)",
    ]);
    await new Promise((r) => setTimeout(r, 500));
    p.child.kill("SIGUSR1");
    await waitFor(() => p.stdout.some((l) => l.startsWith("counters:")), 3000, "the snapshot");
    const at = p.stdout.indexOf("TCP connections:");
    const snapshot = p.stdout.slice(at);
    expect(snapshot.some((l) => /10\.67\.4\.2:7 +10\.67\.4\.1:\d+ +ESTABLISHED .*cwnd=\d+ .*\[wscale \d+,\d+ ts sack\]/.test(l))).toBe(true);
    expect(snapshot.some((l) => /^\s+\*:7 +backlog=/.test(l))).toBe(true);
    expect(snapshot.some((l) => /^\s+10\.67\.4\.1 +[0-9a-f:]{17} REACHABLE/.test(l))).toBe(true);
    expect(snapshot.some((l) => /^\s+tcp: .*passiveOpens=1/.test(l))).toBe(true);
    await holder;
    expect(await interrupt(p)).toEqual({ code: 0, signal: null });
  });

  it("--loss injects faults on the board's link: some pings are lost, not all, and the start-up line says so", async () => {
    const ns = uniqueName("wclin");
    const tap = uniqueName("wclit");
    namespaces.push(ns);
    const p = startUp(["--ip", "10.67.5.2/24", "--netns", ns, "--tap", tap, "--loss", "0.3", "--delay", "5", "--seed", "9"]);
    const up = await waitForBoardUp(p);
    expect(up).toContain("faults loss=0.3,delayMs=5,seed=9");
    const ping = await runInNetns(ns, ["ping", "-c", "40", "-i", "0.02", "-W", "1", "10.67.5.2"], 20_000);
    const summary = parsePingSummary(ping.stdout);
    // Each echo crosses the faulty link twice: P(reply) = 0.7² ≈ 0.49.
    expect(summary.received).toBeGreaterThan(5);
    expect(summary.received).toBeLessThan(35);
    expect(await interrupt(p)).toEqual({ code: 0, signal: null });
  });

  for (const offload of [true, false]) {
    it(`${offload ? "offloads by default" : "--no-offload"}: chargen to the kernel ${offload ? "in super-segments" : "in plain frames"}, as the start-up line and the counters say`, async () => {
      const ns = uniqueName("wclin");
      const tap = uniqueName("wclit");
      namespaces.push(ns);
      const p = startUp(["--ip", "10.67.6.2/24", "--netns", ns, "--tap", tap, ...(offload ? [] : ["--no-offload"])]);
      const up = await waitForBoardUp(p);
      expect(up.includes(" no-offload")).toBe(!offload);
      const fetch = await runInNetns(ns, [
        "/usr/bin/python3",
        "-c",
        "import socket\nc = socket.create_connection(('10.67.6.2', 19), timeout=5)\nn = 0\nwhile n < 4 << 20:\n    n += len(c.recv(1 << 20))\nprint(n)",
      ]);
      expect(fetch.code, fetch.stderr).toBe(0);
      expect(Number(fetch.stdout.trim())).toBeGreaterThanOrEqual(4 << 20);
      expect(await interrupt(p)).toEqual({ code: 0, signal: null });
      const report = p.stdout.slice(p.stdout.indexOf("walnut: stopped; counters:"));
      const tcp = report.find((l) => l.startsWith("  tcp: ")) ?? "";
      expect(tcp).toMatch(/txSegments=\d+/);
      expect(/txTsoSegments=\d+/.test(tcp)).toBe(offload);
      expect(report.some((l) => /^  tap: .*txGsoFrames=\d+/.test(l))).toBe(offload);
    });
  }
  it("--pcap - writes pcapng to standard output, which tshark -r - reads from a pipe; the board's own lines go to stderr", async () => {
    const ns = uniqueName("wclin");
    const tap = uniqueName("wclit");
    namespaces.push(ns);
    // The shell's own pipe (tshark refuses to read a socket, which is what a spawn pipe is). walnut's pid
    // comes from its start-up line, which must arrive on stderr.
    const pipeline = `${NODE} ${WALNUT} up --ip 10.67.6.2/24 --netns ${ns} --tap ${tap} --pcap - --trace | tshark -n -r - 2>/dev/null`;
    const sh = spawn("sh", ["-c", pipeline], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    children.push(sh as unknown as WalnutProcess["child"]);
    let decoded = "";
    sh.stdout.on("data", (c: Buffer) => (decoded += c.toString()));
    let stderr = "";
    sh.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const shDone = new Promise<number | null>((r) => sh.once("close", r));
    await waitFor(() => stderr.includes("board up:"), 10_000, "the board-up line on stderr");
    const pid = Number(/kill -USR1 (\d+)/.exec(stderr)?.[1] ?? "0");
    expect(pid).toBeGreaterThan(0);
    const ping = await runInNetns(ns, ["ping", "-c", "3", "-i", "0.2", "-W", "1", "10.67.6.2"]);
    expect(parsePingSummary(ping.stdout).received).toBe(3);
    process.kill(pid, "SIGINT");
    // The pipeline's status is tshark's: it read the capture to its end without complaint.
    expect(await shDone).toBe(0);
    expect(lines(decoded).filter((l) => l.includes("Echo (ping) request"))).toHaveLength(3);
    expect(lines(decoded).filter((l) => l.includes("Echo (ping) reply"))).toHaveLength(3);
    // The start-up line, the trace and the counters all went to stderr: stdout held only the capture.
    expect(stderr).toMatch(/walnut: board up: ip 10\.67\.6\.2\/24/);
    expect(lines(stderr).filter((l) => / Out .*ICMP echo reply/.test(l))).toHaveLength(3);
    expect(stderr).toMatch(/walnut: stopped; counters:/);
    expect(netnsExists(ns)).toBe(false);
  });

  it("a /31 board (RFC 3021) gets the subnet's other address as its kernel side and answers; --backlog and --max-connections take effect", async () => {
    const ns = uniqueName("wclin");
    const tap = uniqueName("wclit");
    namespaces.push(ns);
    const p = startUp(["--ip", "10.67.7.0/31", "--netns", ns, "--tap", tap, "--backlog", "7", "--max-connections", "3"]);
    const up = await waitForBoardUp(p);
    expect(up).toContain("ip 10.67.7.0/31");
    expect(up).toContain("kernel side 10.67.7.1/31");
    const ping = await runInNetns(ns, ["ping", "-c", "2", "-i", "0.2", "-W", "1", "10.67.7.0"]);
    expect(parsePingSummary(ping.stdout).received).toBe(2);
    // Four clients hold connections: three fit, the fourth's SYN gets no SYN-ACK (counted as tcp.pcbLimit).
    const clients = runInNetns(ns, [
      "/usr/bin/python3",
      "-c",
      [
        "import socket, time",
        "held = [socket.create_connection(('10.67.7.0', 7), timeout=3) for _ in range(3)]",
        "s = socket.socket(); s.settimeout(1.5)",
        "try:\n    s.connect(('10.67.7.0', 7)); print('fourth connected')\nexcept OSError as e:\n    print('fourth refused', type(e).__name__)",
        "time.sleep(0.5)",
      ].join("\n"),
    ]);
    await new Promise((r) => setTimeout(r, 1200));
    p.child.kill("SIGUSR1");
    await waitFor(() => p.stdout.some((l) => l.startsWith("counters:")), 3000, "the snapshot");
    const out = await clients;
    expect(out.stdout).toContain("fourth refused TimeoutError");
    expect(p.stdout.some((l) => /^\s+\*:7 +backlog=7 /.test(l))).toBe(true);
    expect(p.stdout.some((l) => /^\s+tcp: .*pcbLimit=\d+/.test(l))).toBe(true);
    expect(await interrupt(p)).toEqual({ code: 0, signal: null });
  });

  it("uses a namespace that already exists and leaves it in place at exit", async () => {
    const ns = uniqueName("wclie");
    const tap = uniqueName("wclix");
    namespaces.push(ns);
    createNetns(ns);
    const p = startUp(["--ip", "10.67.2.2/24", "--netns", ns, "--tap", tap]);
    await waitForBoardUp(p);
    const ping = await runInNetns(ns, ["ping", "-c", "2", "-i", "0.2", "-W", "1", "10.67.2.2"]);
    expect(parsePingSummary(ping.stdout).received).toBe(2);

    const exit = await interrupt(p);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(netnsExists(ns)).toBe(true);
    // The TAP walnut created closes with it, even though the namespace stays.
    expect(linkExists(ns, tap)).toBe(false);
  });

  it("walnut demo pings the board three times, prints the trace, and removes its namespace", async () => {
    const demoNamespaces = async (): Promise<string[]> => {
      const r = await runAsync(["ip", "netns", "list"], { timeoutMs: 5000 });
      return lines(r.stdout).map((l) => l.split(" ")[0] ?? "").filter((n) => n.startsWith("walnut-demo-"));
    };
    const before = await demoNamespaces();
    const r = await walnut(["demo"], 20_000);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(lines(r.stdout).filter((l) => /bytes from 192\.168\.50\.66: .*time=/.test(l))).toHaveLength(3);
    expect(r.stdout).toMatch(/ In  .*ICMP echo request/);
    expect(r.stdout).toMatch(/ Out .*ICMP echo reply/);
    expect(r.stdout).toMatch(/ARP, Reply 192\.168\.50\.66 is-at /);
    const after = await demoNamespaces();
    expect(after.filter((n) => !before.includes(n))).toEqual([]);
  });

  it.each([
    { what: "a namespace", args: ["--netns", "NS"] },
    { what: "a TAP", args: ["--host", "--tap", "TAP"] },
  ])("as user nobody, creating $what fails with one line saying it needs root", async ({ args }) => {
    const ns = uniqueName("wclnr");
    const tap = uniqueName("wclnt");
    namespaces.push(ns);
    const argv = args.map((a) => (a === "NS" ? ns : a === "TAP" ? tap : a));
    const r = await runAsync(
      ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", NODE, WALNUT, "up", "--ip", "10.68.0.2/24", ...argv],
      { timeoutMs: 10_000, cwd: ROOT },
    );
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/^walnut: .*(root|CAP_NET_ADMIN)/);
    expect(r.stdout).toBe("");
    expect(netnsExists(ns)).toBe(false);
    expect(linkExists(null, tap)).toBe(false);
  });
});
