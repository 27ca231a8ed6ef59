// Malformed frames from the kernel side: scapy, inside a namespace this file creates, sends ~200 broken
// frames to the board's TAP — truncated and impossible IPv4 headers, bad checksums, overlapping fragments, a
// fragment claiming a 70 000-byte datagram, random bytes, broken ARP. The board must drop each one with a
// counted reason, stay up, and still answer pings (small and fragmented). Then IPv4 option lists that do not
// parse (RFC 791 §3.1): each answered with ICMP parameter problem pointing at the bad option, as Linux does,
// while a well-formed unknown option is ignored and its echo answered. Traffic stays inside 10.66.4.0/24.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canRunTapTests } from "../helpers/env.js";
import { dropTotal, parsePingSummary, runInNetns, startTestBoard, waitFor, type TestBoard } from "../helpers/board.js";

const run = canRunTapTests("malformed.test.ts", ["ping", "python3"]);

/** argv: iface, board MAC, board IP, kernel IP. Prints "sent N". Seeded, so every run sends the same frames. */
const GARBAGE_PY = String.raw`
import sys, random
from scapy.all import Ether, IP, ICMP, ARP, Raw, sendp, conf
iface, board_mac, board_ip, kernel_ip = sys.argv[1:5]
random.seed(0x5a17)
conf.verb = 0
eth = lambda t=0x0800: Ether(dst=board_mac, type=t)
ok_ip = bytes(IP(src=kernel_ip, dst=board_ip) / ICMP(id=1, seq=1) / (b"w" * 32))
frames = []
# Truncated IPv4: 0..19 bytes of a header.
for n in range(0, 20):
    frames.append(bytes(eth()) + ok_ip[:n])
# Bad version, bad IHL (below 5, and longer than the packet).
for v in (0, 5, 6, 15):
    frames.append(bytes(eth()) + bytes([(v << 4) | 5]) + ok_ip[1:])
for ihl in (0, 1, 2, 3, 4, 15):
    frames.append(bytes(eth() / IP(src=kernel_ip, dst=board_ip, ihl=ihl) / Raw(b"x" * 8)))
# Bad total length: shorter than the header, longer than the frame.
for tl in (0, 1, 19, 61, 200, 1500, 65535):
    frames.append(bytes(eth() / IP(src=kernel_ip, dst=board_ip, len=tl) / ICMP() / (b"x" * 20)))
# Bad header checksum.
for c in range(10):
    frames.append(bytes(eth() / IP(src=kernel_ip, dst=board_ip, chksum=0x1234 + c) / ICMP() / (b"c" * 16)))
# Bad ICMP checksum, truncated ICMP, ICMP errors quoting garbage.
for c in range(5):
    frames.append(bytes(eth() / IP(src=kernel_ip, dst=board_ip) / ICMP(chksum=0xbeef + c) / (b"i" * 16)))
for n in range(1, 4):
    frames.append(bytes(eth() / IP(src=kernel_ip, dst=board_ip, proto=1) / Raw(b"\x08" * n)))
for t in (3, 11, 12):
    frames.append(bytes(eth() / IP(src=kernel_ip, dst=board_ip) / ICMP(type=t, code=0) / Raw(b"\x45\x00\x00")))
# Overlapping fragments: 0..63 then 32..95 of the same datagram, then its last piece.
for i in range(10):
    ident = 0x4000 + i
    frames.append(bytes(eth() / IP(src=kernel_ip, dst=board_ip, id=ident, proto=1, flags="MF", frag=0) / Raw(b"a" * 64)))
    frames.append(bytes(eth() / IP(src=kernel_ip, dst=board_ip, id=ident, proto=1, flags="MF", frag=4) / Raw(b"b" * 64)))
    frames.append(bytes(eth() / IP(src=kernel_ip, dst=board_ip, id=ident, proto=1, flags=0, frag=12) / Raw(b"c" * 8)))
# A fragment claiming a 70 000-byte datagram: offset 65 528 plus 1 000 bytes (the ping of death).
for i in range(10):
    frames.append(bytes(eth() / IP(src=kernel_ip, dst=board_ip, id=0x5000 + i, proto=1, flags=0, frag=8191) / Raw(b"d" * 1000)))
    frames.append(bytes(eth() / IP(src=kernel_ip, dst=board_ip, id=0x5100 + i, proto=1, flags="MF", frag=8190) / Raw(b"d" * 64)))
# Fragments with a length not a multiple of 8 while more follow.
for i in range(5):
    frames.append(bytes(eth() / IP(src=kernel_ip, dst=board_ip, id=0x5200 + i, proto=1, flags="MF", frag=0) / Raw(b"e" * 13)))
# Random bytes addressed to the board: IPv4, ARP and random EtherTypes.
for i in range(60):
    t = (0x0800, 0x0806, random.randrange(0x0600, 0x10000))[i % 3]
    frames.append(bytes(eth(t)) + random.randbytes(random.randrange(0, 200)))
# Bad ARP: wrong hardware/protocol lengths and types, truncated, unknown operation.
arp = lambda **kw: eth(0x0806) / ARP(psrc=kernel_ip, pdst=board_ip, **kw)
for kw in ({"hwlen": 7}, {"plen": 16}, {"hwtype": 6}, {"ptype": 0x86DD}, {"op": 99}, {"op": 0}):
    for _ in range(3):
        frames.append(bytes(arp(**kw)))
for n in range(0, 28, 4):
    frames.append(bytes(eth(0x0806)) + bytes(ARP(psrc=kernel_ip, pdst=board_ip))[:n])
sendp(frames, iface=iface, verbose=0)
print(f"sent {len(frames)}")
`;

/**
 * argv: iface, board MAC, board IP, kernel IP. Sends echo requests whose headers carry the options below
 * (IP id = case number) and prints one JSON line per case: the ICMP type, code and pointer the board answered
 * with, and the IP id its quote carries, or null when nothing came back within a second.
 */
const OPTIONS_PY = String.raw`
import sys, json, struct, time
from scapy.all import Ether, IP, ICMP, Raw, sendp, conf, checksum, AsyncSniffer
iface, board_mac, board_ip, kernel_ip = sys.argv[1:5]
conf.verb = 0
cases = ["07000000", "44010000", "07090400", "0101019e", "9e041234"]
def dgram(ident, opts):
    icmp = bytes(ICMP(id=0x77, seq=ident) / (b"o" * 16))
    hl = 20 + len(opts)
    h = bytearray(struct.pack("!BBHHHBBH4s4s", 0x40 | (hl // 4), 0, hl + len(icmp), ident, 0, 64, 1, 0,
                              bytes(map(int, kernel_ip.split("."))), bytes(map(int, board_ip.split(".")))) + opts)
    c = checksum(bytes(h)); h[10] = c >> 8; h[11] = c & 0xff
    return bytes(h) + icmp
for ident, opts in enumerate(cases, start=1):
    sn = AsyncSniffer(iface=iface, lfilter=lambda p: IP in p and p[IP].src == board_ip and ICMP in p, count=1, timeout=1.5)
    sn.start(); time.sleep(0.2)
    sendp(Ether(dst=board_mac, type=0x0800) / Raw(dgram(ident, bytes.fromhex(opts))), iface=iface)
    sn.join()
    if not sn.results:
        print(json.dumps({"options": opts, "answer": None})); continue
    m = bytes(sn.results[0][ICMP])
    quoted_id = struct.unpack("!H", m[12:14])[0] if m[0] == 12 and len(m) >= 14 else None
    print(json.dumps({"options": opts, "answer": {"type": m[0], "code": m[1], "pointer": m[4], "quotedId": quoted_id}}))
`;

describe.runIf(run)("malformed frames from the kernel side", () => {
  let tb: TestBoard | null = null;

  beforeAll(() => {
    tb = startTestBoard("wmf", "10.66.4");
  });

  afterAll(() => {
    const b = tb;
    tb = null;
    b?.stop();
    // Quiescence (docs/architecture.md "Tests"): once stopped, the board has nothing armed.
    if (b !== null) expect(b.board.scheduler.armedLabels()).toEqual([]);
  });

  it("drops ~200 garbage frames with counted reasons and keeps answering pings", async () => {
    if (tb === null) throw new Error("board did not start");
    const b = tb;
    const stack = b.board.stack;
    // Let the kernel learn the board's MAC first, so later pings do not depend on ARP surviving the garbage.
    const warmUp = await runInNetns(b.ns, ["ping", "-c", "1", "-W", "1", b.boardIp]);
    expect(parsePingSummary(warmUp.stdout).received).toBe(1);
    const snapshot = (): Record<string, Record<string, number>> =>
      Object.fromEntries(Object.entries(stack.stats()).map(([k, v]) => [k, { ...v }]));
    const before = snapshot();

    const sent = await runInNetns(
      b.ns,
      ["/usr/bin/python3", "-c", GARBAGE_PY, b.tap, b.boardMac, b.boardIp, b.kernelIp],
      20_000,
    );
    expect(sent.code, sent.stderr).toBe(0);
    const count = Number(/sent (\d+)/.exec(sent.stdout)?.[1] ?? "0");
    expect(count).toBeGreaterThanOrEqual(190);
    // Frames reach the board asynchronously; the kernel may add a few of its own (IPv6 ND), never fewer.
    await waitFor(() => stack.netif.stats.rxFrames - before["netif"]!["rxFrames"]! >= count, 5000, `${count} frames`);

    const after = snapshot();
    const grew = (layer: string, name: string): number => after[layer]![name]! - before[layer]![name]!;
    expect(dropTotal(after) - dropTotal(before)).toBeGreaterThanOrEqual(100);
    expect(grew("ip", "dropTruncated")).toBeGreaterThan(0);
    expect(grew("ip", "dropBadVersion")).toBeGreaterThan(0);
    expect(grew("ip", "dropBadHeaderLength")).toBeGreaterThan(0);
    expect(grew("ip", "dropBadTotalLength")).toBeGreaterThan(0);
    expect(grew("ip", "dropBadChecksum")).toBeGreaterThanOrEqual(10);
    expect(grew("icmp", "dropBadChecksum")).toBeGreaterThanOrEqual(5);
    expect(grew("icmp", "dropTruncated")).toBeGreaterThan(0);
    expect(grew("reassembly", "dropOverlap")).toBeGreaterThanOrEqual(10);
    expect(grew("reassembly", "dropTooLong")).toBeGreaterThanOrEqual(20);
    expect(grew("reassembly", "dropInconsistent")).toBeGreaterThanOrEqual(5);
    expect(grew("netif", "arpDropUnsupported")).toBeGreaterThan(0);
    expect(grew("netif", "arpDropTruncated")).toBeGreaterThan(0);
    expect(grew("netif", "dropUnknownType")).toBeGreaterThan(0);
    // None of it was a valid echo request, so none of it was answered.
    expect(grew("icmp", "txEchoReplies")).toBe(0);

    // Not wedged: plain and fragmented echoes still come back.
    const small = await runInNetns(b.ns, ["ping", "-c", "3", "-i", "0.2", "-W", "1", b.boardIp]);
    expect(parsePingSummary(small.stdout)).toEqual({ transmitted: 3, received: 3, lossPercent: 0 });
    const big = await runInNetns(b.ns, ["ping", "-s", "8000", "-c", "2", "-i", "0.2", "-W", "2", b.boardIp]);
    expect(parsePingSummary(big.stdout)).toEqual({ transmitted: 2, received: 2, lossPercent: 0 });
  });

  it("answers IPv4 options that do not parse with ICMP parameter problem, ignores good unknown ones, and still answers echo", async () => {
    if (tb === null) throw new Error("board did not start");
    const b = tb;
    const stack = b.board.stack;
    const warmUp = await runInNetns(b.ns, ["ping", "-c", "1", "-W", "1", b.boardIp]);
    expect(parsePingSummary(warmUp.stdout).received).toBe(1);
    const dropsBefore = stack.ip.stats.dropBadOptions;
    const sentBefore = stack.icmp.stats.txParameterProblem;
    const out = await runInNetns(b.ns, ["/usr/bin/python3", "-c", OPTIONS_PY, b.tap, b.boardMac, b.boardIp, b.kernelIp], 30_000);
    expect(out.code, out.stderr).toBe(0);
    const answers = out.stdout.trim().split("\n").map((line) => JSON.parse(line) as { options: string; answer: unknown });
    expect(answers).toEqual([
      // Length 0, length 1 and past the header point at the option's type octet (20), as Linux does.
      { options: "07000000", answer: { type: 12, code: 0, pointer: 20, quotedId: 1 } },
      { options: "44010000", answer: { type: 12, code: 0, pointer: 20, quotedId: 2 } },
      { options: "07090400", answer: { type: 12, code: 0, pointer: 20, quotedId: 3 } },
      // Three NOPs, then an option with no room for its length octet.
      { options: "0101019e", answer: { type: 12, code: 0, pointer: 23, quotedId: 4 } },
      // A well-formed unknown option is ignored (RFC 1122 §3.2.1.8): an echo reply (type 0) comes back.
      { options: "9e041234", answer: { type: 0, code: 0, pointer: 0, quotedId: null } },
    ]);
    expect(stack.ip.stats.dropBadOptions - dropsBefore).toBe(4);
    expect(stack.icmp.stats.txParameterProblem - sentBefore).toBe(4);
    const after = await runInNetns(b.ns, ["ping", "-c", "3", "-i", "0.2", "-W", "1", b.boardIp]);
    expect(parsePingSummary(after.stdout)).toEqual({ transmitted: 3, received: 3, lossPercent: 0 });
  });
});
