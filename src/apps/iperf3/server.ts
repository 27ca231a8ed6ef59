// The board's iperf3 server (`iperf3 -s` on port 5201): one test at a time, as iperf3 serves them. A client's
// control connection sends its cookie and parameters; the server asks for the streams (TCP connections that
// repeat the cookie, or UDP "connect" datagrams on port 5201), says TEST_START and TEST_RUNNING, counts or
// sends until the client's TEST_END, then both exchange results and the client leaves with IPERF_DONE.
// Any other connection meanwhile gets ACCESS_DENIED. Call order: tcp listener → control.ts → this state
// machine → streams.ts (TestRun) → results.ts → protocol.encodeJson.

import { Deadline, type Scheduler } from "../../core/scheduler.js";
import { Err, type ErrCode } from "../../core/errors.js";
import { formatIpv4 } from "../../core/addr.js";
import { makeCounters } from "../../core/stats.js";
import type { Random } from "../../core/random.js";
import type { TcpLayer } from "../../tcp/tcp.js";
import type { TcpListener, TcpPcb } from "../../tcp/pcb.js";
import type { UdpLayer, UdpPcb } from "../../udp/udp.js";
import { ControlChannel } from "./control.js";
import { isParamsError, parseParams, type TestParams } from "./params.js";
import {
  COOKIE_BYTES,
  cookiesEqual,
  encodeJson,
  encodeServerError,
  encodeState,
  IPERF3_PORT,
  IperfError,
  IperfState,
  stateName,
  UDP_CONNECT_REPLY,
  UDP_HANDSHAKE_BYTES,
} from "./protocol.js";
import { parseResults, resultsToJson, type ResultsMessage } from "./results.js";
import { SendBudget, TcpStream, TestRun, UdpStream, type DataStream, type SendConfig } from "./streams.js";
import { formatBitrate, formatBytes } from "./units.js";

/** What the server needs of a stack (a Stack is one). */
export interface Iperf3Host {
  readonly tcp: TcpLayer;
  readonly udp: UdpLayer;
  readonly scheduler: Scheduler;
  readonly random: Random;
}

/** Process CPU time in microseconds (process.cpuUsage's shape), for the CPU figures iperf3 reports. */
export type CpuUsage = () => { user: number; system: number };

export interface Iperf3ServerOptions {
  port: number;
  /** Wall-clock µs since the epoch for UDP timestamps; default: the scheduler's clock (offset cancels in jitter). */
  wallClockMicros?: () => number;
  /** CPU time of the process, or null to report 0 %. */
  cpuUsage?: CpuUsage | null;
  /** One line per finished or failed test (walnut up prints them), or null. */
  log?: ((line: string) => void) | null;
  /** From the control connection's arrival to TEST_RUNNING, and from TEST_END to IPERF_DONE. */
  setupTimeoutMs?: number;
}

/** One test as the server saw it, for the log line and for tests. */
export interface Iperf3TestSummary {
  client: string;
  protocol: "TCP" | "UDP";
  reverse: boolean;
  bidirectional: boolean;
  streams: number;
  seconds: number;
  /** Bytes the board received and sent, after omitted seconds. */
  bytesReceived: number;
  bytesSent: number;
  /** UDP datagrams lost on the way to the board. */
  lostDatagrams: number;
  /** null when the test ran to IPERF_DONE. */
  error: string | null;
}

/** Stream connections waiting for their cookie, beyond those asked for, before new ones are denied. */
const MAX_PENDING_EXTRA = 8;
/** UDP queue of the server's stream PCB: deep enough for 100 Mbit/s of 1448-byte datagrams between batches. */
const UDP_QUEUE = { maxQueuedDatagrams: 2048, maxQueuedBytes: 4 * 1024 * 1024 } as const;
/** Margin past -t plus -O before a test whose client went silent is dropped (iperf3's server gives 5 s). */
const RUN_MARGIN_MS = 10_000;

type Phase = "cookie" | "params" | "streams" | "running" | "results" | "done";

/** The test in progress. */
interface ServerTest {
  control: ControlChannel;
  client: string;
  phase: Phase;
  cookie: Uint8Array | null;
  params: TestParams | null;
  /** What -n or -k leaves the sending streams, shared (iperf3 compares the test's total). */
  budget: SendBudget;
  streams: DataStream[];
  /** TCP stream connections accepted and still sending their cookie. */
  pending: Map<TcpPcb, Uint8Array>;
  pendingBytes: Map<TcpPcb, number>;
  udpPcb: UdpPcb | null;
  /** UDP streams by peer (address × 65536 + port). */
  udpByPeer: Map<number, UdpStream>;
  run: TestRun | null;
  cpuAtStart: { user: number; system: number } | null;
  cpuPercent: { total: number; user: number; system: number };
  clientResults: ResultsMessage | null;
}

export class Iperf3Server {
  readonly stats = makeCounters([
    "tests",
    "testsCompleted",
    "testsFailed",
    "accessDenied",
    "badCookies",
    "paramErrors",
    "udpStrays",
  ] as const);

  private listener: TcpListener | null = null;
  private test: ServerTest | null = null;
  private readonly phaseDeadline: Deadline;
  private readonly options: Required<Iperf3ServerOptions>;
  private readonly udpScratch = new Uint8Array(65_536);
  private readonly udpView = new DataView(this.udpScratch.buffer);
  /** The last test's summary (tests and the log read it). */
  lastSummary: Iperf3TestSummary | null = null;

  constructor(
    private readonly host: Iperf3Host,
    options: Partial<Iperf3ServerOptions> = {},
  ) {
    const scheduler = host.scheduler;
    this.options = {
      port: options.port ?? IPERF3_PORT,
      wallClockMicros: options.wallClockMicros ?? (() => scheduler.now() * 1000),
      cpuUsage: options.cpuUsage ?? null,
      log: options.log ?? null,
      setupTimeoutMs: options.setupTimeoutMs ?? 10_000,
    };
    this.phaseDeadline = new Deadline(() => this.fail("timed out"), "iperf3 test");
  }

  get port(): number {
    return this.options.port;
  }

  /** Whether a test is in progress. */
  get isBusy(): boolean {
    return this.test !== null;
  }

  /** Listens on the iperf3 port (TCP; the UDP port is bound only while a UDP test sets up and runs). */
  start(localIp = 0): ErrCode {
    const tcp = this.host.tcp;
    const l = tcp.listen(localIp, this.options.port, 16, {
      acceptable: (listener) => {
        for (let pcb = tcp.accept(listener); pcb !== null; pcb = tcp.accept(listener)) this.onConnection(pcb);
      },
    });
    if (typeof l === "number") return l;
    this.listener = l;
    return Err.OK;
  }

  /** Stops listening and drops a test in progress. */
  stop(): void {
    if (this.test !== null) this.fail("the server stopped");
    if (this.listener !== null) this.host.tcp.closeListener(this.listener);
    this.listener = null;
  }

  // ================= connections =================

  private onConnection(pcb: TcpPcb): void {
    const t = this.test;
    if (t === null) {
      this.beginTest(pcb);
      return;
    }
    const p = t.params;
    const total = p === null ? 0 : streamCount(p);
    if (t.phase === "streams" && p !== null && p.protocol === "tcp" && t.pending.size < total - t.streams.length + MAX_PENDING_EXTRA) {
      this.awaitStreamCookie(t, pcb);
      return;
    }
    // iperf3 -s: a test is running; do not read from this connection, just say so.
    this.deny(pcb);
  }

  /**
   * Refuses a client while a test runs, as iperf3 -s does: reads its cookie first, then answers ACCESS_DENIED
   * and closes. Closing before the cookie came would make the cookie meet a closed connection, which draws a
   * reset (RFC 1122 §4.2.2.13) that can overtake the answer. A client that sends no cookie within the set-up
   * timeout gets the answer anyway.
   */
  private deny(pcb: TcpPcb): void {
    this.stats.accessDenied++;
    const tcp = this.host.tcp;
    const scheduler = this.host.scheduler;
    let got = 0;
    const answer = (): void => {
      pcb.events = {};
      scheduler.cancel(deadline);
      if (pcb.freed) return;
      tcp.write(pcb, encodeState(IperfState.ACCESS_DENIED), 0, 1);
      // Unread bytes would turn the close into a reset, and the reset could overtake the byte.
      tcp.consume(pcb, pcb.recvRing.length);
      tcp.close(pcb);
    };
    const take = (): void => {
      got += tcp.consume(pcb, pcb.recvRing.length);
      if (got >= COOKIE_BYTES) answer();
    };
    const deadline = new Deadline(answer, "iperf3 deny");
    pcb.events = {
      readable: take,
      peerClosed: answer,
      error: () => {
        pcb.events = {};
        scheduler.cancel(deadline);
      },
    };
    scheduler.after(deadline, this.options.setupTimeoutMs);
    take();
  }

  private beginTest(pcb: TcpPcb): void {
    this.stats.tests++;
    const client = `${formatIpv4(pcb.remoteIp)}:${pcb.remotePort}`;
    const control = new ControlChannel(this.host.tcp, pcb, {
      onInput: () => this.onControlInput(),
      onClosed: (_c, err) => this.onControlClosed(err),
    });
    this.test = {
      control,
      client,
      phase: "cookie",
      cookie: null,
      params: null,
      budget: new SendBudget(0),
      streams: [],
      pending: new Map(),
      pendingBytes: new Map(),
      udpPcb: null,
      udpByPeer: new Map(),
      run: null,
      cpuAtStart: null,
      cpuPercent: { total: 0, user: 0, system: 0 },
      clientResults: null,
    };
    this.host.scheduler.after(this.phaseDeadline, this.options.setupTimeoutMs);
    control.start();
  }

  // ================= the control connection =================

  private onControlInput(): void {
    const t = this.test;
    // Bounded: each pass takes at least one message off or stops.
    for (let guard = 0; guard < 64 && t !== null && this.test === t; guard++) {
      if (!this.step(t)) return;
    }
  }

  /** Takes one message off the control connection for the current phase; false when none is complete. */
  private step(t: ServerTest): boolean {
    const reader = t.control.reader;
    switch (t.phase) {
      case "cookie": {
        const cookie = reader.takeBytes(COOKIE_BYTES);
        if (cookie === null) return false;
        t.cookie = cookie;
        t.phase = "params";
        t.control.send(encodeState(IperfState.PARAM_EXCHANGE));
        return true;
      }
      case "params": {
        const msg = reader.takeJson();
        if (msg.kind === "incomplete") return false;
        if (msg.kind === "bad") {
          this.refuse(t, IperfError.IERECVPARAMS, msg.reason);
          return false;
        }
        const p = parseParams(msg.value);
        if (isParamsError(p)) {
          this.stats.paramErrors++;
          this.refuse(t, p.iperfErrno, p.message);
          return false;
        }
        t.params = p;
        t.budget = new SendBudget(p.bytes > 0 ? p.bytes : p.blocks * p.blockBytes);
        if (p.protocol === "udp" && !this.openUdp(t)) return false;
        t.phase = "streams";
        t.control.send(encodeState(IperfState.CREATE_STREAMS));
        return true;
      }
      case "results": {
        const msg = reader.takeJson();
        if (msg.kind === "incomplete") return false;
        const results = msg.kind === "ok" ? parseResults(msg.value) : msg.reason;
        if (typeof results === "string") {
          this.fail(`the client's results: ${results}`);
          return false;
        }
        t.clientResults = results;
        t.control.send(encodeJson(resultsToJson(this.results(t))));
        t.control.send(encodeState(IperfState.DISPLAY_RESULTS));
        t.phase = "done";
        return true;
      }
      default: {
        const state = reader.takeState();
        if (state === null) return false;
        this.onClientState(t, state);
        return true;
      }
    }
  }

  /** A state byte from the client in the streams, running or done phases. */
  private onClientState(t: ServerTest, state: number): void {
    switch (state) {
      case IperfState.TEST_START:
        // iperf3 -s ignores it too.
        return;
      case IperfState.TEST_END:
        if (t.phase !== "running") {
          this.fail(`TEST_END before the test ran (${t.phase})`);
          return;
        }
        this.endTest(t);
        return;
      case IperfState.IPERF_DONE:
        if (t.phase === "done") this.finish(t, null);
        else this.fail(`IPERF_DONE in phase ${t.phase}`);
        return;
      case IperfState.CLIENT_TERMINATE:
        this.fail("the client terminated the test");
        return;
      default:
        this.fail(`unexpected ${stateName(state)} from the client`);
    }
  }

  private onControlClosed(err: ErrCode): void {
    const t = this.test;
    if (t === null) return;
    // After DISPLAY_RESULTS a client that closes without IPERF_DONE has still seen its results.
    if (t.phase === "done" && err === Err.OK) this.finish(t, null);
    else this.fail(err === Err.OK ? "the client closed the control connection" : `the control connection failed (error ${err})`);
  }

  /** SERVER_ERROR with iperf3's error number, then the test is over. */
  private refuse(t: ServerTest, iperfErrno: number, why: string): void {
    t.control.send(encodeServerError(iperfErrno));
    // Closed, not reset: a reset could overtake the error message.
    this.finish(t, `refused: ${why}`, true);
  }

  // ================= streams =================

  private awaitStreamCookie(t: ServerTest, pcb: TcpPcb): void {
    const tcp = this.host.tcp;
    t.pending.set(pcb, new Uint8Array(COOKIE_BYTES));
    t.pendingBytes.set(pcb, 0);
    const readCookie = (): void => {
      const buf = t.pending.get(pcb);
      if (buf === undefined || this.test !== t) return;
      let got = t.pendingBytes.get(pcb) ?? 0;
      got += tcp.read(pcb, buf, got, COOKIE_BYTES - got);
      t.pendingBytes.set(pcb, got);
      if (got < COOKIE_BYTES) {
        if (pcb.finReceived) this.dropPending(t, pcb);
        return;
      }
      t.pending.delete(pcb);
      t.pendingBytes.delete(pcb);
      if (t.cookie === null || !cookiesEqual(buf, t.cookie) || t.phase !== "streams") {
        this.stats.badCookies++;
        this.deny(pcb);
        return;
      }
      this.addTcpStream(t, pcb);
    };
    pcb.events = { readable: readCookie, error: () => this.dropPending(t, pcb) };
    readCookie();
  }

  private dropPending(t: ServerTest, pcb: TcpPcb): void {
    t.pending.delete(pcb);
    t.pendingBytes.delete(pcb);
    this.host.tcp.abort(pcb);
  }

  /** The next stream's id and role: iperf3 numbers streams 1, 3, 4, …; with --bidir the client's senders come first. */
  private nextStream(t: ServerTest, p: TestParams): { id: number; isSender: boolean } {
    const index = t.streams.length;
    const isSender = p.bidirectional ? index >= p.parallel : p.reverse;
    return { id: index === 0 ? 1 : index + 2, isSender };
  }

  private sendConfig(p: TestParams, budget: SendBudget): SendConfig {
    const pattern = new Uint8Array(p.blockBytes);
    this.host.random.fill(pattern);
    return { pattern, rateBitsPerSec: p.rateBitsPerSec, budget };
  }

  private addTcpStream(t: ServerTest, pcb: TcpPcb): void {
    const p = t.params as TestParams;
    const { id, isSender } = this.nextStream(t, p);
    if (p.noDelay) this.host.tcp.setNoDelay(pcb, true);
    const stream = new TcpStream(this.host.tcp, pcb, id, isSender, isSender ? this.sendConfig(p, t.budget) : null);
    t.streams.push(stream);
    if (t.streams.length === streamCount(p)) this.startTest(t);
  }

  /** Binds the UDP port for the streams' "connect" datagrams; SERVER_ERROR if something else holds it. */
  private openUdp(t: ServerTest): boolean {
    const udp = this.host.udp;
    const pcb = udp.open(UDP_QUEUE);
    const err = udp.bind(pcb, 0, this.options.port);
    if (err !== Err.OK) {
      udp.close(pcb);
      this.refuse(t, IperfError.IESTREAMLISTEN, `UDP port ${this.options.port} is in use`);
      return false;
    }
    pcb.events = { readable: () => this.onUdpReadable(t, pcb) };
    t.udpPcb = pcb;
    return true;
  }

  private onUdpReadable(t: ServerTest, pcb: UdpPcb): void {
    const udp = this.host.udp;
    // Bounded by the queue's length: each receive takes one datagram off.
    while (!pcb.queue.isEmpty) {
      const src = pcb.queue.nextSrcIp;
      const srcPort = pcb.queue.nextSrcPort;
      const n = udp.receive(pcb, this.udpScratch, 0, this.udpScratch.length);
      if (n < 0 || this.test !== t) return;
      const key = src * 65536 + srcPort;
      const stream = t.udpByPeer.get(key);
      if (stream !== undefined) {
        stream.onDatagram(this.udpView, 0, n);
        continue;
      }
      const p = t.params as TestParams;
      if (t.phase !== "streams" || t.streams.length >= streamCount(p)) {
        this.stats.udpStrays++;
        continue;
      }
      // iperf3 takes any first datagram from a new peer as its "connect" and answers on the same ports.
      const { id, isSender } = this.nextStream(t, p);
      const s = new UdpStream(udp, pcb, src, srcPort, id, isSender, isSender ? this.sendConfig(p, t.budget) : null, p.udpCounters64, this.options.wallClockMicros);
      t.udpByPeer.set(key, s);
      t.streams.push(s);
      const reply = new Uint8Array(UDP_HANDSHAKE_BYTES);
      new DataView(reply.buffer).setUint32(0, UDP_CONNECT_REPLY, true);
      udp.sendTo(pcb, reply, 0, reply.length, src, srcPort);
      if (t.streams.length === streamCount(p)) this.startTest(t);
    }
  }

  // ================= running =================

  private startTest(t: ServerTest): void {
    const p = t.params as TestParams;
    const scheduler = this.host.scheduler;
    const now = scheduler.now();
    t.control.send(encodeState(IperfState.TEST_START));
    t.control.send(encodeState(IperfState.TEST_RUNNING));
    t.phase = "running";
    t.cpuAtStart = this.options.cpuUsage?.() ?? null;
    const hasSender = t.streams.some((s) => s.isSender);
    t.run = new TestRun(scheduler, t.streams, "iperf3");
    t.run.begin(now, hasSender && (p.protocol === "udp" || p.rateBitsPerSec > 0), p.pacingTimerUs, p.omitS);
    if (p.timeS > 0) scheduler.set(this.phaseDeadline, now + (p.timeS + p.omitS) * 1000 + RUN_MARGIN_MS);
    else scheduler.cancel(this.phaseDeadline);
  }

  private endTest(t: ServerTest): void {
    const scheduler = this.host.scheduler;
    const run = t.run as TestRun;
    run.end(scheduler.now());
    t.cpuPercent = this.cpuPercent(t, run);
    // iperf3 -s closes the streams at TEST_END; the client (with -R) drains what is still on its way.
    run.close();
    if (t.udpPcb !== null) {
      this.host.udp.close(t.udpPcb);
      t.udpPcb = null;
    }
    t.phase = "results";
    t.control.send(encodeState(IperfState.EXCHANGE_RESULTS));
    scheduler.after(this.phaseDeadline, this.options.setupTimeoutMs);
  }

  private cpuPercent(t: ServerTest, run: TestRun): { total: number; user: number; system: number } {
    const before = t.cpuAtStart;
    const after = this.options.cpuUsage?.() ?? null;
    const wallUs = (run.endMs - run.startMs) * 1000;
    if (before === null || after === null || wallUs <= 0) return { total: 0, user: 0, system: 0 };
    const user = (100 * (after.user - before.user)) / wallUs;
    const system = (100 * (after.system - before.system)) / wallUs;
    return { total: user + system, user, system };
  }

  private results(t: ServerTest): ResultsMessage {
    const p = t.params as TestParams;
    const hasSender = t.streams.some((s) => s.isSender);
    const firstTcp = t.streams.find((s): s is TcpStream => s instanceof TcpStream);
    return {
      cpuUtilTotal: t.cpuPercent.total,
      cpuUtilUser: t.cpuPercent.user,
      cpuUtilSystem: t.cpuPercent.system,
      // iperf3: -1 from a receiver; a TCP sender reports its retransmissions (the PCB counts them).
      senderHasRetransmits: hasSender ? (p.protocol === "tcp" ? 1 : 0) : -1,
      congestionUsed: firstTcp !== undefined ? firstTcp.pcb.cc.name : null,
      streams: t.streams.map((s) => s.result()),
      serverOutputText: p.getServerOutput ? `${this.describe(this.summary(t, null))}\n` : null,
    };
  }

  // ================= the end =================

  private summary(t: ServerTest, error: string | null): Iperf3TestSummary {
    const p = t.params;
    const run = t.run;
    let received = 0;
    let sent = 0;
    let lost = 0;
    for (const s of t.streams) {
      if (s.isSender) sent += s.bytes;
      else received += s.bytes;
      if (s instanceof UdpStream && !s.isSender) lost += s.received.lost;
    }
    return {
      client: t.client,
      protocol: p?.protocol === "udp" ? "UDP" : "TCP",
      reverse: p?.reverse ?? false,
      bidirectional: p?.bidirectional ?? false,
      streams: t.streams.length,
      seconds: run !== null ? (run.endMs - run.startMs) / 1000 : 0,
      bytesReceived: received,
      bytesSent: sent,
      lostDatagrams: lost,
      error,
    };
  }

  /** One line about a test: "iperf3: 10.0.0.1:40000 TCP, 1 stream, 2.00 s: received 1.02 GBytes (4.37 Gbits/sec)". */
  describe(s: Iperf3TestSummary): string {
    const mode = s.bidirectional ? ", bidirectional" : s.reverse ? ", reverse" : "";
    const parts: string[] = [];
    const rate = (bytes: number): string => `${formatBytes(bytes)} (${formatBitrate(s.seconds > 0 ? (bytes * 8) / s.seconds : 0)})`;
    if (s.bytesReceived > 0 || (!s.reverse && s.streams > 0)) parts.push(`received ${rate(s.bytesReceived)}`);
    if (s.bytesSent > 0 || s.reverse || s.bidirectional) parts.push(`sent ${rate(s.bytesSent)}`);
    if (s.protocol === "UDP" && s.lostDatagrams > 0) parts.push(`${s.lostDatagrams} datagrams lost`);
    const what = `${s.protocol}${mode}, ${s.streams} stream${s.streams === 1 ? "" : "s"}, ${s.seconds.toFixed(2)} s`;
    return `iperf3: ${s.client} ${what}${parts.length > 0 ? `: ${parts.join(", ")}` : ""}${s.error !== null ? ` — ${s.error}` : ""}`;
  }

  /** Ends the test; the control connection is closed after what is queued (`graceful`) or reset. */
  private finish(t: ServerTest, error: string | null, graceful = error === null): void {
    if (this.test !== t) return;
    this.test = null;
    this.host.scheduler.cancel(this.phaseDeadline);
    t.run?.close();
    if (t.run === null) for (const s of t.streams) s.close();
    for (const pcb of t.pending.keys()) this.host.tcp.abort(pcb);
    t.pending.clear();
    if (t.udpPcb !== null) this.host.udp.close(t.udpPcb);
    if (graceful) t.control.close();
    else t.control.abort();
    if (error === null) this.stats.testsCompleted++;
    else this.stats.testsFailed++;
    const summary = this.summary(t, error);
    this.lastSummary = summary;
    this.options.log?.(this.describe(summary));
  }

  /** Ends the test in progress with a reason (the control connection is reset, as iperf3 -s closes it). */
  private fail(why: string): void {
    const t = this.test;
    if (t !== null) this.finish(t, why);
  }
}

/** Streams a test opens: -P of them, twice that with --bidir. */
function streamCount(p: TestParams): number {
  return p.bidirectional ? 2 * p.parallel : p.parallel;
}
