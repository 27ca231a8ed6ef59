// The bench's C helpers on loopback inside a namespace this file creates (and removes): tcpclient keeps its
// one-line "ok …" output without TCPCLIENT_INTERVAL_MS and prints rising "t=… bytes=…" lines with it (which
// tcpRate.ts's parser turns into the plot's points); tcpserve answers UDP echo on port 7 (tcpclient udpecho),
// and counts it on exit; tcpclient hold holds idle connections (the bench's RSS per connection).
// Runs are 0.3 s each (hold: 1 s).

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { canRunTapTests, uniqueName } from "../helpers/env.js";
import { removeNetns, runAsync } from "../helpers/board.js";
import { createNetns } from "../../src/host/iproute.js";
import { parseClient } from "../../bench/tcpRate.js";

const run = canRunTapTests("tcpclient.test.ts", ["cc"]);
const ROOT = join(import.meta.dirname, "../..");

describe.runIf(run)("tcpclient and tcpserve (bench/c)", () => {
  const ns = uniqueName("wbtct");
  let dir = "";
  let server: ChildProcess | null = null;
  let serverStderr = "";

  const client = (args: readonly string[], env: Record<string, string> = {}): ReturnType<typeof runAsync> =>
    runAsync(["ip", "netns", "exec", ns, join(dir, "tcpclient"), ...args], { timeoutMs: 10_000, env: { ...process.env, ...env } });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "wb-tcpclient-"));
    for (const name of ["tcpclient", "tcpserve"]) {
      execFileSync("cc", ["-O2", "-Wall", "-o", join(dir, name), join(ROOT, "bench/c", `${name}.c`)], { stdio: "inherit" });
    }
    createNetns(ns);
    execFileSync("ip", ["-n", ns, "link", "set", "lo", "up"]);
    const s = spawn("ip", ["netns", "exec", ns, join(dir, "tcpserve"), "60"], { stdio: ["ignore", "pipe", "pipe"] });
    server = s;
    s.stderr.on("data", (c: Buffer) => (serverStderr += c.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("tcpserve not ready")), 5000);
      s.stdout.on("data", (c: Buffer) => {
        if (c.toString().includes("ready")) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  });

  afterAll(async () => {
    if (server !== null && server.exitCode === null) {
      const exited = new Promise((resolve) => server?.once("close", resolve));
      server.kill("SIGKILL");
      await exited;
    }
    removeNetns(ns);
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  it("without TCPCLIENT_INTERVAL_MS prints exactly its one ok line", async () => {
    const r = await client(["recv", "127.0.0.1", "19", "0.3"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ok mode=recv ops=\d+ bytes=\d+ seconds=[\d.]+ cpu=[\d.]+\n$/);
    expect(parseClient(r.stdout)?.intervals).toEqual([]);
  });

  it.each(["recv 127.0.0.1 19", "send 127.0.0.1 9"])("%s with TCPCLIENT_INTERVAL_MS=50 prints rising t=/bytes= lines before the ok line", async (args) => {
    const r = await client([...args.split(" "), "0.3"], { TCPCLIENT_INTERVAL_MS: "50" });
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines.at(-1)).toMatch(/^ok mode=/);
    const ticks = lines.slice(0, -1);
    expect(ticks.length).toBeGreaterThanOrEqual(3);
    for (const line of ticks) expect(line).toMatch(/^t=[\d.]+ bytes=\d+$/);
    const out = parseClient(r.stdout)!;
    // The ticks, then the run's total at its end.
    expect(out.intervals).toHaveLength(ticks.length + 1);
    expect(out.intervals.at(-1)).toEqual({ t: out.seconds, bytes: out.bytes });
    for (let i = 1; i < out.intervals.length; i++) {
      expect(out.intervals[i]!.t).toBeGreaterThan(out.intervals[i - 1]!.t);
      expect(out.intervals[i]!.bytes).toBeGreaterThanOrEqual(out.intervals[i - 1]!.bytes);
    }
    expect(out.intervals[0]!.t).toBeGreaterThanOrEqual(0.05);
    expect(out.intervals[0]!.bytes).toBeGreaterThan(0);
  });

  it("rejects a bad TCPCLIENT_INTERVAL_MS with exit 2", async () => {
    const r = await client(["recv", "127.0.0.1", "19", "0.3"], { TCPCLIENT_INTERVAL_MS: "0" });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
  });

  it("hold opens TCPCLIENT_HOLD idle connections, says ready once all are up, and closes them after the run", async () => {
    const r = await client(["hold", "127.0.0.1", "7", "1"], { TCPCLIENT_HOLD: "100" });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ready held=100\nok mode=hold ops=100 bytes=0 seconds=[\d.]+ cpu=[\d.]+\n$/);
    expect((await client(["hold", "127.0.0.1", "7", "1"], { TCPCLIENT_HOLD: "1001" })).code).toBe(2);
  });

  it("tcpserve answers UDP echo on port 7 and counts the datagrams on exit", async () => {
    const r = await client(["udpecho", "127.0.0.1", "7", "0.3"]);
    expect(r.code).toBe(0);
    const ops = Number(/ops=(\d+)/.exec(r.stdout)?.[1]);
    expect(ops).toBeGreaterThan(100);
    const exited = new Promise((resolve) => server?.once("close", resolve));
    server?.kill("SIGTERM");
    await exited;
    const echoed = Number(/udp-echoed (\d+)/.exec(serverStderr)?.[1]);
    expect(echoed).toBeGreaterThanOrEqual(ops);
  });
});
