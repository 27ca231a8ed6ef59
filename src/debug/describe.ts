// One-line decoding of an Ethernet frame, in tcpdump's words, for `--trace` and test failure messages.
// Reads headers with bounds checks of its own: a malformed frame is described as such, never thrown on.

import { formatIpv4, formatMac } from "../core/addr.js";
import { ETH, EtherType } from "../eth/ethernet.js";
import { ARP, ArpOp } from "../eth/arp.js";
import { IPV4, IpFlag, IpProto } from "../ip/ipv4.js";
import { IcmpType } from "../ip/icmp.js";

const TCP_FLAG_NAMES: readonly [number, string][] = [
  [0x02, "S"],
  [0x01, "F"],
  [0x04, "R"],
  [0x08, "P"],
  [0x20, "U"],
  [0x40, "E"],
  [0x80, "W"],
];

export function describeFrame(bytes: Uint8Array, offset: number, length: number): string {
  if (length < ETH.headerLength) return `truncated frame, length ${length}`;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = v.getUint16(offset + ETH.type);
  const p = offset + ETH.headerLength;
  const rest = length - ETH.headerLength;
  switch (type) {
    case EtherType.ARP:
      return describeArp(bytes, v, p, rest);
    case EtherType.IPV4:
      return describeIpv4(v, p, rest);
    case EtherType.IPV6:
      return `IP6, length ${rest}`;
    default:
      return `${formatMac(bytes, offset + ETH.src)} > ${formatMac(bytes, offset + ETH.dst)}, ethertype 0x${type.toString(16).padStart(4, "0")}, length ${length}`;
  }
}

function describeArp(bytes: Uint8Array, v: DataView, o: number, len: number): string {
  if (len < ARP.length) return `ARP, truncated, length ${len}`;
  const op = v.getUint16(o + ARP.oper);
  const spa = formatIpv4(v.getUint32(o + ARP.spa));
  const tpa = formatIpv4(v.getUint32(o + ARP.tpa));
  if (op === ArpOp.REQUEST) return `ARP, Request who-has ${tpa} tell ${spa}, length ${ARP.length}`;
  if (op === ArpOp.REPLY) return `ARP, Reply ${spa} is-at ${formatMac(bytes, o + ARP.sha)}, length ${ARP.length}`;
  return `ARP, op ${op}, length ${ARP.length}`;
}

function describeIpv4(v: DataView, o: number, len: number): string {
  if (len < IPV4.minHeaderLength) return `IP truncated, length ${len}`;
  const vi = v.getUint8(o);
  const ihl = (vi & 0xf) * 4;
  if (vi >> 4 !== 4 || ihl < 20 || ihl > len) return `IP bad header (version/ihl 0x${vi.toString(16)}), length ${len}`;
  const total = v.getUint16(o + IPV4.totalLength);
  const src = formatIpv4(v.getUint32(o + IPV4.src));
  const dst = formatIpv4(v.getUint32(o + IPV4.dst));
  const proto = v.getUint8(o + IPV4.protocol);
  const ff = v.getUint16(o + IPV4.flagsFragment);
  const fragOffset = (ff & IpFlag.OFFSET_MASK) * 8;
  const more = (ff & IpFlag.MF) !== 0;
  const end = Math.min(o + total, o + len);
  const payload = end - (o + ihl);
  const frag = more || fragOffset > 0 ? ` (frag ${v.getUint16(o + IPV4.id)}:${total - ihl}@${fragOffset}${more ? "+" : ""})` : "";
  if (fragOffset > 0) return `IP ${src} > ${dst}: ip-proto-${proto}${frag}`;
  const p = o + ihl;
  switch (proto) {
    case IpProto.ICMP:
      return `IP ${src} > ${dst}: ${describeIcmp(v, p, payload)}${frag}`;
    case IpProto.UDP: {
      if (payload < 8) return `IP ${src} > ${dst}: UDP truncated${frag}`;
      const ulen = v.getUint16(p + 4);
      return `IP ${src}.${v.getUint16(p)} > ${dst}.${v.getUint16(p + 2)}: UDP, length ${ulen - 8}${frag}`;
    }
    case IpProto.TCP:
      return `IP ${src}.${payload >= 4 ? v.getUint16(p) : "?"} > ${dst}.${payload >= 4 ? v.getUint16(p + 2) : "?"}: ${describeTcp(v, p, payload)}${frag}`;
    case IpProto.IGMP:
      return `IP ${src} > ${dst}: igmp type 0x${payload > 0 ? v.getUint8(p).toString(16) : "?"}, length ${payload}${frag}`;
    default:
      return `IP ${src} > ${dst}: ip-proto-${proto} ${payload}${frag}`;
  }
}

function describeIcmp(v: DataView, o: number, len: number): string {
  if (len < 8) return `ICMP truncated, length ${len}`;
  const type = v.getUint8(o);
  const code = v.getUint8(o + 1);
  const idSeq = `id ${v.getUint16(o + 4)}, seq ${v.getUint16(o + 6)}, length ${len}`;
  switch (type) {
    case IcmpType.ECHO_REQUEST:
      return `ICMP echo request, ${idSeq}`;
    case IcmpType.ECHO_REPLY:
      return `ICMP echo reply, ${idSeq}`;
    case IcmpType.DEST_UNREACHABLE: {
      const what = ["net", "host", "protocol", "port", "need to frag"][code] ?? `code ${code}`;
      // tcpdump's wording: "10.0.0.2 udp port 9 unreachable", "10.0.0.2 protocol 253 unreachable"; other
      // codes keep their name after the quoted destination and port.
      let quoted = "";
      if (len >= 8 + 20) {
        const q = o + 8;
        const qihl = (v.getUint8(q) & 0xf) * 4;
        const qproto = v.getUint8(q + IPV4.protocol);
        const qdst = formatIpv4(v.getUint32(q + IPV4.dst));
        if (code === 2) return `ICMP ${qdst} protocol ${qproto} unreachable, length ${len}`;
        if (len >= 8 + qihl + 4) {
          const port = v.getUint16(q + qihl + 2);
          quoted = ` ${qdst} ${qproto === IpProto.UDP ? "udp" : qproto === IpProto.TCP ? "tcp" : `proto ${qproto}`} port ${port}`;
          if (code === 3) return `ICMP${quoted} unreachable, length ${len}`;
        }
      }
      return `ICMP${quoted} ${what} unreachable, length ${len}`;
    }
    case IcmpType.TIME_EXCEEDED:
      return `ICMP time exceeded ${code === 1 ? "in-reassembly" : "in-transit"}, length ${len}`;
    case IcmpType.PARAMETER_PROBLEM:
      // tcpdump's wording; the octet is RFC 792's pointer into the quoted header.
      return `ICMP parameter problem - octet ${v.getUint8(o + 4)}, length ${len}`;
    default:
      return `ICMP type ${type} code ${code}, length ${len}`;
  }
}

function describeTcp(v: DataView, o: number, len: number): string {
  if (len < 20) return `TCP truncated, length ${len}`;
  const dataOffset = (v.getUint8(o + 12) >> 4) * 4;
  const flags = v.getUint8(o + 13);
  let f = "";
  for (const [bit, name] of TCP_FLAG_NAMES) if (flags & bit) f += name;
  if (flags & 0x10) f += ".";
  const seq = v.getUint32(o + 4);
  const ack = v.getUint32(o + 8);
  const win = v.getUint16(o + 14);
  const dataLength = len - dataOffset;
  let s = `Flags [${f || "none"}], seq ${seq}`;
  if (dataLength > 0) s = `Flags [${f || "none"}], seq ${seq}:${(seq + dataLength) >>> 0}`;
  if (flags & 0x10) s += `, ack ${ack}`;
  s += `, win ${win}`;
  const opts = dataOffset > 20 && dataOffset <= len ? describeTcpOptions(v, o + 20, dataOffset - 20) : "";
  if (opts) s += `, options [${opts}]`;
  return `${s}, length ${Math.max(0, dataLength)}`;
}

function describeTcpOptions(v: DataView, o: number, len: number): string {
  const parts: string[] = [];
  let i = 0;
  while (i < len) {
    const kind = v.getUint8(o + i);
    if (kind === 0) {
      parts.push("eol");
      break;
    }
    if (kind === 1) {
      parts.push("nop");
      i++;
      continue;
    }
    if (i + 1 >= len) break;
    const olen = v.getUint8(o + i + 1);
    if (olen < 2 || i + olen > len) {
      parts.push("bad opt");
      break;
    }
    const b = o + i + 2;
    if (kind === 2 && olen === 4) parts.push(`mss ${v.getUint16(b)}`);
    else if (kind === 3 && olen === 3) parts.push(`wscale ${v.getUint8(b)}`);
    else if (kind === 4) parts.push("sackOK");
    else if (kind === 8 && olen === 10) parts.push(`TS val ${v.getUint32(b)} ecr ${v.getUint32(b + 4)}`);
    else if (kind === 5) {
      const blocks: string[] = [];
      for (let k = 0; k + 8 <= olen - 2; k += 8) blocks.push(`{${v.getUint32(b + k)}:${v.getUint32(b + k + 4)}}`);
      parts.push(`sack ${blocks.length} ${blocks.join("")}`);
    } else parts.push(`opt-${kind}:${olen}`);
    i += olen;
  }
  return parts.join(",");
}
