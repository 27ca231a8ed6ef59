// The board as an iperf3 client (`walnut iperf3 -c HOST`): the other half of server.ts, toward any iperf3
// server (Linux's `iperf3 -s`). It connects the control connection and sends the cookie, sends its
// parameters at PARAM_EXCHANGE, opens the streams one after another at CREATE_STREAMS (TCP connections that
// repeat the cookie, or UDP sockets that send the "connect" datagram and wait for the answer), counts or sends
// from TEST_RUNNING until -t (or -n, -k) is reached, sends TEST_END, exchanges results, and leaves with
// IPERF_DONE at DISPLAY_RESULTS. Call order: runIperf3Client → tcp.connect → control.ts → this state
// machine → streams.ts → results.ts; report.ts turns the outcome into iperf3's text or JSON.

import { Deadline } from "../../core/scheduler.js";
import { Err, type ErrCode } from "../../core/errors.js";
import { formatIpv4 } from "../../core/addr.js";
import type { TcpPcb } from "../../tcp/pcb.js";
import type { UdpPcb } from "../../udp/udp.js";
import { ControlChannel } from "./control.js";
import { paramsToJson, type TestParams } from "./params.js";
import { encodeJson, encodeState, IperfLimits, IperfState, makeCookie, stateName, UDP_CONNECT_MSG, UDP_HANDSHAKE_BYTES, cookieText } from "./protocol.js";
import { parseResults, resultsToJson, type ResultsMessage, type StreamResult } from "./results.js";
import { SendBudget, TcpStream, TestRun, UdpStream, type DataStream } from "./streams.js";
import type { CpuUsage, Iperf3Host } from "./server.js";
import { isCongestionControlName } from "../../tcp/cc/index.js";

export interface Iperf3ClientOptions {
  /** The server's address and port. */
  host: number;
  port: number;
  /** The test; `blockBytes` 0 picks iperf3's default (128 KiB for TCP, the control connection's MSS for UDP). */
  params: TestParams;
  /** Seconds per interval report (-i); 0 for none. */
  intervalS: number;
  wallClockMicros?: () => number;
  cpuUsage?: CpuUsage | null;
  /** Called with each interval as it ends (the CLI prints them as they come). */
  onInterval?: (interval: ClientInterval, report: ClientReport) => void;
  /** Called once the streams are connected and the test runs. */
  onStart?: (report: ClientReport) => void;
  /** Connecting, setting up, and waiting for results after TEST_END: each at most this long. */
  setupTimeoutMs?: number;
}

/** One stream as the client opened it. */
export interface ClientStreamInfo {
  id: number;
  isSender: boolean;
  localIp: number;
  localPort: number;
  remoteIp: number;
  remotePort: number;
}

/** One stream's share of an interval. */
export interface StreamInterval {
  id: number;
  isSender: boolean;
  bytes: number;
  /** TCP senders: retransmissions in the interval; null otherwise. */
  retransmits: number | null;
  /** TCP senders: the congestion window at the interval's end, bytes. */
  cwndBytes: number | null;
  /** UDP: datagrams sent (sender) or received (receiver) in the interval. */
  packets: number | null;
  /** UDP receivers: lost in the interval, and the jitter estimate at its end (s). */
  lost: number | null;
  jitterS: number | null;
}

export interface ClientInterval {
  startS: number;
  endS: number;
  streams: StreamInterval[];
}

/** The whole test as the client saw it and the server reported it. */
export interface ClientReport {
  params: TestParams;
  host: number;
  port: number;
  cookie: string;
  /** MSS of the control connection (iperf3's tcp_mss_default). */
  controlMss: number;
  streams: ClientStreamInfo[];
  intervals: ClientInterval[];
  /** Seconds from TEST_RUNNING to TEST_END. */
  durationS: number;
  /** This side's and the server's final numbers, by stream id. */
  local: StreamResult[];
  remote: ResultsMessage | null;
  localCpu: { total: number; user: number; system: number };
  /** Our TCP streams' congestion control (newreno, cubic). */
  congestionUsed: string | null;
  /** null when the test ran to IPERF_DONE; else why it did not. */
  error: string | null;
}

type Phase = "connecting" | "params" | "streams" | "ready" | "running" | "ending" | "results" | "display" | "done";

/** iperf3's messages for the error numbers a server sends most (iperf_error.c). */
const SERVER_ERRORS: Readonly<Record<number, string>> = {
  5: "test duration too long",
  6: "number of parallel streams too large",
  7: "block size too large",
  13: "not yet implemented",
  20: "block size invalid",
  114: "unable to receive parameters from client",
  121: "the server is busy running a test. try again later",
  202: "unable to start stream listener",
};

/** Runs one test against an iperf3 server; never rejects: a failed test resolves with `error` set. */
export function runIperf3Client(host: Iperf3Host, options: Iperf3ClientOptions): Promise<ClientReport> {
  return new Promise((resolve) => new ClientTest(host, options, resolve).start());
}

class ClientTest {
  private phase: Phase = "connecting";
  private control: ControlChannel | null = null;
  private readonly cookie: Uint8Array;
  private params: TestParams;
  private readonly streams: DataStream[] = [];
  private readonly tcpPcbs: TcpPcb[] = [];
  private readonly udpPcbs: UdpPcb[] = [];
  private run: TestRun | null = null;
  private budget = new SendBudget(0);
  private readonly report: ClientReport;
  private readonly phaseDeadline: Deadline;
  private readonly endDeadline: Deadline;
  private readonly intervalDeadline: Deadline;
  /** Checks -n / -k completion (a test by amount has no end deadline). */
  private readonly amountDeadline: Deadline;
  private readonly wallMicros: () => number;
  private cpuAtStart: { user: number; system: number } | null = null;
  private intervalStartMs = 0;
  /** Totals at the last interval boundary, by stream index. */
  private lastTotals: { bytes: number; retransmits: number; packets: number; lost: number }[] = [];
  private gotTestRunning = false;
  private finished = false;
  private readonly udpScratch = new Uint8Array(65_536);
  private readonly udpView = new DataView(this.udpScratch.buffer);

  constructor(
    private readonly host: Iperf3Host,
    private readonly options: Iperf3ClientOptions,
    private readonly resolve: (r: ClientReport) => void,
  ) {
    const scheduler = host.scheduler;
    this.cookie = makeCookie(host.random);
    this.params = { ...options.params };
    this.wallMicros = options.wallClockMicros ?? (() => scheduler.now() * 1000);
    this.report = {
      params: this.params,
      host: options.host,
      port: options.port,
      cookie: cookieText(this.cookie),
      controlMss: 0,
      streams: [],
      intervals: [],
      durationS: 0,
      local: [],
      remote: null,
      localCpu: { total: 0, user: 0, system: 0 },
      congestionUsed: null,
      error: null,
    };
    this.phaseDeadline = new Deadline(() => this.fail(`timed out (${this.phase})`), "iperf3 client");
    this.endDeadline = new Deadline((now) => this.endTest(now), "iperf3 client end");
    this.intervalDeadline = new Deadline((now) => this.onIntervalTick(now), "iperf3 client interval");
    this.amountDeadline = new Deadline((now) => this.checkAmount(now), "iperf3 client amount");
  }

  private get setupTimeoutMs(): number {
    return this.options.setupTimeoutMs ?? 10_000;
  }

  start(): void {
    const tcp = this.host.tcp;
    this.host.scheduler.after(this.phaseDeadline, this.setupTimeoutMs);
    const pcb = tcp.connect(this.options.host, this.options.port, {
      connected: (p) => this.onControlConnected(p),
      error: (_p, err) => this.fail(`cannot connect to ${formatIpv4(this.options.host)}:${this.options.port}: ${connectError(err)}`),
    });
    if (typeof pcb === "number") this.fail(`cannot connect to ${formatIpv4(this.options.host)}:${this.options.port}: ${connectError(pcb)}`);
  }

  private onControlConnected(pcb: TcpPcb): void {
    this.report.controlMss = pcb.mssBytes;
    this.control = new ControlChannel(this.host.tcp, pcb, {
      onInput: () => this.onControlInput(),
      onClosed: (_c, err) => {
        if (this.phase === "done") return;
        this.fail(err === Err.OK ? "the server closed the control connection" : `the control connection failed (${connectError(err)})`);
      },
    });
    this.phase = "params";
    this.control.send(this.cookie);
    this.control.start();
  }

  // ================= the control connection =================

  private onControlInput(): void {
    // Bounded: each pass takes a message off or stops.
    for (let guard = 0; guard < 64 && !this.finished; guard++) if (!this.step()) return;
  }

  private step(): boolean {
    const control = this.control;
    if (control === null) return false;
    const reader = control.reader;
    if (this.phase === "results") {
      const msg = reader.takeJson();
      if (msg.kind === "incomplete") return false;
      const results = msg.kind === "ok" ? parseResults(msg.value) : msg.reason;
      if (typeof results === "string") {
        this.fail(`the server's results: ${results}`);
        return false;
      }
      this.report.remote = results;
      this.phase = "display";
      return true;
    }
    // SERVER_ERROR is followed by two 4-byte integers: take it only once they are all here.
    if (reader.peekState() === IperfState.SERVER_ERROR && reader.available < 9) return false;
    const state = reader.takeState();
    if (state === null) return false;
    switch (state) {
      case IperfState.PARAM_EXCHANGE:
        this.sendParams(control);
        return true;
      case IperfState.CREATE_STREAMS:
        this.phase = "streams";
        this.openNextStream();
        return true;
      case IperfState.TEST_START:
        return true;
      case IperfState.TEST_RUNNING:
        this.gotTestRunning = true;
        this.maybeBegin();
        return true;
      case IperfState.EXCHANGE_RESULTS:
        control.send(encodeJson(resultsToJson(this.localResults())));
        this.phase = "results";
        return true;
      case IperfState.DISPLAY_RESULTS:
        this.finishOk();
        return false;
      case IperfState.ACCESS_DENIED:
        this.fail("the server is busy running a test. try again later");
        return false;
      case IperfState.SERVER_ERROR: {
        // iperf3's error number and an errno.
        const iperfErrno = reader.takeInt32() ?? 0;
        const errno = reader.takeInt32() ?? 0;
        this.fail(`the server reported an error: ${SERVER_ERRORS[iperfErrno] ?? `iperf3 error ${iperfErrno}`}${errno !== 0 ? ` (errno ${errno})` : ""}`);
        return false;
      }
      case IperfState.SERVER_TERMINATE:
        this.fail("the server has terminated");
        return false;
      default:
        this.fail(`unexpected ${stateName(state)} from the server`);
        return false;
    }
  }

  private sendParams(control: ControlChannel): void {
    const p = this.params;
    if (p.blockBytes === 0) {
      // iperf3: UDP datagrams as large as the control connection's MSS, so they are not fragmented.
      p.blockBytes = p.protocol === "udp" ? Math.min(this.report.controlMss, IperfLimits.maxUdpBlockBytes) : IperfLimits.defaultTcpBlockBytes;
    }
    this.budget = new SendBudget(p.bytes > 0 ? p.bytes : p.blocks * p.blockBytes);
    control.send(encodeJson(paramsToJson(p)));
  }

  // ================= streams =================

  /** Streams open one at a time, so the server numbers them in our order: senders first with --bidir. */
  private openNextStream(): void {
    const p = this.params;
    const total = p.bidirectional ? 2 * p.parallel : p.parallel;
    const index = this.streams.length;
    if (index === total) {
      this.phase = "ready";
      this.maybeBegin();
      return;
    }
    const id = index === 0 ? 1 : index + 2;
    const isSender = p.bidirectional ? index < p.parallel : !p.reverse;
    if (p.protocol === "tcp") this.openTcpStream(id, isSender);
    else this.openUdpStream(id, isSender);
  }

  private sendConfig(): { pattern: Uint8Array; rateBitsPerSec: number; budget: SendBudget } {
    const pattern = new Uint8Array(this.params.blockBytes);
    this.host.random.fill(pattern);
    return { pattern, rateBitsPerSec: this.params.rateBitsPerSec, budget: this.budget };
  }

  private openTcpStream(id: number, isSender: boolean): void {
    const tcp = this.host.tcp;
    const cc = this.params.congestion;
    const pcbOptions = cc !== null && isCongestionControlName(cc) ? { congestionControl: cc } : {};
    const r = tcp.connect(this.options.host, this.options.port, {
      connected: (pcb) => {
        if (this.finished) return;
        if (this.params.noDelay) tcp.setNoDelay(pcb, true);
        tcp.write(pcb, this.cookie, 0, this.cookie.length);
        const stream = new TcpStream(tcp, pcb, id, isSender, isSender ? this.sendConfig() : null, (_s, err) => {
          // A stream lost while the test runs fails it, as in iperf3; after TEST_END the server closing is normal.
          if (this.phase === "running" || this.phase === "ready") this.fail(`stream ${id} failed (${connectError(err)})`);
        });
        this.streams.push(stream);
        this.report.streams.push({ id, isSender, localIp: pcb.localIp, localPort: pcb.localPort, remoteIp: pcb.remoteIp, remotePort: pcb.remotePort });
        this.openNextStream();
      },
      error: (_p, err) => this.fail(`stream ${id} cannot connect (${connectError(err)})`),
    }, pcbOptions);
    if (typeof r === "number") {
      this.fail(`stream ${id} cannot connect (${connectError(r)})`);
      return;
    }
    this.tcpPcbs.push(r);
  }

  private openUdpStream(id: number, isSender: boolean): void {
    const udp = this.host.udp;
    const pcb = udp.open({ maxQueuedDatagrams: 2048, maxQueuedBytes: 4 * 1024 * 1024 });
    this.udpPcbs.push(pcb);
    const err = udp.connect(pcb, this.options.host, this.options.port);
    if (err !== Err.OK) {
      this.fail(`stream ${id}: ${connectError(err)}`);
      return;
    }
    const stream = new UdpStream(udp, pcb, this.options.host, this.options.port, id, isSender, isSender ? this.sendConfig() : null, this.params.udpCounters64, this.wallMicros);
    let connected = false;
    pcb.events = {
      readable: () => {
        // Bounded by the queue: each receive takes one datagram.
        for (let n = udp.receive(pcb, this.udpScratch, 0, this.udpScratch.length); n >= 0; n = udp.receive(pcb, this.udpScratch, 0, this.udpScratch.length)) {
          if (!connected) {
            // The server's answer to our "connect" (any 4 bytes will do, as for iperf3).
            connected = true;
            this.streams.push(stream);
            this.report.streams.push({ id, isSender, localIp: this.host.tcp.ip.sourceFor(this.options.host), localPort: pcb.localPort, remoteIp: this.options.host, remotePort: this.options.port });
            this.openNextStream();
            continue;
          }
          stream.onDatagram(this.udpView, 0, n);
        }
      },
      error: (_p, e) => this.fail(`stream ${id}: ${connectError(e)}`),
    };
    const hello = new Uint8Array(UDP_HANDSHAKE_BYTES);
    new DataView(hello.buffer).setUint32(0, UDP_CONNECT_MSG, true);
    udp.sendTo(pcb, hello, 0, hello.length, null, 0);
  }

  // ================= running =================

  /** TEST_RUNNING and every stream open (a UDP answer may be seen after TEST_RUNNING): start counting. */
  private maybeBegin(): void {
    if (!this.gotTestRunning || this.phase !== "ready") return;
    const p = this.params;
    const scheduler = this.host.scheduler;
    const now = scheduler.now();
    this.phase = "running";
    scheduler.cancel(this.phaseDeadline);
    this.cpuAtStart = this.options.cpuUsage?.() ?? null;
    const hasSender = this.streams.some((s) => s.isSender);
    this.run = new TestRun(scheduler, this.streams, "iperf3 client");
    this.run.begin(now, hasSender && (p.protocol === "udp" || p.rateBitsPerSec > 0), p.pacingTimerUs, p.omitS);
    this.lastTotals = this.streams.map(() => ({ bytes: 0, retransmits: 0, packets: 0, lost: 0 }));
    this.intervalStartMs = now;
    if (p.timeS > 0) scheduler.set(this.endDeadline, now + (p.timeS + p.omitS) * 1000);
    else scheduler.set(this.amountDeadline, now + 10);
    if (this.options.intervalS > 0) scheduler.set(this.intervalDeadline, now + this.options.intervalS * 1000);
    for (const s of this.streams) if (s instanceof TcpStream && this.report.congestionUsed === null) this.report.congestionUsed = s.pcb.cc.name;
    this.options.onStart?.(this.report);
  }

  /** -n / -k: done once the senders have written it all, or (-R) we have received it all. */
  private checkAmount(now: number): void {
    if (this.phase !== "running") return;
    const limit = this.budget.limitBytes;
    const received = this.streams.reduce((sum, s) => sum + (s.isSender ? 0 : s.bytes), 0);
    if (limit === 0 || this.budget.isExhausted || received >= limit) this.endTest(now);
    else this.host.scheduler.set(this.amountDeadline, now + 10);
  }

  private onIntervalTick(now: number): void {
    if (this.phase !== "running") return;
    this.closeInterval(now);
    this.host.scheduler.set(this.intervalDeadline, now + this.options.intervalS * 1000);
  }

  /** Records the interval from the last boundary to `now` (skipped when it is shorter than 10 ms). */
  private closeInterval(now: number): void {
    const run = this.run;
    if (run === null || now - this.intervalStartMs < 10) return;
    const streams: StreamInterval[] = this.streams.map((s, i) => {
      const last = this.lastTotals[i] as { bytes: number; retransmits: number; packets: number; lost: number };
      const bytes = s.bytes;
      const entry: StreamInterval = { id: s.id, isSender: s.isSender, bytes: Math.max(0, bytes - last.bytes), retransmits: null, cwndBytes: null, packets: null, lost: null, jitterS: null };
      if (s instanceof TcpStream && s.isSender) {
        entry.retransmits = s.retransmits - last.retransmits;
        entry.cwndBytes = s.pcb.cc.cwndBytes;
        last.retransmits = s.retransmits;
      }
      if (s instanceof UdpStream) {
        const packets = s.isSender ? s.packets : s.received.datagrams;
        entry.packets = packets - last.packets;
        last.packets = packets;
        if (!s.isSender) {
          entry.lost = s.received.lost - last.lost;
          entry.jitterS = s.received.jitterS;
          last.lost = s.received.lost;
        }
      }
      last.bytes = bytes;
      return entry;
    });
    const interval: ClientInterval = { startS: (this.intervalStartMs - run.startMs) / 1000, endS: (now - run.startMs) / 1000, streams };
    this.intervalStartMs = now;
    this.report.intervals.push(interval);
    this.options.onInterval?.(interval, this.report);
  }

  private endTest(now: number): void {
    if (this.phase !== "running") return;
    const scheduler = this.host.scheduler;
    scheduler.cancel(this.endDeadline);
    scheduler.cancel(this.intervalDeadline);
    scheduler.cancel(this.amountDeadline);
    this.closeInterval(now);
    const run = this.run as TestRun;
    run.end(now);
    this.report.durationS = (run.endMs - run.startMs) / 1000;
    const before = this.cpuAtStart;
    const after = this.options.cpuUsage?.() ?? null;
    const wallUs = (run.endMs - run.startMs) * 1000;
    if (before !== null && after !== null && wallUs > 0) {
      const user = (100 * (after.user - before.user)) / wallUs;
      const system = (100 * (after.system - before.system)) / wallUs;
      this.report.localCpu = { total: user + system, user, system };
    }
    this.report.local = this.streams.map((s) => s.result());
    this.phase = "ending";
    // Received data keeps being drained (TcpStream discards it) until the server closes: with -R it may
    // still be filling our window, and a stalled window would keep the server from reading our TEST_END.
    this.control?.send(encodeState(IperfState.TEST_END));
    scheduler.after(this.phaseDeadline, this.setupTimeoutMs);
  }

  private localResults(): ResultsMessage {
    const hasSender = this.streams.some((s) => s.isSender);
    return {
      cpuUtilTotal: this.report.localCpu.total,
      cpuUtilUser: this.report.localCpu.user,
      cpuUtilSystem: this.report.localCpu.system,
      senderHasRetransmits: hasSender ? (this.params.protocol === "tcp" ? 1 : 0) : -1,
      congestionUsed: this.report.congestionUsed,
      streams: this.report.local,
      serverOutputText: null,
    };
  }

  // ================= the end =================

  private finishOk(): void {
    // iperf3's client closes its streams, then sends IPERF_DONE and closes the control connection.
    this.control?.send(encodeState(IperfState.IPERF_DONE));
    this.phase = "done";
    this.finish(null);
  }

  private fail(why: string): void {
    this.finish(why);
  }

  private finish(error: string | null): void {
    if (this.finished) return;
    this.finished = true;
    const scheduler = this.host.scheduler;
    for (const d of [this.phaseDeadline, this.endDeadline, this.intervalDeadline, this.amountDeadline]) scheduler.cancel(d);
    if (this.run !== null) this.run.close();
    else for (const s of this.streams) s.close();
    // Connections still opening (not yet streams) are dropped.
    const tcp = this.host.tcp;
    for (const pcb of this.tcpPcbs) if (!pcb.freed && !this.streams.some((s) => s instanceof TcpStream && s.pcb === pcb)) tcp.abort(pcb);
    for (const pcb of this.udpPcbs) this.host.udp.close(pcb);
    if (this.control !== null) {
      if (error === null) this.control.close();
      else if (this.control.isOpen) {
        // iperf3 tells the server it gives up (CLIENT_TERMINATE) when it still can.
        this.control.send(encodeState(IperfState.CLIENT_TERMINATE));
        this.control.close();
      } else this.control.abort();
    }
    this.report.error = error;
    this.resolve(this.report);
  }
}

function connectError(err: ErrCode): string {
  switch (err) {
    case Err.RST:
      return "connection refused or reset";
    case Err.TIMEOUT:
      return "timed out";
    case Err.RTE:
      return "no route to host";
    case Err.ABRT:
      return "connection aborted";
    case Err.USE:
      return "no free local port";
    case Err.MEM:
      return "too many connections";
    default:
      return `error ${err}`;
  }
}
