// The board's iperf3 server and client against each other: two stacks over a MemLink on the simulated clock,
// a 20 Mbit/s link (FaultInjector rate) so a test moves a few MB, fully deterministic. Every mode a user
// runs (TCP, -R, -P, --bidir, -n, UDP with -b and with loss), the refusals iperf3 -s makes (a second client
// while busy, parameters beyond iperf3's limits, SCTP), and a client that vanishes; afterwards neither
// stack holds anything but TIME-WAIT, and no deadline of iperf3's is armed.

import { afterEach, describe, expect, it } from "vitest";
import { settle, twoStacks, A_IP, type TwoStacks } from "../helpers/twoStacks.js";
import { Iperf3Server } from "../../src/apps/iperf3/server.js";
import { runIperf3Client, type ClientReport } from "../../src/apps/iperf3/client.js";
import { DEFAULT_PARAMS, type TestParams } from "../../src/apps/iperf3/params.js";
import { reportJson, textSummary } from "../../src/apps/iperf3/report.js";
import { encodeJson, IperfState } from "../../src/apps/iperf3/protocol.js";
import { TcpState } from "../../src/tcp/state.js";
import { Err } from "../../src/core/errors.js";

const LINK_BPS = 20_000_000;

interface Fixture {
  net: TwoStacks;
  server: Iperf3Server;
  logs: string[];
}

let current: Fixture | null = null;

function setup(faults: { loss?: number } = {}): Fixture {
  const net = twoStacks({ faults: { rateBitsPerSec: LINK_BPS, seed: 7, ...faults }, a: { random: 1 }, b: { random: 2 } });
  const logs: string[] = [];
  const server = new Iperf3Server(net.a, { log: (l) => logs.push(l) });
  expect(server.start()).toBe(Err.OK);
  current = { net, server, logs };
  return current;
}

afterEach(() => {
  const f = current;
  current = null;
  if (f === null) return;
  f.server.stop();
  f.net.scheduler.advance(1000);
  for (const stack of [f.net.a, f.net.b]) {
    // Quiescent (docs/architecture.md "Tests"): connections closed down to TIME-WAIT, no UDP streams left.
    expect(stack.tcp.allPcbs().map((p) => stack.tcp.info(p).state).filter((s) => s !== "TIME-WAIT")).toEqual([]);
    expect(stack.udp.allPcbs()).toEqual([]);
  }
  // Nothing of iperf3's is armed (the phase, pacing, omit, interval and end deadlines).
  expect(f.net.scheduler.armedLabels().filter((l) => l.includes("iperf3"))).toEqual([]);
  f.net.stop();
});

/** Runs one client test to its end, then lets the server read IPERF_DONE and both sides finish closing. */
async function client(f: Fixture, params: Partial<TestParams>, intervalS = 1): Promise<ClientReport> {
  const report = await settle(
    f.net.scheduler,
    runIperf3Client(f.net.b, { host: A_IP, port: 5201, params: { ...DEFAULT_PARAMS, timeS: 1, blockBytes: 0, ...params }, intervalS }),
    30_000,
  );
  f.net.scheduler.advance(500);
  return report;
}

/** The report as iperf3 -J would print it: the figures users and scripts read. */
function ends(r: ClientReport): { sent: number; received: number; json: Record<string, Record<string, unknown>> } {
  const json = reportJson(r, "test") as { end: Record<string, Record<string, unknown>> };
  return { sent: json.end["sum_sent"]?.["bytes"] as number, received: json.end["sum_received"]?.["bytes"] as number, json: json.end };
}

describe("iperf3: the board's client against the board's server", () => {
  it("TCP for 1 s moves data at the link's rate; the server's count is what the client reports received", async () => {
    const f = setup();
    const r = await client(f, {});
    expect(r.error).toBeNull();
    const { sent, received } = ends(r);
    // 20 Mbit/s for 1 s is 2.5 MB; the link's queue and the send ring hold some of what was written.
    expect(received).toBeGreaterThan(0.8 * (LINK_BPS / 8));
    expect(received).toBeLessThanOrEqual(sent);
    expect(f.server.lastSummary).toMatchObject({ protocol: "TCP", streams: 1, error: null, bytesReceived: received, bytesSent: 0 });
    expect(r.intervals).toHaveLength(1);
    expect(r.remote?.senderHasRetransmits).toBe(-1);
    expect(textSummary(r).at(-1)).toBe("iperf Done.");
    expect(f.logs).toHaveLength(1);
    expect(f.logs[0]).toMatch(/^iperf3: 10\.0\.0\.2:\d+ TCP, 1 stream, 1\.\d\d s: received \S+ MBytes \(1\d\.\d Mbits\/sec\)$/);
  });

  it("-R: the server sends and reports its bytes and retransmissions; the client counts what arrived", async () => {
    const f = setup();
    const r = await client(f, { reverse: true });
    expect(r.error).toBeNull();
    const { sent, received } = ends(r);
    expect(sent).toBe(f.server.lastSummary?.bytesSent);
    expect(received).toBe(r.local[0]?.bytes);
    expect(received).toBeGreaterThan(0.8 * (LINK_BPS / 8));
    expect(r.remote?.senderHasRetransmits).toBe(1);
    expect(r.remote?.congestionUsed).toBe("newreno");
  });

  it("-P 3: streams 1, 3, 4 on both sides, sharing the link, their sum the total", async () => {
    const f = setup();
    const r = await client(f, { parallel: 3 });
    expect(r.error).toBeNull();
    expect(r.local.map((s) => s.id)).toEqual([1, 3, 4]);
    expect(r.remote?.streams.map((s) => s.id)).toEqual([1, 3, 4]);
    for (const s of r.remote?.streams ?? []) expect(s.bytes).toBeGreaterThan(0);
    expect(ends(r).received).toBe((r.remote?.streams ?? []).reduce((a, s) => a + s.bytes, 0));
  });

  it("--bidir: one stream each way, the client's first", async () => {
    const f = setup();
    const r = await client(f, { bidirectional: true });
    expect(r.error).toBeNull();
    expect(r.streams.map((s) => [s.id, s.isSender])).toEqual([
      [1, true],
      [3, false],
    ]);
    expect(f.server.lastSummary?.bytesReceived).toBeGreaterThan(0);
    expect(f.server.lastSummary?.bytesSent).toBeGreaterThan(0);
    const end = ends(r).json;
    expect(end["sum_received"]?.["bytes"]).toBe(f.server.lastSummary?.bytesReceived);
    expect(end["sum_sent_bidir_reverse"]?.["bytes"]).toBe(f.server.lastSummary?.bytesSent);
  });

  it("-n 1M ends the test once 1 MiB is written, with no time limit", async () => {
    const f = setup();
    const r = await client(f, { timeS: 0, bytes: 1 << 20 });
    expect(r.error).toBeNull();
    expect(r.local[0]?.bytes).toBe(1 << 20);
    // 1 MiB at 20 Mbit/s needs about 0.42 s; the test ends when it is written, the ring holding the rest.
    expect(r.durationS).toBeLessThan(0.5);
  });

  it("-b 5M paces a TCP stream at 5 Mbit/s on a 20 Mbit/s link", async () => {
    const f = setup();
    const r = await client(f, { rateBitsPerSec: 5_000_000, timeS: 2 });
    expect(r.error).toBeNull();
    const bits = (r.local[0]?.bytes ?? 0) * 8;
    expect(bits / 2).toBeGreaterThan(4.9e6);
    expect(bits / 2).toBeLessThan(5.1e6);
  });

  it("UDP -b 10M: every datagram arrives, counted with its header's counter; -l 1000 sizes them", async () => {
    const f = setup();
    const r = await client(f, { protocol: "udp", rateBitsPerSec: 10_000_000, blockBytes: 1000 });
    expect(r.error).toBeNull();
    const sent = r.local[0];
    const got = r.remote?.streams[0];
    // 10 Mbit/s of 1000-byte datagrams for 1 s: 1250, give or take the one at the boundary.
    expect(Math.abs((sent?.packets ?? 0) - 1250)).toBeLessThanOrEqual(1);
    expect(got?.packets).toBe(sent?.packets);
    expect(got?.errors).toBe(0);
    expect(got?.bytes).toBe((sent?.packets ?? 0) * 1000);
    // The simulated link's delay varies only by the rate queue (a 1 000-byte datagram takes 0.4 ms at 20 Mbit/s).
    expect(got?.jitterS).toBeGreaterThan(0);
    expect(got?.jitterS).toBeLessThan(1e-3);
  });

  it("UDP with 5 % loss on the link: the receiver counts the gaps as lost", async () => {
    const f = setup({ loss: 0.05 });
    const r = await client(f, { protocol: "udp", rateBitsPerSec: 10_000_000, blockBytes: 1000, reverse: true });
    // The control connection's TCP recovers its own losses; the UDP stream's are counted.
    expect(r.error).toBeNull();
    const mine = r.local[0];
    expect(mine?.packets).toBeGreaterThan(1100);
    const lossRate = (mine?.errors ?? 0) / (r.remote?.streams[0]?.packets ?? 1);
    expect(lossRate).toBeGreaterThan(0.02);
    expect(lossRate).toBeLessThan(0.09);
  });

  it("a second client while a test runs gets ACCESS_DENIED and the first test completes", async () => {
    const f = setup();
    const first = runIperf3Client(f.net.b, { host: A_IP, port: 5201, params: { ...DEFAULT_PARAMS, timeS: 1 , blockBytes: 0}, intervalS: 0 });
    f.net.scheduler.advance(200);
    expect(f.server.isBusy).toBe(true);
    const second = await client(f, {});
    expect(second.error).toBe("the server is busy running a test. try again later");
    const r = await settle(f.net.scheduler, first);
    expect(r.error).toBeNull();
    expect(f.server.stats).toMatchObject({ tests: 1, testsCompleted: 1, accessDenied: 1 });
  });

  it("parameters beyond iperf3's limits are refused with SERVER_ERROR and iperf3's error number", async () => {
    const f = setup();
    const r = await client(f, { parallel: 129 });
    expect(r.error).toBe("the server reported an error: number of parallel streams too large");
    expect(f.server.stats.paramErrors).toBe(1);
    expect(f.server.lastSummary?.error).toMatch(/refused: 129 streams/);
  });

  it("a client that stops talking mid-test is dropped after -t plus the margin, and the next test runs", async () => {
    const f = setup();
    const tcp = f.net.b.tcp;
    // A hand-made client: cookie and parameters, one stream, then silence (no TEST_END).
    const cookie = new Uint8Array(37).fill(0x61);
    cookie[36] = 0;
    const pcbs: unknown[] = [];
    const control = tcp.connect(A_IP, 5201, {
      connected: (p) => {
        tcp.write(p, cookie, 0, 37);
        const params = encodeJson({ tcp: true, time: 1, parallel: 1, len: 1000 });
        tcp.write(p, params, 0, params.length);
      },
      readable: (p) => {
        const buf = new Uint8Array(16);
        const n = tcp.read(p, buf, 0, 16);
        if (buf.subarray(0, n).includes(IperfState.CREATE_STREAMS)) {
          pcbs.push(tcp.connect(A_IP, 5201, { connected: (s) => void tcp.write(s, cookie, 0, 37) }));
        }
      },
    });
    expect(typeof control).not.toBe("number");
    f.net.scheduler.advance(500);
    expect(f.server.isBusy).toBe(true);
    f.net.scheduler.advance(11_000);
    expect(f.server.isBusy).toBe(false);
    expect(f.server.lastSummary?.error).toBe("timed out");
    for (const p of tcp.allPcbs()) tcp.abort(p);
    const r = await client(f, {});
    expect(r.error).toBeNull();
    expect(f.server.stats).toMatchObject({ tests: 2, testsCompleted: 1, testsFailed: 1 });
    expect(pcbs).toHaveLength(1);
  });

  it("SCTP is refused as not implemented", async () => {
    const f = setup();
    const tcp = f.net.b.tcp;
    const answer: number[] = [];
    tcp.connect(A_IP, 5201, {
      connected: (p) => {
        const cookie = new Uint8Array(37).fill(0x62);
        tcp.write(p, cookie, 0, 37);
        const params = encodeJson({ sctp: true, time: 1, parallel: 1 });
        tcp.write(p, params, 0, params.length);
      },
      readable: (p) => {
        const buf = new Uint8Array(64);
        const n = tcp.read(p, buf, 0, 64);
        answer.push(...buf.subarray(0, n));
        if (p.finReceived) tcp.close(p);
      },
    });
    f.net.scheduler.advance(500);
    // PARAM_EXCHANGE, then SERVER_ERROR (-2) with IEUNIMP (13) and errno 0, big-endian.
    expect(answer).toEqual([9, 0xfe, 0, 0, 0, 13, 0, 0, 0, 0]);
    f.net.scheduler.advance(1000);
    expect(tcp.allPcbs().filter((p) => p.state !== TcpState.TIME_WAIT)).toEqual([]);
  });
});
