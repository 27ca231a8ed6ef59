// The board client's report in iperf3's two shapes: the text iperf3 prints (a line per stream per interval,
// then sender and receiver totals) and its -J JSON (start, intervals, end with sum_sent/sum_received, or sum
// for UDP), so tools that read iperf3's JSON read walnut's. Streams are numbered by their iperf3 id where
// iperf3 prints a socket number. Call order: client.ts's ClientReport → these functions → the CLI.

import { formatIpv4 } from "../../core/addr.js";
import type { ClientInterval, ClientReport, StreamInterval } from "./client.js";
import type { StreamResult } from "./results.js";
import { formatBitrate, formatBytes } from "./units.js";

/** One stream's end totals as seen from both sides. */
interface StreamTotals {
  id: number;
  /** The client (us) sends on this stream. */
  clientSends: boolean;
  sentBytes: number;
  sentSeconds: number;
  receivedBytes: number;
  receivedSeconds: number;
  /** TCP: the sender's retransmissions, or null when the sender does not report them. */
  retransmits: number | null;
  /** UDP: datagrams sent, lost and out of order on the way, and the receiver's jitter (s). */
  packets: number;
  lost: number;
  jitterS: number;
}

function totals(r: ClientReport): StreamTotals[] {
  const remote = new Map<number, StreamResult>((r.remote?.streams ?? []).map((s) => [s.id, s]));
  const remoteHasRetransmits = (r.remote?.senderHasRetransmits ?? -1) === 1;
  return r.local.map((mine) => {
    const info = r.streams.find((s) => s.id === mine.id);
    const clientSends = info?.isSender ?? true;
    const theirs = remote.get(mine.id);
    const sender = clientSends ? mine : theirs;
    const receiver = clientSends ? theirs : mine;
    const senderReportsRetransmits = clientSends ? r.params.protocol === "tcp" : remoteHasRetransmits;
    return {
      id: mine.id,
      clientSends,
      sentBytes: sender?.bytes ?? 0,
      sentSeconds: sender !== undefined ? sender.endTimeS - sender.startTimeS : 0,
      receivedBytes: receiver?.bytes ?? 0,
      receivedSeconds: receiver !== undefined ? receiver.endTimeS - receiver.startTimeS : 0,
      retransmits: senderReportsRetransmits && sender !== undefined && sender.retransmits >= 0 ? sender.retransmits : null,
      packets: sender?.packets ?? 0,
      lost: receiver?.errors ?? 0,
      jitterS: receiver?.jitterS ?? 0,
    };
  });
}

const bps = (bytes: number, seconds: number): number => (seconds > 0 ? (bytes * 8) / seconds : 0);
const lostPercent = (lost: number, packets: number): number => (packets > 0 ? (100 * lost) / packets : 0);

/** The sums over a test's streams, in one direction (client → server when `clientSends`). */
interface DirectionSum {
  streams: StreamTotals[];
  sentBytes: number;
  receivedBytes: number;
  sentSeconds: number;
  receivedSeconds: number;
  retransmits: number | null;
  packets: number;
  lost: number;
  jitterS: number;
}

function sumOf(streams: StreamTotals[]): DirectionSum {
  const retransmits = streams.every((s) => s.retransmits !== null) && streams.length > 0 ? streams.reduce((a, s) => a + (s.retransmits ?? 0), 0) : null;
  return {
    streams,
    sentBytes: streams.reduce((a, s) => a + s.sentBytes, 0),
    receivedBytes: streams.reduce((a, s) => a + s.receivedBytes, 0),
    sentSeconds: Math.max(0, ...streams.map((s) => s.sentSeconds)),
    receivedSeconds: Math.max(0, ...streams.map((s) => s.receivedSeconds)),
    retransmits,
    packets: streams.reduce((a, s) => a + s.packets, 0),
    lost: streams.reduce((a, s) => a + s.lost, 0),
    jitterS: streams.length > 0 ? streams.reduce((a, s) => a + s.jitterS, 0) / streams.length : 0,
  };
}

// ================= text =================

const pad = (text: string, width: number): string => text.padStart(width);
const idCell = (id: number | "SUM"): string => (id === "SUM" ? "[SUM]" : `[${pad(String(id), 3)}]`);
const span = (startS: number, endS: number): string => `${pad(startS.toFixed(2), 6)}-${endS.toFixed(2).padEnd(6)} sec`;

/** The lines iperf3 prints before the intervals. */
export function textHeader(r: ClientReport): string[] {
  const lines = [`Connecting to host ${formatIpv4(r.host)}, port ${r.port}`];
  if (r.params.reverse) lines.push(`Reverse mode, remote host ${formatIpv4(r.host)} is sending`);
  for (const s of r.streams) lines.push(`${idCell(s.id)} local ${formatIpv4(s.localIp)} port ${s.localPort} connected to ${formatIpv4(s.remoteIp)} port ${s.remotePort}`);
  lines.push(columns(r));
  return lines;
}

/** The column heads: intervals show the sender's Retr and Cwnd (not with -R), the summary Retr. */
function columns(r: ClientReport, isSummary = false): string {
  const role = r.params.bidirectional ? "[ ID][Role]" : "[ ID]";
  if (r.params.protocol === "udp") return `${role} Interval           Transfer     Bitrate         Jitter    Lost/Total Datagrams`;
  const extra = isSummary ? "Retr" : r.params.reverse ? "" : "Retr  Cwnd";
  return `${role} Interval           Transfer     Bitrate         ${extra}`.trimEnd();
}

function role(r: ClientReport, isSender: boolean): string {
  return r.params.bidirectional ? `[${isSender ? "TX-C" : "RX-C"}]` : "";
}

/** The lines of one interval, as iperf3 prints them while the test runs. */
export function textInterval(r: ClientReport, interval: ClientInterval): string[] {
  const seconds = interval.endS - interval.startS;
  const line = (id: number | "SUM", s: Pick<StreamInterval, "bytes" | "retransmits" | "cwndBytes" | "packets" | "lost" | "jitterS">, isSender: boolean): string => {
    let text = `${idCell(id)}${role(r, isSender)} ${span(interval.startS, interval.endS)}  ${pad(formatBytes(s.bytes), 11)}  ${pad(formatBitrate(bps(s.bytes, seconds)), 15)}`;
    if (r.params.protocol === "tcp" && s.retransmits !== null) text += `  ${pad(String(s.retransmits), 4)}${s.cwndBytes !== null ? `   ${pad(formatBytes(s.cwndBytes), 10)}` : ""}`;
    if (r.params.protocol === "udp") {
      if (isSender) text += `  ${pad(String(s.packets ?? 0), 8)}  `;
      else text += `  ${pad(((s.jitterS ?? 0) * 1000).toFixed(3), 7)} ms  ${s.lost ?? 0}/${(s.packets ?? 0) + (s.lost ?? 0)} (${lostPercent(s.lost ?? 0, (s.packets ?? 0) + (s.lost ?? 0)).toFixed(2)}%)`;
    }
    return text;
  };
  const lines = interval.streams.map((s) => line(s.id, s, s.isSender));
  if (interval.streams.length > 1) {
    for (const isSender of r.params.bidirectional ? [true, false] : [interval.streams[0]?.isSender ?? true]) {
      const group = interval.streams.filter((s) => s.isSender === isSender);
      const sum = (k: "bytes" | "packets" | "lost"): number => group.reduce((a, s) => a + (s[k] ?? 0), 0);
      const retr = group.every((s) => s.retransmits !== null) ? group.reduce((a, s) => a + (s.retransmits ?? 0), 0) : null;
      lines.push(line("SUM", { bytes: sum("bytes"), retransmits: retr, cwndBytes: null, packets: sum("packets"), lost: sum("lost"), jitterS: group[0]?.jitterS ?? 0 }, isSender));
    }
  }
  return lines;
}

/** The summary iperf3 prints at the end (sender and receiver lines per stream, then the sums), or the error. */
export function textSummary(r: ClientReport): string[] {
  if (r.error !== null) return [`iperf3: error - ${r.error}`];
  const all = totals(r);
  const lines = ["- - - - - - - - - - - - - - - - - - - - - - - - -", columns(r, true)];
  const udp = r.params.protocol === "udp";
  const emit = (id: number | "SUM", t: StreamTotals | DirectionSum, clientSends: boolean): void => {
    const roleText = role(r, clientSends);
    if (udp) {
      lines.push(`${idCell(id)}${roleText} ${span(0, t.sentSeconds)}  ${pad(formatBytes(t.sentBytes), 11)}  ${pad(formatBitrate(bps(t.sentBytes, t.sentSeconds)), 15)}  ${pad("0.000", 7)} ms  0/${t.packets} (0%)  sender`);
      lines.push(
        `${idCell(id)}${roleText} ${span(0, t.receivedSeconds)}  ${pad(formatBytes(t.receivedBytes), 11)}  ${pad(formatBitrate(bps(t.receivedBytes, t.receivedSeconds)), 15)}  ${pad((t.jitterS * 1000).toFixed(3), 7)} ms  ${t.lost}/${t.packets} (${lostPercent(t.lost, t.packets).toFixed(2)}%)  receiver`,
      );
      return;
    }
    const retr = t.retransmits !== null ? pad(String(t.retransmits), 4) : "    ";
    lines.push(`${idCell(id)}${roleText} ${span(0, t.sentSeconds)}  ${pad(formatBytes(t.sentBytes), 11)}  ${pad(formatBitrate(bps(t.sentBytes, t.sentSeconds)), 15)}  ${retr}             sender`);
    lines.push(`${idCell(id)}${roleText} ${span(0, t.receivedSeconds)}  ${pad(formatBytes(t.receivedBytes), 11)}  ${pad(formatBitrate(bps(t.receivedBytes, t.receivedSeconds)), 15)}                   receiver`);
  };
  for (const t of all) emit(t.id, t, t.clientSends);
  if (all.length > 1) {
    for (const clientSends of [true, false]) {
      const group = all.filter((t) => t.clientSends === clientSends);
      if (group.length > 0) emit("SUM", sumOf(group), clientSends);
    }
  }
  lines.push("", "iperf Done.");
  return lines;
}

// ================= JSON (iperf3 -J) =================

function intervalJson(r: ClientReport, interval: ClientInterval): Record<string, unknown> {
  const seconds = interval.endS - interval.startS;
  const stream = (s: StreamInterval): Record<string, unknown> => {
    const j: Record<string, unknown> = { socket: s.id, start: interval.startS, end: interval.endS, seconds, bytes: s.bytes, bits_per_second: bps(s.bytes, seconds) };
    if (s.retransmits !== null) j["retransmits"] = s.retransmits;
    if (s.cwndBytes !== null) j["snd_cwnd"] = s.cwndBytes;
    if (r.params.protocol === "udp") {
      j["packets"] = s.packets ?? 0;
      if (!s.isSender) {
        j["jitter_ms"] = (s.jitterS ?? 0) * 1000;
        j["lost_packets"] = s.lost ?? 0;
        j["lost_percent"] = lostPercent(s.lost ?? 0, (s.packets ?? 0) + (s.lost ?? 0));
      }
    }
    j["omitted"] = interval.endS <= r.params.omitS;
    j["sender"] = s.isSender;
    return j;
  };
  const streams = interval.streams.map(stream);
  const sumFor = (isSender: boolean): Record<string, unknown> => {
    const group = interval.streams.filter((s) => s.isSender === isSender);
    const bytes = group.reduce((a, s) => a + s.bytes, 0);
    const j: Record<string, unknown> = { start: interval.startS, end: interval.endS, seconds, bytes, bits_per_second: bps(bytes, seconds) };
    if (group.every((s) => s.retransmits !== null) && r.params.protocol === "tcp") j["retransmits"] = group.reduce((a, s) => a + (s.retransmits ?? 0), 0);
    if (r.params.protocol === "udp") j["packets"] = group.reduce((a, s) => a + (s.packets ?? 0), 0);
    j["omitted"] = interval.endS <= r.params.omitS;
    j["sender"] = isSender;
    return j;
  };
  const out: Record<string, unknown> = { streams };
  if (r.params.bidirectional) {
    out["sum"] = sumFor(true);
    out["sum_bidir_reverse"] = sumFor(false);
  } else {
    out["sum"] = sumFor(interval.streams[0]?.isSender ?? !r.params.reverse);
  }
  return out;
}

function endJson(r: ClientReport): Record<string, unknown> {
  const all = totals(r);
  const udp = r.params.protocol === "udp";
  const streams = all.map((t) => {
    if (udp) {
      return {
        udp: {
          socket: t.id,
          start: 0,
          end: t.sentSeconds,
          seconds: t.sentSeconds,
          bytes: t.sentBytes,
          bits_per_second: bps(t.sentBytes, t.sentSeconds),
          jitter_ms: t.jitterS * 1000,
          lost_packets: t.lost,
          packets: t.packets,
          lost_percent: lostPercent(t.lost, t.packets),
          out_of_order: 0,
          sender: t.clientSends,
        },
      };
    }
    const sender: Record<string, unknown> = { socket: t.id, start: 0, end: t.sentSeconds, seconds: t.sentSeconds, bytes: t.sentBytes, bits_per_second: bps(t.sentBytes, t.sentSeconds) };
    if (t.retransmits !== null) sender["retransmits"] = t.retransmits;
    sender["sender"] = t.clientSends;
    return {
      sender,
      receiver: { socket: t.id, start: 0, end: t.receivedSeconds, seconds: t.receivedSeconds, bytes: t.receivedBytes, bits_per_second: bps(t.receivedBytes, t.receivedSeconds), sender: t.clientSends },
    };
  });
  const end: Record<string, unknown> = { streams };
  const direction = (clientSends: boolean, suffix: string): void => {
    const group = all.filter((t) => t.clientSends === clientSends);
    if (group.length === 0) return;
    const s = sumOf(group);
    const sent: Record<string, unknown> = { start: 0, end: s.sentSeconds, seconds: s.sentSeconds, bytes: s.sentBytes, bits_per_second: bps(s.sentBytes, s.sentSeconds) };
    const received: Record<string, unknown> = { start: 0, end: s.receivedSeconds, seconds: s.receivedSeconds, bytes: s.receivedBytes, bits_per_second: bps(s.receivedBytes, s.receivedSeconds) };
    if (udp) {
      const loss = { jitter_ms: s.jitterS * 1000, lost_packets: s.lost, packets: s.packets, lost_percent: lostPercent(s.lost, s.packets) };
      end[`sum${suffix}`] = { ...received, ...loss, sender: clientSends };
      Object.assign(sent, { jitter_ms: 0, lost_packets: 0, packets: s.packets, lost_percent: 0 });
      Object.assign(received, loss);
    } else if (s.retransmits !== null) {
      sent["retransmits"] = s.retransmits;
    }
    sent["sender"] = clientSends;
    received["sender"] = clientSends;
    end[`sum_sent${suffix}`] = sent;
    end[`sum_received${suffix}`] = received;
  };
  direction(!r.params.reverse || r.params.bidirectional, "");
  if (r.params.bidirectional) direction(false, "_bidir_reverse");
  end["cpu_utilization_percent"] = {
    host_total: r.localCpu.total,
    host_user: r.localCpu.user,
    host_system: r.localCpu.system,
    remote_total: r.remote?.cpuUtilTotal ?? 0,
    remote_user: r.remote?.cpuUtilUser ?? 0,
    remote_system: r.remote?.cpuUtilSystem ?? 0,
  };
  if (r.params.protocol === "tcp") {
    const ours = r.congestionUsed;
    const theirs = r.remote?.congestionUsed ?? null;
    const sender = r.params.reverse ? theirs : ours;
    const receiver = r.params.reverse ? ours : theirs;
    if (sender !== null) end["sender_tcp_congestion"] = sender;
    if (receiver !== null) end["receiver_tcp_congestion"] = receiver;
  }
  return end;
}

/** The report as iperf3 -J writes it; on failure `error` holds iperf3's "error - …" text. */
export function reportJson(r: ClientReport, version: string): Record<string, unknown> {
  const p = r.params;
  const start = {
    connected: r.streams.map((s) => ({ socket: s.id, local_host: formatIpv4(s.localIp), local_port: s.localPort, remote_host: formatIpv4(s.remoteIp), remote_port: s.remotePort })),
    version,
    connecting_to: { host: formatIpv4(r.host), port: r.port },
    cookie: r.cookie,
    tcp_mss_default: r.controlMss,
    target_bitrate: p.rateBitsPerSec,
    test_start: {
      protocol: p.protocol.toUpperCase(),
      num_streams: p.parallel,
      blksize: p.blockBytes,
      omit: p.omitS,
      duration: p.timeS,
      bytes: p.bytes,
      blocks: p.blocks,
      reverse: p.reverse ? 1 : 0,
      tos: 0,
      target_bitrate: p.rateBitsPerSec,
      bidir: p.bidirectional ? 1 : 0,
    },
  };
  const out: Record<string, unknown> = { start, intervals: r.intervals.map((i) => intervalJson(r, i)), end: r.error === null ? endJson(r) : {} };
  if (r.error !== null) out["error"] = r.error;
  return out;
}
