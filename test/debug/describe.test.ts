// describeFrame: one tcpdump-style line per frame. Inputs are the scapy vectors (test/helpers/vectors.ts);
// the expected lines for ARP, echo, UDP, unreachables and TCP were cross-checked once against
// `tcpdump -nr` (tcpdump 4.99.3) on those frames. Malformed frames are described, never thrown on.

import { describe, expect, it } from "vitest";
import { describeFrame } from "../../src/debug/describe.js";
import { EtherType } from "../../src/eth/ethernet.js";
import { IpFlag, IpProto } from "../../src/ip/ipv4.js";
import { IP_A, IP_B, MAC_A, MAC_B, concat, ether, icmp, ipv4, udp } from "../helpers/wire.js";
import {
  ARP_ANNOUNCE_B,
  ARP_REPLY,
  ARP_REQUEST,
  ECHO_FRAGMENTS,
  ECHO_REPLY,
  ECHO_REQUEST,
  PORT_UNREACHABLE,
  PROTOCOL_UNREACHABLE,
  TCP_DATA,
  TCP_SYN_WITH_OPTIONS,
  UDP_TO_B,
  u8,
} from "../helpers/vectors.js";

function d(frame: readonly number[] | Uint8Array): string {
  const b = frame instanceof Uint8Array ? frame : u8(frame);
  return describeFrame(b, 0, b.length);
}

/** An IPv4 frame A → B carrying `payload` as `protocol`. */
function ipFrame(protocol: number, payload: Uint8Array, extra: Partial<Parameters<typeof ipv4>[0]> = {}): Uint8Array {
  return ether(MAC_B, MAC_A, EtherType.IPV4, ipv4({ src: IP_A, dst: IP_B, protocol, payload, ...extra }));
}

/** A 20-byte TCP header (+ options + data), checksum left 0: describe does not check it. */
function tcp(flags: number, options: number[] = [], data: number[] = [], seq = 100, ack = 0): Uint8Array {
  const h = new Uint8Array(20 + options.length);
  const v = new DataView(h.buffer);
  v.setUint16(0, 1234);
  v.setUint16(2, 80);
  v.setUint32(4, seq);
  v.setUint32(8, ack);
  h[12] = ((20 + options.length) / 4) << 4;
  h[13] = flags;
  v.setUint16(14, 1000);
  h.set(options, 20);
  return concat(h, data);
}

describe("describeFrame", () => {
  it("describes ARP as tcpdump does", () => {
    expect(d(ARP_REQUEST)).toBe("ARP, Request who-has 10.0.0.2 tell 10.0.0.1, length 28");
    expect(d(ARP_REPLY)).toBe("ARP, Reply 10.0.0.2 is-at 02:00:00:00:00:02, length 28");
    expect(d(ARP_ANNOUNCE_B)).toBe("ARP, Request who-has 10.0.0.2 tell 10.0.0.2, length 28");
    const op9 = u8(ARP_REQUEST);
    op9[21] = 9;
    expect(d(op9)).toBe("ARP, op 9, length 28");
  });

  it("describes ICMP echo", () => {
    expect(d(ECHO_REQUEST)).toBe("IP 10.0.0.1 > 10.0.0.2: ICMP echo request, id 1, seq 1, length 11");
    expect(d(ECHO_REPLY)).toBe("IP 10.0.0.2 > 10.0.0.1: ICMP echo reply, id 1, seq 1, length 11");
  });

  it("describes fragments with id:length@offset and + for more", () => {
    expect(ECHO_FRAGMENTS.map(d)).toEqual([
      "IP 10.0.0.1 > 10.0.0.2: ICMP echo request, id 22272, seq 1, length 48 (frag 32768:48@0+)",
      "IP 10.0.0.1 > 10.0.0.2: ip-proto-1 (frag 32768:48@48+)",
      "IP 10.0.0.1 > 10.0.0.2: ip-proto-1 (frag 32768:12@96)",
    ]);
  });

  it("describes UDP", () => {
    expect(d(UDP_TO_B)).toBe("IP 10.0.0.1.5000 > 10.0.0.2.9: UDP, length 5");
  });

  it("describes ICMP errors with what they quote", () => {
    expect(d(PORT_UNREACHABLE)).toBe("IP 10.0.0.2 > 10.0.0.1: ICMP 10.0.0.2 udp port 9 unreachable, length 41");
    expect(d(PROTOCOL_UNREACHABLE)).toBe("IP 10.0.0.2 > 10.0.0.1: ICMP 10.0.0.2 protocol 253 unreachable, length 31");
    const quote = u8(UDP_TO_B).subarray(14, 14 + 28);
    expect(d(ipFrame(IpProto.ICMP, icmp(3, 1, 0, quote)))).toBe("IP 10.0.0.1 > 10.0.0.2: ICMP 10.0.0.2 udp port 9 host unreachable, length 36");
    expect(d(ipFrame(IpProto.ICMP, icmp(3, 1, 0, new Uint8Array(0))))).toBe("IP 10.0.0.1 > 10.0.0.2: ICMP host unreachable, length 8");
    expect(d(ipFrame(IpProto.ICMP, icmp(11, 1, 0, quote)))).toBe("IP 10.0.0.1 > 10.0.0.2: ICMP time exceeded in-reassembly, length 36");
    expect(d(ipFrame(IpProto.ICMP, icmp(11, 0, 0, quote)))).toBe("IP 10.0.0.1 > 10.0.0.2: ICMP time exceeded in-transit, length 36");
    expect(d(ipFrame(IpProto.ICMP, icmp(12, 0, 0x14000000, quote)))).toBe("IP 10.0.0.1 > 10.0.0.2: ICMP parameter problem - octet 20, length 36");
    expect(d(ipFrame(IpProto.ICMP, icmp(13, 0, 0, new Uint8Array(12))))).toBe("IP 10.0.0.1 > 10.0.0.2: ICMP type 13 code 0, length 20");
  });

  it("describes TCP with flags, sequence range, ack, window and options", () => {
    expect(d(TCP_SYN_WITH_OPTIONS)).toBe(
      "IP 10.0.0.1.40000 > 10.0.0.2.80: Flags [S], seq 1000, win 64240, options [mss 1460,sackOK,TS val 123 ecr 0,nop,wscale 7], length 0",
    );
    expect(d(TCP_DATA)).toBe("IP 10.0.0.2.80 > 10.0.0.1.40000: Flags [P.], seq 1:6, ack 1, win 502, length 5");
  });

  it("describes TCP corner cases: SACK blocks, no flags, bad options, sequence wrap", () => {
    const sack = [1, 1, 5, 18, 0, 0, 0, 10, 0, 0, 0, 20, 0, 0, 0, 30, 0, 0, 0, 40];
    expect(d(ipFrame(IpProto.TCP, tcp(0x10, sack, [], 1, 7)))).toBe(
      "IP 10.0.0.1.1234 > 10.0.0.2.80: Flags [.], seq 1, ack 7, win 1000, options [nop,nop,sack 2 {10:20}{30:40}], length 0",
    );
    expect(d(ipFrame(IpProto.TCP, tcp(0, [], [1, 2])))).toBe("IP 10.0.0.1.1234 > 10.0.0.2.80: Flags [none], seq 100:102, win 1000, length 2");
    expect(d(ipFrame(IpProto.TCP, tcp(0)))).toBe("IP 10.0.0.1.1234 > 10.0.0.2.80: Flags [none], seq 100, win 1000, length 0");
    expect(d(ipFrame(IpProto.TCP, tcp(0x11, [2, 9, 0, 0])))).toBe("IP 10.0.0.1.1234 > 10.0.0.2.80: Flags [F.], seq 100, ack 0, win 1000, options [bad opt], length 0");
    expect(d(ipFrame(IpProto.TCP, tcp(0x04, [0, 0, 0, 0])))).toBe("IP 10.0.0.1.1234 > 10.0.0.2.80: Flags [R], seq 100, win 1000, options [eol], length 0");
    expect(d(ipFrame(IpProto.TCP, tcp(0x18, [], [1, 2, 3], 0xfffffffe, 1)))).toBe("IP 10.0.0.1.1234 > 10.0.0.2.80: Flags [P.], seq 4294967294:1, ack 1, win 1000, length 3");
  });

  it("describes other protocols and EtherTypes", () => {
    expect(d(ipFrame(IpProto.IGMP, u8([0x11, 0x64, 0xee, 0x9b, 0, 0, 0, 0])))).toBe("IP 10.0.0.1 > 10.0.0.2: igmp type 0x11, length 8");
    expect(d(ipFrame(253, u8([1, 2, 3])))).toBe("IP 10.0.0.1 > 10.0.0.2: ip-proto-253 3");
    expect(d(ether(MAC_B, MAC_A, EtherType.IPV6, new Uint8Array(40)))).toBe("IP6, length 40");
    expect(d(ether(MAC_B, MAC_A, 0x88cc, new Uint8Array(10)))).toBe("02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype 0x88cc, length 24");
  });

  it("describes truncated and malformed frames instead of throwing", () => {
    expect(d([1, 2, 3])).toBe("truncated frame, length 3");
    expect(d([])).toBe("truncated frame, length 0");
    expect(d(ARP_REQUEST.slice(0, 41))).toBe("ARP, truncated, length 27");
    expect(d(ECHO_REQUEST.slice(0, 33))).toBe("IP truncated, length 19");
    const badVersion = u8(ECHO_REQUEST);
    badVersion[14] = 0x65;
    expect(d(badVersion)).toBe("IP bad header (version/ihl 0x65), length 31");
    const longIhl = u8(ECHO_REQUEST);
    longIhl[14] = 0x4f;
    expect(d(longIhl)).toBe("IP bad header (version/ihl 0x4f), length 31");
    expect(d(ipFrame(IpProto.ICMP, u8([8, 0, 0, 0])))).toBe("IP 10.0.0.1 > 10.0.0.2: ICMP truncated, length 4");
    expect(d(ipFrame(IpProto.UDP, u8([0, 1, 0, 2])))).toBe("IP 10.0.0.1 > 10.0.0.2: UDP truncated");
    expect(d(ipFrame(IpProto.TCP, u8([0, 1, 0, 2, 0, 0])))).toBe("IP 10.0.0.1.1 > 10.0.0.2.2: TCP truncated, length 6");
    expect(d(ipFrame(IpProto.TCP, u8([0, 1])))).toBe("IP 10.0.0.1.? > 10.0.0.2.?: TCP truncated, length 2");
    // A capture cut short of the IP total length describes what is there.
    expect(d(u8(ECHO_REQUEST.slice(0, 40)))).toBe("IP 10.0.0.1 > 10.0.0.2: ICMP truncated, length 6");
  });

  it("reads a frame at an offset inside a larger buffer", () => {
    const buf = new Uint8Array(7 + ARP_REPLY.length + 5).fill(0xee);
    buf.set(ARP_REPLY, 7);
    expect(describeFrame(buf, 7, ARP_REPLY.length)).toBe("ARP, Reply 10.0.0.2 is-at 02:00:00:00:00:02, length 28");
  });

  it("describes the first fragment of a UDP datagram by its UDP header, then the fragment", () => {
    // The UDP length (8 + 40) covers the whole datagram; this fragment carries its first 16 bytes.
    const first = concat(udp(7, 9, new Uint8Array(40)).subarray(0, 16));
    expect(d(ipFrame(IpProto.UDP, first, { flags: IpFlag.MF | IpFlag.DF, id: 5 }))).toBe("IP 10.0.0.1.7 > 10.0.0.2.9: UDP, length 40 (frag 5:16@0+)");
  });
});
