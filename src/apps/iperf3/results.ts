// What each side measured, as iperf3 exchanges it after TEST_END (EXCHANGE_RESULTS: the client sends its
// results, the server answers with its own), and the UDP receiver's accounting behind it: loss from gaps in
// the packet counter, out-of-order arrivals, and RFC 3550 interarrival jitter. Call order: streams.ts counts →
// server.ts / client.ts build a ResultsMessage → resultsToJson → protocol.encodeJson; parseResults on receipt.

/** One stream's totals as exchanged (iperf3's send_results / get_results keys in comments). */
export interface StreamResult {
  /** "id": 1, 3, 4, … in the order the streams were created (iperf3 numbers the second stream 3). */
  id: number;
  /** "bytes": sent (sender) or received (receiver) after the omitted seconds. */
  bytes: number;
  /** "retransmits": TCP segments the sender retransmitted, or -1 when unknown (receivers, UDP). */
  retransmits: number;
  /** "jitter": RFC 3550 interarrival jitter in seconds (UDP receivers; 0 otherwise). */
  jitterS: number;
  /** "errors": UDP datagrams lost (counter gaps, less late arrivals). */
  errors: number;
  /** "packets": UDP datagrams sent (sender) or the highest counter seen (receiver). */
  packets: number;
  /** "start_time", "end_time": seconds from the stream's start. */
  startTimeS: number;
  endTimeS: number;
}

export interface ResultsMessage {
  /** "cpu_util_total", "cpu_util_user", "cpu_util_system": percent of one CPU over the test. */
  cpuUtilTotal: number;
  cpuUtilUser: number;
  cpuUtilSystem: number;
  /** "sender_has_retransmits": 1 when the sending side's streams report retransmissions, 0 when not, -1 for a receiver. */
  senderHasRetransmits: number;
  /** "congestion_used": the TCP congestion control of this side's streams, if known. */
  congestionUsed: string | null;
  streams: StreamResult[];
  /** "server_output_text": the server's own report, when the client asked for it. */
  serverOutputText: string | null;
}

export function resultsToJson(r: ResultsMessage): Record<string, unknown> {
  const j: Record<string, unknown> = {
    cpu_util_total: r.cpuUtilTotal,
    cpu_util_user: r.cpuUtilUser,
    cpu_util_system: r.cpuUtilSystem,
    sender_has_retransmits: r.senderHasRetransmits,
  };
  if (r.congestionUsed !== null) j["congestion_used"] = r.congestionUsed;
  if (r.serverOutputText !== null) j["server_output_text"] = r.serverOutputText;
  j["streams"] = r.streams.map((s) => ({
    id: s.id,
    bytes: s.bytes,
    retransmits: s.retransmits,
    jitter: s.jitterS,
    errors: s.errors,
    packets: s.packets,
    start_time: s.startTimeS,
    end_time: s.endTimeS,
  }));
  return j;
}

function field(o: Record<string, unknown>, key: string): number | null {
  const v = o[key];
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/**
 * The peer's results, or a reason they cannot be used. As iperf3's get_results: the three CPU figures,
 * sender_has_retransmits and a streams array are required, and each stream needs id, bytes, retransmits,
 * jitter, errors and packets; start_time/end_time are optional (servers before 3.2 do not send them).
 */
export function parseResults(json: unknown): ResultsMessage | string {
  if (typeof json !== "object" || json === null || Array.isArray(json)) return "results are not a JSON object";
  const o = json as Record<string, unknown>;
  const total = field(o, "cpu_util_total");
  const user = field(o, "cpu_util_user");
  const system = field(o, "cpu_util_system");
  const shr = field(o, "sender_has_retransmits");
  if (total === null || user === null || system === null || shr === null) return "results lack the CPU figures or sender_has_retransmits";
  const list = o["streams"];
  if (!Array.isArray(list)) return "results lack the streams array";
  const streams: StreamResult[] = [];
  for (const item of list as unknown[]) {
    if (typeof item !== "object" || item === null) return "a stream result is not an object";
    const s = item as Record<string, unknown>;
    const id = field(s, "id");
    const bytes = field(s, "bytes");
    const retransmits = field(s, "retransmits");
    const jitter = field(s, "jitter");
    const errors = field(s, "errors");
    const packets = field(s, "packets");
    if (id === null || bytes === null || retransmits === null || jitter === null || errors === null || packets === null) return "a stream result lacks a required number";
    streams.push({ id, bytes, retransmits, jitterS: jitter, errors, packets, startTimeS: field(s, "start_time") ?? 0, endTimeS: field(s, "end_time") ?? 0 });
  }
  const cc = o["congestion_used"];
  const text = o["server_output_text"];
  return {
    cpuUtilTotal: total,
    cpuUtilUser: user,
    cpuUtilSystem: system,
    senderHasRetransmits: shr,
    congestionUsed: typeof cc === "string" ? cc : null,
    streams,
    serverOutputText: typeof text === "string" ? text : null,
  };
}

/**
 * A UDP receiver's view of one stream. Loss and reordering from the sender's packet counter, as iperf3
 * counts them (a gap counts as lost; a late arrival is out of order and takes one back); jitter is RFC 3550
 * §6.4.1's running estimate J += (|D| − J)/16 over transit times. Transit uses the sender's clock and ours,
 * whose offset cancels in D, so the hosts need not be synchronized (RFC 3550 §6.4.1, A.8).
 */
export class UdpReceiveStats {
  /** Highest packet counter seen (iperf3's packet_count; counters start at 1). */
  highestCounter = 0;
  /** Datagrams missing (gaps), less those that turned up late. */
  lost = 0;
  outOfOrder = 0;
  /** Datagrams and payload bytes received. */
  datagrams = 0;
  bytes = 0;
  jitterS = 0;
  private prevTransitS = 0;
  /** Values at the end of the omitted seconds (reported totals are raw, as iperf3's). */
  bytesAtOmit = 0;

  /** Accounts one datagram: its counter, the sender's send time and our arrival time (both µs). */
  onDatagram(counter: number, payloadBytes: number, sentMicros: number, arrivalMicros: number): void {
    const isFirst = this.datagrams === 0;
    this.datagrams++;
    this.bytes += payloadBytes;
    if (counter >= this.highestCounter + 1) {
      if (counter > this.highestCounter + 1) this.lost += counter - 1 - this.highestCounter;
      this.highestCounter = counter;
    } else {
      this.outOfOrder++;
      if (this.lost > 0) this.lost--;
    }
    const transitS = (arrivalMicros - sentMicros) / 1e6;
    if (isFirst) this.prevTransitS = transitS;
    const d = Math.abs(transitS - this.prevTransitS);
    this.prevTransitS = transitS;
    this.jitterS += (d - this.jitterS) / 16;
  }

  /** The end of the omitted seconds: bytes count from here, jitter starts afresh (iperf_reset_stats). */
  markOmitEnd(): void {
    this.bytesAtOmit = this.bytes;
    this.jitterS = 0;
  }

  get bytesAfterOmit(): number {
    return this.bytes - this.bytesAtOmit;
  }
}
