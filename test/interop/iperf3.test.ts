// iperf3 both ways between the board and Debian's iperf3 (3.12) over a real TAP, in a namespace this file
// creates: the kernel's `iperf3 -c` against the board's server on 5201 (TCP, -R, -P 4, UDP at 100 Mbit/s, and
// a second client refused while a test runs), and the board as the client toward the kernel's `iperf3 -s`
// (TCP, -R, -P 3, UDP). Results are read from iperf3's own JSON (-J) on the kernel side and compared with
// what the board counted. Each test runs 2 s of traffic; traffic stays inside 10.66.41.0/24.

import { spawn } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { canRunTapTests } from "../helpers/env.js";
import { runAsync, runInNetns, useTestBoard, waitFor, type TestBoard } from "../helpers/board.js";
import { parseIpv4 } from "../../src/core/addr.js";
import { runIperf3Client, type ClientReport } from "../../src/apps/iperf3/client.js";
import { DEFAULT_PARAMS, type TestParams } from "../../src/apps/iperf3/params.js";
import { reportJson } from "../../src/apps/iperf3/report.js";
import { TcpState } from "../../src/tcp/state.js";
import { SERVICE_PORTS } from "../../src/apps/services.js";
import type { TcpLayer } from "../../src/tcp/tcp.js";
import type { UdpLayer } from "../../src/udp/udp.js";

/** Connections the board still holds that an owner has not let go of (summaries: PCB objects are huge to diff). */
function heldPcbs(tcp: TcpLayer): string[] {
  return tcp
    .allPcbs()
    .filter((p) => p.state !== TcpState.TIME_WAIT && !p.orphaned)
    .map((p) => {
      const i = tcp.info(p);
      return `${i.state} ${i.local} ${i.remote}`;
    });
}

/** UDP ports bound besides the board's echo and discard services. */
const udpPorts = (udp: UdpLayer): number[] => udp.allPcbs().map((p) => p.localPort).filter((p) => p !== SERVICE_PORTS.echo && p !== SERVICE_PORTS.discard);

const run = canRunTapTests("iperf3.test.ts", ["iperf3", "ss"]);

/** The parts of iperf3's -J output these tests read. */
interface IperfSum {
  bytes: number;
  seconds: number;
  bits_per_second: number;
  retransmits?: number;
  packets?: number;
  lost_packets?: number;
  lost_percent?: number;
  jitter_ms?: number;
  sender: boolean;
}
interface IperfJson {
  error?: string;
  start: { connected: { local_port: number; remote_port: number }[]; test_start: { protocol: string; num_streams: number; reverse: number } };
  end: {
    streams: { sender?: IperfSum & { socket: number }; receiver?: IperfSum & { socket: number }; udp?: IperfSum & { socket: number } }[];
    sum_sent?: IperfSum;
    sum_received?: IperfSum;
    sum?: IperfSum;
  };
}

function parseJson(stdout: string, what: string): IperfJson {
  try {
    return JSON.parse(stdout) as IperfJson;
  } catch {
    throw new Error(`${what}: not iperf3 JSON:\n${stdout}`);
  }
}

/** Runs the kernel's `iperf3 -c` in the namespace (bounded: -t plus 8 s). */
async function kernelClient(b: TestBoard, args: readonly string[]): Promise<IperfJson> {
  const r = await runInNetns(b.ns, ["iperf3", "-c", b.boardIp, "-J", ...args], 10_000);
  return parseJson(r.stdout, `iperf3 -c ${args.join(" ")} (exit ${String(r.code)}, ${r.stderr})`);
}

/** Starts the kernel's `iperf3 -s -1` (one test, then it exits) and waits until it listens. */
async function kernelServer(b: TestBoard, port: number): Promise<{ result: Promise<IperfJson> }> {
  const child = spawn("ip", ["netns", "exec", b.ns, "timeout", "15", "iperf3", "-s", "-1", "-J", "-p", String(port)], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  const result = new Promise<IperfJson>((resolve, reject) => {
    child.on("close", () => {
      try {
        resolve(parseJson(stdout, "iperf3 -s"));
      } catch (err) {
        reject(err as Error);
      }
    });
  });
  let listening = false;
  for (let i = 0; i < 100 && !listening; i++) {
    const ss = await runAsync(["ip", "netns", "exec", b.ns, "ss", "-Hltn", `sport = :${port}`], { timeoutMs: 2000 });
    listening = ss.stdout.trim().length > 0;
    if (!listening) await new Promise((r) => setTimeout(r, 20));
  }
  expect(listening).toBe(true);
  return { result };
}

const stream = (s: IperfJson["end"]["streams"][number]): { sent: number; received: number } => ({ sent: s.sender?.bytes ?? 0, received: s.receiver?.bytes ?? 0 });

describe.runIf(run)("the board serves iperf3 to the kernel's iperf3 -c", () => {
  const logs: string[] = [];
  const board = useTestBoard("wip", "10.66.41", { iperf3: { log: (l) => logs.push(l) } });

  afterEach(() => {
    const b = board().board;
    // Every test's connections are closed; what lingers is TIME-WAIT (the board closed first) or a reset's echo.
    expect(b.iperf3?.isBusy).toBe(false);
    expect(heldPcbs(b.stack.tcp)).toEqual([]);
    expect(udpPorts(b.stack.udp)).not.toContain(5201);
  });

  it("TCP for 2 s: the kernel sends, the board counts what arrived, and a second client meanwhile is refused", async () => {
    const b = board();
    const test = kernelClient(b, ["-t", "2"]);
    // While the first test runs, iperf3 -s answers any other client with ACCESS_DENIED.
    await waitFor(() => b.board.iperf3?.isBusy === true, 3000, "the test to start");
    await new Promise((r) => setTimeout(r, 300));
    const second = await kernelClient(b, ["-t", "1"]);
    expect(second.error).toMatch(/busy/);
    const j = await test;
    console.log(`kernel → board, 1 stream: ${(j.end.sum_received!.bits_per_second / 1e9).toFixed(2)} Gbit/s`);
    expect(j.error).toBeUndefined();
    expect(j.start.test_start).toMatchObject({ protocol: "TCP", num_streams: 1, reverse: 0 });
    const sent = j.end.sum_sent!;
    const received = j.end.sum_received!;
    expect(sent.bytes).toBeGreaterThan(0);
    expect(received.bytes).toBeGreaterThan(0);
    // The receiver's figure is the board's own count, sent in the results exchange.
    const summary = b.board.iperf3!.lastSummary!;
    expect(summary.error).toBeNull();
    expect(received.bytes).toBe(summary.bytesReceived);
    // What was still on its way at TEST_END is not counted, as with iperf3 -s.
    expect(received.bytes).toBeLessThanOrEqual(sent.bytes);
    expect(received.bytes).toBeGreaterThan(sent.bytes * 0.8);
    expect(received.seconds).toBeGreaterThan(1.9);
    expect(received.seconds).toBeLessThan(2.2);
    expect(b.board.iperf3!.stats.accessDenied).toBeGreaterThanOrEqual(1);
  });

  it("-R: the board sends for 2 s, the kernel receives, and the board's retransmissions are reported", async () => {
    const b = board();
    const j = await kernelClient(b, ["-t", "2", "-R"]);
    console.log(`board → kernel, 1 stream: ${(j.end.sum_received!.bits_per_second / 1e9).toFixed(2)} Gbit/s`);
    expect(j.error).toBeUndefined();
    expect(j.start.test_start.reverse).toBe(1);
    const sent = j.end.sum_sent!;
    const received = j.end.sum_received!;
    // In reverse mode the sender is the server: sum_sent is the board's count, marked as not the client's.
    expect(sent.sender).toBe(false);
    expect(sent.bytes).toBe(b.board.iperf3!.lastSummary!.bytesSent);
    expect(sent.retransmits).toBeGreaterThanOrEqual(0);
    expect(received.bytes).toBeGreaterThan(0);
    expect(received.bytes).toBeLessThanOrEqual(sent.bytes);
    expect(b.board.iperf3!.lastSummary!.bytesReceived).toBe(0);
  });

  it("-P 4: four streams, each carrying data, summing to the totals", async () => {
    const b = board();
    const j = await kernelClient(b, ["-t", "2", "-P", "4"]);
    expect(j.error).toBeUndefined();
    expect(j.end.streams).toHaveLength(4);
    expect(j.start.connected).toHaveLength(4);
    const streams = j.end.streams.map(stream);
    for (const s of streams) {
      expect(s.sent).toBeGreaterThan(0);
      expect(s.received).toBeGreaterThan(0);
    }
    expect(streams.reduce((a, s) => a + s.sent, 0)).toBe(j.end.sum_sent!.bytes);
    expect(streams.reduce((a, s) => a + s.received, 0)).toBe(j.end.sum_received!.bytes);
    expect(j.end.sum_received!.bytes).toBe(b.board.iperf3!.lastSummary!.bytesReceived);
    expect(b.board.iperf3!.lastSummary!.streams).toBe(4);
  });

  it("-u -b 100M: 2 s of UDP, counted by the board with loss and jitter", async () => {
    const b = board();
    const j = await kernelClient(b, ["-t", "2", "-u", "-b", "100M"]);
    const sum = j.end.sum!;
    console.log(`kernel → board UDP at 100 Mbit/s: ${sum.packets} datagrams, ${sum.lost_packets} lost, jitter ${sum.jitter_ms?.toFixed(3)} ms`);
    expect(j.error).toBeUndefined();
    expect(j.start.test_start.protocol).toBe("UDP");
    expect(j.end.sum_sent!.bytes).toBeGreaterThan(20_000_000);
    expect(j.end.sum_received!.bytes).toBe(b.board.iperf3!.lastSummary!.bytesReceived);
    expect(sum.packets).toBeGreaterThan(15_000);
    expect(sum.lost_percent).toBeLessThan(10);
    expect(sum.jitter_ms).toBeGreaterThan(0);
    expect(sum.jitter_ms).toBeLessThan(10);
    expect(j.end.sum_received!.bits_per_second).toBeGreaterThan(80e6);
  });
});

describe.runIf(run)("the board as iperf3 client of the kernel's iperf3 -s", () => {
  const board = useTestBoard("wiq", "10.66.42");

  afterEach(() => {
    expect(heldPcbs(board().board.stack.tcp)).toEqual([]);
    expect(udpPorts(board().board.stack.udp)).toEqual([]);
  });

  async function boardClient(port: number, params: Partial<TestParams>): Promise<{ report: ClientReport; server: IperfJson }> {
    const b = board();
    const server = await kernelServer(b, port);
    const report = await runIperf3Client(b.board.stack, {
      host: parseIpv4(b.kernelIp),
      port,
      params: { ...DEFAULT_PARAMS, timeS: 2, blockBytes: 0, ...params },
      intervalS: 1,
    });
    return { report, server: await server.result };
  }

  it("TCP for 2 s: the board sends, and the kernel's count is the one it reports back", async () => {
    const { report, server } = await boardClient(5211, {});
    expect(report.error).toBeNull();
    const j = reportJson(report, "test") as unknown as IperfJson;
    const sent = j.end.sum_sent!;
    const received = j.end.sum_received!;
    console.log(`board → kernel as client: ${(received.bits_per_second / 1e9).toFixed(2)} Gbit/s`);
    expect(sent.bytes).toBeGreaterThan(0);
    expect(received.bytes).toBeGreaterThan(0);
    expect(received.bytes).toBeLessThanOrEqual(sent.bytes);
    // The kernel server's own JSON says what it received; our report carries that figure.
    expect(server.error).toBeUndefined();
    expect(server.end.sum_received!.bytes).toBe(received.bytes);
    expect(report.intervals.length).toBeGreaterThanOrEqual(2);
    expect(report.intervals.reduce((a, i) => a + (i.streams[0]?.bytes ?? 0), 0)).toBe(sent.bytes);
  });

  it("-R: the kernel sends for 2 s and the board counts", async () => {
    const { report, server } = await boardClient(5212, { reverse: true });
    expect(report.error).toBeNull();
    const j = reportJson(report, "test") as unknown as IperfJson;
    expect(j.end.sum_received!.bytes).toBeGreaterThan(0);
    expect(j.end.sum_sent!.bytes).toBe(server.end.sum_sent!.bytes);
    expect(j.end.sum_received!.bytes).toBeLessThanOrEqual(j.end.sum_sent!.bytes);
    expect(report.local[0]?.bytes).toBe(j.end.sum_received!.bytes);
  });

  it("-P 3: three streams numbered 1, 3, 4 as iperf3 numbers them, their sum the kernel's total", async () => {
    const { report, server } = await boardClient(5213, { parallel: 3 });
    expect(report.error).toBeNull();
    expect(report.streams.map((s) => s.id)).toEqual([1, 3, 4]);
    const remote = report.remote!.streams;
    expect(remote.map((s) => s.id).sort()).toEqual([1, 3, 4]);
    for (const s of remote) expect(s.bytes).toBeGreaterThan(0);
    expect(remote.reduce((a, s) => a + s.bytes, 0)).toBe(server.end.sum_received!.bytes);
  });

  it("-u -b 50M: the board paces UDP for 2 s and the kernel counts the datagrams", async () => {
    const { report, server } = await boardClient(5214, { protocol: "udp", rateBitsPerSec: 50_000_000 });
    expect(report.error).toBeNull();
    const j = reportJson(report, "test") as unknown as IperfJson;
    const sum = j.end.sum!;
    expect(sum.packets).toBeGreaterThan(5000);
    expect(sum.lost_percent).toBeLessThan(10);
    expect(server.end.sum_received!.bytes).toBe(j.end.sum_received!.bytes);
    // Paced: within 10 % of the target over the 2 s.
    expect(j.end.sum_sent!.bits_per_second).toBeGreaterThan(45e6);
    expect(j.end.sum_sent!.bits_per_second).toBeLessThan(55e6);
  });
});
