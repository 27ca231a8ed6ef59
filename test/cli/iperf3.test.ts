// iperf3 through the compiled `walnut` command: the argument parser on its own; `walnut iperf3 -c` as a
// client of Debian's `iperf3 -s` in a namespace this file creates (its -J read back as iperf3 JSON, its
// text as iperf3 prints it); and `walnut up`, which serves iperf3 by default (the kernel's `iperf3 -c` works
// against it, each test logged) unless --no-iperf3. Traffic stays inside 10.67.9.0/24 and 10.67.10.0/24
// in those namespaces.

import { spawn, type ChildProcess } from "node:child_process";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { canRunTapTests, uniqueName } from "../helpers/env.js";
import { interrupt, ROOT, spawnWalnut, WALNUT, waitForLine } from "../helpers/walnutProcess.js";
import { removeNetns, runAsync, runInNetns } from "../helpers/board.js";
import { createNetns } from "../../src/host/iproute.js";
import { parseIperf3Args } from "../../src/cli/iperf3.js";
import { UsageError } from "../../src/cli/args.js";
import { parseIpv4 } from "../../src/core/addr.js";

const run = canRunTapTests("cli/iperf3.test.ts", ["iperf3", "ss"]);

describe("walnut iperf3's arguments", () => {
  it("takes iperf3's own option names and leaves the rest to the board", () => {
    const a = parseIperf3Args(["--ip", "10.0.0.2/24", "-c", "10.0.0.1", "-t", "3", "-P", "2", "-R", "-l", "64K", "-J", "--netns", "x", "-N", "-C", "cubic"]);
    expect(a.upArgs).toEqual(["--ip", "10.0.0.2/24", "--netns", "x"]);
    expect(a.host).toBe(parseIpv4("10.0.0.1"));
    expect(a.json).toBe(true);
    expect(a.params).toMatchObject({ protocol: "tcp", timeS: 3, parallel: 2, reverse: true, blockBytes: 65_536, noDelay: true, congestion: "cubic", rateBitsPerSec: 0 });
  });

  it("UDP defaults to 1 Mbit/s per stream as iperf3 does; -b takes decimal units; -n ends the test by bytes", () => {
    expect(parseIperf3Args(["-c", "10.0.0.1", "-u"]).params.rateBitsPerSec).toBe(1_000_000);
    expect(parseIperf3Args(["-c", "10.0.0.1", "-u", "-b", "100M"]).params.rateBitsPerSec).toBe(100_000_000);
    expect(parseIperf3Args(["-c", "10.0.0.1", "-n", "10M"]).params).toMatchObject({ timeS: 0, bytes: 10 * 1024 * 1024 });
    expect(parseIperf3Args(["--client=10.0.0.1", "--port=5300"]).port).toBe(5300);
  });

  it("a wrong option names itself in one line", () => {
    const error = (argv: string[]): string => {
      try {
        parseIperf3Args(argv);
      } catch (err) {
        expect(err).toBeInstanceOf(UsageError);
        return (err as Error).message;
      }
      return "no error";
    };
    expect(error([])).toBe("iperf3: which server? (-c HOST)");
    expect(error(["-c", "example.org"])).toBe("--client: 'example.org' is not an IPv4 address");
    expect(error(["-c", "10.0.0.1", "-P", "129"])).toBe("--parallel: '129' must be a whole number from 1 to 128");
    expect(error(["-c", "10.0.0.1", "-R", "--bidir"])).toBe("--reverse and --bidir exclude each other");
    expect(error(["-c", "10.0.0.1", "-t", "2", "-n", "1M"])).toBe("only one of --time, --bytes and --blockcount may end the test (got --time, --bytes)");
    expect(error(["-c", "10.0.0.1", "-C", "bbr"])).toBe("--congestion: 'bbr' is not one of newreno, cubic");
    expect(error(["-c", "10.0.0.1", "-u", "-l", "70000"])).toMatch(/^--length: UDP datagrams of 70000 bytes/);
    expect(error(["-c", "10.0.0.1", "-b", "fast"])).toBe("--bitrate: 'fast' must be a number with an optional K, M, G or T");
    expect(error(["-c", "10.0.0.1", "stray"])).toBe("iperf3: unexpected argument 'stray' (the server is -c HOST)");
  });
});

describe.runIf(run)("iperf3 with the walnut command on a real TAP", () => {
  const namespaces: string[] = [];
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    const r = await runAsync(["npx", "tsc", "-p", "tsconfig.build.json"], { timeoutMs: 60_000, cwd: ROOT });
    if (r.code !== 0 && r.code !== 2) throw new Error(`build failed:\n${r.stdout}${r.stderr}`);
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

  /** Starts the kernel's `iperf3 -s -1` in `ns` and resolves once it listens. */
  async function kernelServer(ns: string): Promise<void> {
    const child = spawn("ip", ["netns", "exec", ns, "timeout", "15", "iperf3", "-s", "-1"], { stdio: "ignore" });
    children.push(child);
    for (let i = 0; i < 100; i++) {
      const ss = await runAsync(["ip", "netns", "exec", ns, "ss", "-Hltn", "sport = :5201"], { timeoutMs: 2000 });
      if (ss.stdout.trim().length > 0) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error("iperf3 -s did not start");
  }

  function walnutIperf3(ns: string, args: readonly string[]): ReturnType<typeof runAsync> {
    return runAsync([process.execPath, WALNUT, "iperf3", "--ip", "10.67.9.2/24", "--netns", ns, "--tap", uniqueName("wcit"), "-c", "10.67.9.1", ...args], { timeoutMs: 15_000, cwd: ROOT });
  }

  it("walnut iperf3 -c … -J: the board sends for 2 s and prints iperf3's JSON with the kernel's count", async () => {
    const ns = uniqueName("wcin");
    namespaces.push(ns);
    createNetns(ns);
    await kernelServer(ns);
    const r = await walnutIperf3(ns, ["-t", "2", "-J"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { end: { sum_sent: { bytes: number }; sum_received: { bytes: number; seconds: number } }; start: { test_start: { protocol: string } } };
    expect(j.start.test_start.protocol).toBe("TCP");
    expect(j.end.sum_sent.bytes).toBeGreaterThan(0);
    expect(j.end.sum_received.bytes).toBeGreaterThan(0);
    expect(j.end.sum_received.bytes).toBeLessThanOrEqual(j.end.sum_sent.bytes);
    expect(j.end.sum_received.seconds).toBeGreaterThan(1.9);
  });

  it("walnut iperf3 -c … -R prints iperf3's text: intervals, sender and receiver lines, iperf Done.", async () => {
    const ns = uniqueName("wcin");
    namespaces.push(ns);
    createNetns(ns);
    await kernelServer(ns);
    const r = await walnutIperf3(ns, ["-t", "2", "-R"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toBe("Connecting to host 10.67.9.1, port 5201");
    expect(lines).toContain("Reverse mode, remote host 10.67.9.1 is sending");
    expect(lines.some((l) => /^\[ {2}1\] local 10\.67\.9\.2 port \d+ connected to 10\.67\.9\.1 port 5201$/.test(l))).toBe(true);
    expect(lines.filter((l) => /^\[ {2}1\] +\d\.\d\d-\d\.\d\d +sec .*bits\/sec$/.test(l))).toHaveLength(2);
    expect(lines.some((l) => /^\[ {2}1\] +0\.00-2\.\d\d +sec .* sender$/.test(l))).toBe(true);
    expect(lines.some((l) => /^\[ {2}1\] +0\.00-2\.\d\d +sec .* receiver$/.test(l))).toBe(true);
    expect(lines.at(-2)).toBe("iperf Done.");
  });

  it("with no server listening it prints iperf3's one-line error and exits 1", async () => {
    const ns = uniqueName("wcin");
    namespaces.push(ns);
    createNetns(ns);
    const r = await walnutIperf3(ns, ["-t", "1"]);
    expect(r.code).toBe(1);
    expect(r.stdout.trim()).toBe("iperf3: error - cannot connect to 10.67.9.1:5201: connection refused or reset");
  });

  it("walnut up serves iperf3 by default and logs each test; --no-iperf3 turns it off", async () => {
    const ns = uniqueName("wcun");
    namespaces.push(ns);
    const p = spawnWalnut(["up", "--ip", "10.67.10.2/24", "--netns", ns, "--tap", uniqueName("wcut")]);
    children.push(p.child);
    await waitForLine(p, /board up:/, 10_000);
    const c = await runInNetns(ns, ["iperf3", "-c", "10.67.10.2", "-t", "1", "-u", "-b", "20M", "-J"], 10_000);
    const j = JSON.parse(c.stdout) as { error?: string; end: { sum_received: { bytes: number } } };
    expect(j.error).toBeUndefined();
    expect(j.end.sum_received.bytes).toBeGreaterThan(2_000_000);
    const log = await waitForLine(p, /^walnut: iperf3: /, 3000);
    expect(log).toMatch(/^walnut: iperf3: 10\.67\.10\.1:\d+ UDP, 1 stream, 1\.\d\d s: received \S+ MBytes \(\S+ Mbits\/sec\)$/);
    expect(await interrupt(p)).toEqual({ code: 0, signal: null });

    const q = spawnWalnut(["up", "--ip", "10.67.10.2/24", "--netns", ns, "--tap", uniqueName("wcut"), "--no-iperf3"]);
    children.push(q.child);
    await waitForLine(q, /board up:/, 10_000);
    const refused = await runInNetns(ns, ["iperf3", "-c", "10.67.10.2", "-t", "1", "-J"], 10_000);
    expect((JSON.parse(refused.stdout) as { error?: string }).error).toMatch(/Connection refused/i);
    expect(await interrupt(q)).toEqual({ code: 0, signal: null });
  });
});
