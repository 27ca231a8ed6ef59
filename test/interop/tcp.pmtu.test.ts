// Path MTU discovery (RFC 1191) against real Linux routers: the board's kernel side (namespace A) forwards
// over a 1280-byte veth link to a router namespace M, which forwards over a 1500-byte link to the peer
// namespace P. The peer announces MSS 1460 (its own link is 1500), so the board's first full segments
// (1500 bytes, DF set) cannot cross A's 1280-byte link: A's kernel answers ICMP "fragmentation needed,
// next-hop MTU 1280", the board lowers that connection's MSS and re-sends, and a chargen transfer from the
// board arrives whole. Run with offloads (64 KiB super-frames, cut by the kernel's GSO) and without. Every
// namespace is created here ("wsm…", 10.85.0.0/16) and removed after.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canRunTapTests, uniqueName } from "../helpers/env.js";
import { removeNetns, runAsync, startTestBoard, type TestBoard } from "../helpers/board.js";
import { kernelCounter, PYTHON, rfc864, runPeer, sha256Hex } from "../helpers/tcpPeer.js";
import { createNetns, ipIn } from "../../src/host/iproute.js";
import type { TcpPcb } from "../../src/tcp/pcb.js";

const run = canRunTapTests("tcp.pmtu.test.ts", [PYTHON, "nstat"]);

const MiB = 1024 * 1024;
/** The narrow link between the board's kernel side and the router. */
const NARROW_MTU = 1280;

async function sysctl(ns: string, setting: string): Promise<void> {
  const r = await runAsync(["ip", "netns", "exec", ns, "sysctl", "-qw", setting], { timeoutMs: 5000 });
  if (r.code !== 0) throw new Error(`sysctl ${setting} in ${ns}: ${r.stderr}`);
}

describe.runIf(run).each([
  { offload: true, net: 1 },
  { offload: false, net: 4 },
])("path MTU discovery through a 1280-byte link (offload $offload)", ({ offload, net }) => {
  const boardNet = `10.85.${net}`;
  const narrowNet = `10.85.${net + 1}`;
  const peerNet = `10.85.${net + 2}`;
  const peerIp = `${peerNet}.2`;
  const routerNs = uniqueName("wsmr");
  const peerNs = uniqueName("wsmp");
  let tb: TestBoard | null = null;

  beforeAll(async () => {
    tb = startTestBoard("wsm", boardNet, { offload });
    const a = tb.ns;
    createNetns(routerNs);
    createNetns(peerNs);
    // A —(1280)— M —(1500)— P
    ipIn(a, ["link", "add", "wsma0", "mtu", String(NARROW_MTU), "type", "veth", "peer", "name", "wsmm0", "mtu", String(NARROW_MTU), "netns", routerNs]);
    ipIn(routerNs, ["link", "add", "wsmm1", "type", "veth", "peer", "name", "wsmp0", "netns", peerNs]);
    ipIn(a, ["addr", "add", `${narrowNet}.1/24`, "dev", "wsma0"]);
    ipIn(routerNs, ["addr", "add", `${narrowNet}.2/24`, "dev", "wsmm0"]);
    ipIn(routerNs, ["addr", "add", `${peerNet}.1/24`, "dev", "wsmm1"]);
    ipIn(peerNs, ["addr", "add", `${peerIp}/24`, "dev", "wsmp0"]);
    for (const [ns, dev] of [
      [a, "wsma0"],
      [routerNs, "wsmm0"],
      [routerNs, "wsmm1"],
      [peerNs, "wsmp0"],
      [peerNs, "lo"],
    ] as const) {
      ipIn(ns, ["link", "set", dev, "up"]);
    }
    ipIn(a, ["route", "add", `${peerNet}.0/24`, "via", `${narrowNet}.2`]);
    ipIn(routerNs, ["route", "add", `${boardNet}.0/24`, "via", `${narrowNet}.1`]);
    ipIn(peerNs, ["route", "add", "default", "via", `${peerNet}.1`]);
    await sysctl(a, "net.ipv4.ip_forward=1");
    await sysctl(routerNs, "net.ipv4.ip_forward=1");
  });

  afterAll(() => {
    const b = tb;
    tb = null;
    b?.stop();
    removeNetns(routerNs);
    removeNetns(peerNs);
    // Quiescence (docs/architecture.md "Tests"): once stopped, the board has nothing armed.
    if (b !== null) expect(b.board.scheduler.armedLabels()).toEqual([]);
  });

  it("a chargen transfer from the board arrives whole; the board's MSS drops to the narrow link's", async () => {
    const b = tb!;
    const tcp = b.board.stack.tcp;
    const icmpBefore = await kernelCounter(b.ns, "IcmpOutDestUnreachs");
    // The board's connection on port 19, and the largest MSS it had before the router spoke.
    const pcbs = new Set<TcpPcb>();
    let firstMss = 0;
    const timer = setInterval(() => {
      for (const p of tcp.allPcbs()) {
        if (p.localPort !== 19) continue;
        pcbs.add(p);
        if (firstMss === 0 && p.isSynchronized) firstMss = p.mssBytes;
      }
    }, 1);
    const bytes = 8 * MiB;
    let r: { received: number; sha: string; mismatchAt: number; seconds: number };
    try {
      r = await runPeer(peerNs, "chargen", { host: b.boardIp, port: 19, recv: bytes, timeoutS: 30 });
    } finally {
      clearInterval(timer);
    }
    console.log(`chargen 8 MiB through a ${NARROW_MTU}-byte link (offload ${String(offload)}): ${r.seconds.toFixed(2)} s`);
    expect(r.received).toBe(bytes);
    expect(r.mismatchAt).toBe(-1);
    expect(r.sha).toBe(sha256Hex(rfc864(bytes)));

    expect(pcbs.size).toBe(1);
    const [pcb] = [...pcbs];
    // The peer offered 1460 with timestamps (12 option bytes): 1448 at first, then 1280 − 40 − 12.
    expect(firstMss).toBe(1448);
    expect(pcb!.timestampsOn).toBe(true);
    expect(pcb!.mssBytes).toBe(NARROW_MTU - 40 - 12);
    expect(pcb!.pathMtuBytes).toBe(NARROW_MTU);
    expect(tcp.stats.pmtuReductions).toBeGreaterThanOrEqual(1);
    expect(b.board.stack.icmp.stats.rxErrors).toBeGreaterThanOrEqual(1);
    // It was A's kernel that refused the 1500-byte datagrams and said so.
    expect(await kernelCounter(b.ns, "IcmpOutDestUnreachs")).toBeGreaterThan(icmpBefore);
  });
});
