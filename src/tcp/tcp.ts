// The TCP layer: demultiplexes segments from ip/ip to PCBs and listeners, owns every PCB and its timers,
// runs one output pass per touched PCB after each batch (so ACKs ride with data), and offers the PCB API
// that usocket and the built-in services use: listen, connect, write, read, shutdown, close, abort.
// Call order: ip/input → TcpLayer.input → tcp/listen or tcp/input (state machine: tcp/ack, tcp/receive)
// → events → tcp/output → ip/output. Its deadlines call tcp/timers.

import type { Scheduler } from "../core/scheduler.js";
import { formatIpv4 } from "../core/addr.js";
import { makeCounters } from "../core/stats.js";
import { ByteRing } from "../core/ring.js";
import { EMPTY_RING, RingPool } from "../core/ringPool.js";
import { Err, type ErrCode } from "../core/errors.js";
import { IpCast, type IcmpErrorInfo, type IpLayer, type IpProtocolHandler, type IpRx } from "../ip/ip.js";
import { IpProto } from "../ip/ipv4.js";
import { TCP_CHECK_NAMES, TcpCheck, TcpOptions, TcpView, parseTcpOptions } from "./header.js";
import { randomSecret, type Random } from "../core/random.js";
import { IsnGenerator, type IsnSource } from "./isn.js";
import { EphemeralPorts } from "../ip/ports.js";
import { SynCookies } from "./syncookie.js";
import { RttEstimator } from "./rtt.js";
import { createCongestionControl, isCongestionControlName, unknownCongestionControl } from "./cc/index.js";
import { PcbEvent, TcpListener, TcpPcb, type TcpEvents, type TcpListenEvents, type TcpPcbOptions } from "./pcb.js";
import { TcpOutput, tsNow } from "./output.js";
import { pcbInput, resetForClosed } from "./input.js";
import { listenInput } from "./listen.js";
import { TcpSegment } from "./segment.js";
import { PcbTable } from "./table.js";
import { RingTrimmer } from "./ringTrim.js";
import { cancelDeadlines, makeDeadlines, startFinWait2Timeout, startTimeWait } from "./timers.js";
import { seqAdd, seqDiff, toSeq } from "./seq.js";
import { TCP_STATE_NAMES, TcpState, canSendData, type TcpStateCode } from "./state.js";
import { mssForPathMtu, pathMtuFrom, TS_OPTION_BYTES } from "./pmtu.js";
import { DEFAULT_TCP_CONFIG, type TcpConfig } from "./config.js";
import type { TcpContext } from "./context.js";
import { TCP_STAT_NAMES, type TcpStats } from "./stats.js";

export { DEFAULT_TCP_CONFIG, type TcpConfig } from "./config.js";

/** A snapshot of one connection for `netstat`-like views and tests. */
export interface TcpPcbInfo {
  state: string;
  local: string;
  remote: string;
  iss: number;
  sndUna: number;
  sndNxt: number;
  sndMax: number;
  sndWnd: number;
  irs: number;
  rcvNxt: number;
  rcvWnd: number;
  mss: number;
  /** The path MTU learnt by RFC 1191 discovery; 0 while the link's MTU holds. */
  pathMtu: number;
  cwnd: number;
  ssthresh: number;
  srttMs: number;
  rttvarMs: number;
  rtoMs: number;
  retransmits: number;
  inRecovery: boolean;
  sackBlocks: [number, number][];
  options: string;
  sendQueued: number;
  recvQueued: number;
}

export class TcpLayer implements IpProtocolHandler, TcpContext {
  readonly stats: TcpStats = makeCounters(TCP_STAT_NAMES);

  readonly config: TcpConfig;
  readonly output: TcpOutput;
  readonly isn: IsnSource;
  readonly ports: EphemeralPorts;
  readonly cookies: SynCookies;
  /** The segment being processed, refilled for each one. */
  private readonly segment = new TcpSegment();
  /** Every PCB and listener, by port and addresses. */
  private readonly table = new PcbTable();
  /** Ring storage given back by connections, for the next ones (capped: config.ringPoolBytes). */
  readonly rings: RingPool;
  private readonly trimmer: RingTrimmer;
  private readonly touchedList: TcpPcb[] = [];
  private readonly touchedListeners: TcpListener[] = [];
  private inBatch = false;
  /** Inside flushTouched: calls from event handlers only mark PCBs, so one output pass sends everything. */
  private flushing = false;
  private readonly view = new TcpView();
  private readonly options = new TcpOptions();
  private challengeTokens: number;
  private challengeAtMs = 0;

  /** @param random the stack's entropy: ISN, SYN-cookie and port secrets, timestamp offsets. */
  constructor(
    readonly ip: IpLayer,
    readonly scheduler: Scheduler,
    private readonly random: Random,
    config: Partial<TcpConfig> = {},
  ) {
    this.config = { ...DEFAULT_TCP_CONFIG, ...config, defaults: { ...DEFAULT_TCP_CONFIG.defaults, ...config.defaults } };
    // Refused here, not when a SYN first needs a PCB: a config from untyped code may name any string.
    const cc = this.config.defaults.congestionControl;
    if (!isCongestionControlName(cc)) throw unknownCongestionControl(cc);
    this.isn = this.config.isn ?? new IsnGenerator(randomSecret(random), random.nextU32());
    this.cookies = new SynCookies(randomSecret(random));
    this.ports = new EphemeralPorts(random);
    this.challengeTokens = this.config.challengeAckPerSec;
    this.output = new TcpOutput(ip, scheduler, this.stats, () => this.interfaceMssBytes());
    this.rings = new RingPool(this.config.ringPoolBytes);
    this.trimmer = new RingTrimmer(scheduler, this.config.ringIdleMs);
    ip.register(IpProto.TCP, this);
  }

  // ================= IP upcalls =================

  input(rx: IpRx): void {
    const stats = this.stats;
    stats.rxSegments++;
    if (rx.cast !== IpCast.UNICAST) {
      // RFC 1122 §4.2.3.10: a SYN to a broadcast or multicast address is ignored; so is everything else.
      stats.dropNonUnicast++;
      return;
    }
    const view = this.view.point(rx.bytes, rx.payloadOffset, rx.payloadLength);
    // A checksum the device verified, or a partial one from the host's own stack (NEEDS_CSUM: the field
    // holds only the pseudo-header sum), is not checked again.
    const reason = view.check(rx.src, rx.dst, !rx.isChecksumTrusted);
    if (reason !== TcpCheck.OK) {
      stats[TCP_CHECK_NAMES[reason] as "dropTruncated"]++;
      return;
    }
    if (!parseTcpOptions(view, this.options)) {
      stats.dropBadOptions++;
      return;
    }
    const seg = this.segment;
    seg.fill(view, this.options, rx);
    if (seg.segmentsIn(seg.dataLength) > 1) stats.rxGroSegments++;
    this.inBatch = true;
    const pcb = this.lookup(seg.dstPort, rx.src, seg.srcPort);
    if (pcb !== null) {
      pcbInput(this, pcb, seg);
      this.touch(pcb);
      this.fireAcceptable();
      return;
    }
    const listener = this.listenerOn(seg.dstPort);
    if (listener !== null && (listener.localIp === 0 || listener.localIp === rx.dst)) {
      listenInput(this, listener, seg);
      this.fireAcceptable();
      return;
    }
    stats.dropNoPcb++;
    resetForClosed(this, seg);
  }

  endBatch(nowMs: number): void {
    this.inBatch = false;
    this.flushTouched(nowMs);
  }

  icmpError(info: IcmpErrorInfo): void {
    if (info.quoteLength < 8) return;
    const seq = toSeq(info.quotedWord);
    const pcb = this.lookup(info.quotedSrcPort, info.dst, info.quotedDstPort);
    // The whole 4-tuple of the quote must be this connection's (the lookup matched ports and the peer).
    if (pcb === null || pcb.localIp !== info.src) return;
    // RFC 5927 §4.1: the quoted sequence number must be in flight (SND.UNA ≤ SEG.SEQ < SND.NXT, our SND.NXT
    // being SND.MAX: ours is rewound by retransmission), or the message is forged.
    if (seqDiff(seq, pcb.sndUna) < 0 || seqDiff(seq, pcb.sndMax) >= 0) return;
    if (info.type === 3 && info.code === 4) {
      this.onFragmentationNeeded(pcb, info);
      return;
    }
    // RFC 1122 §4.2.3.9: protocol/port unreachable are hard errors in SYN-SENT; the rest are soft. (It lists
    // code 4 too; with path MTU discovery, RFC 1191 §6.3, code 4 lowers the MSS instead.)
    const isHard = info.type === 3 && (info.code === 2 || info.code === 3);
    if (isHard && pcb.state === TcpState.SYN_SENT) {
      this.stats.icmpHardErrors++;
      this.fail(pcb, Err.RST);
    } else {
      this.stats.icmpSoftErrors++;
    }
  }

  /**
   * RFC 1191 §6.3: a router could not forward one of our segments without fragmenting it. Lower this
   * connection's MSS to the reported path MTU (never below 68, pmtu.ts; a value that would not lower it is
   * ignored) and send again from SND.UNA at the new size: what was in flight at the old size was dropped.
   * As Linux (tcp_v4_mtu_reduced → tcp_simple_retransmit) this is no congestion signal: cwnd and ssthresh
   * stay, only the segment size changes.
   */
  private onFragmentationNeeded(pcb: TcpPcb, info: IcmpErrorInfo): void {
    // Before the handshake ends the MSS is not settled (negotiate sets it): nothing to lower yet.
    if (!pcb.isSynchronized || pcb.state === TcpState.TIME_WAIT) {
      this.stats.pmtuIgnored++;
      return;
    }
    const pathMtu = pathMtuFrom(info.nextHopMtu, info.quotedTotalLength);
    const mss = mssForPathMtu(pathMtu, pcb.timestampsOn ? TS_OPTION_BYTES : 0);
    if (mss >= pcb.mssBytes) {
      this.stats.pmtuIgnored++;
      return;
    }
    this.stats.pmtuReductions++;
    pcb.pathMtuBytes = pathMtu;
    pcb.mssBytes = mss;
    // (Something is in flight: the quoted sequence number passed the check above.)
    const nowMs = this.scheduler.now();
    if (pcb.inRecovery) {
      // Recovery restarts from SND.UNA below; end the old one as a full ACK would.
      pcb.inRecovery = false;
      pcb.inflationBytes = 0;
      pcb.cc.onExitRecovery(pcb.flightBytes, mss, nowMs);
    }
    // Go back to SND.UNA, as after a timeout but without its back-off or loss window: duplicate ACKs for
    // data sent before now start no fast retransmit (RFC 6582 §4), re-sent data is not timed (Karn).
    pcb.dupAcks = 0;
    pcb.recoverSeq = pcb.sndMax;
    pcb.scoreboard.clear();
    pcb.rttStartMs = -1;
    pcb.sndNxt = pcb.sndUna;
    pcb.highRxt = pcb.sndUna;
    this.kick(pcb);
  }

  unreachable(ip: number): void {
    // ARP failed for a peer: connections still opening to it fail now (EHOSTUNREACH); others keep retrying.
    for (const pcb of this.table.live()) {
      if (pcb.remoteIp === ip && pcb.state === TcpState.SYN_SENT) this.fail(pcb, Err.RTE);
    }
  }

  // ================= PCB API =================

  /**
   * Starts listening on `localPort` (0.0.0.0 = any local address). Err.USE if the port is taken; Err.VAL for
   * an unknown congestion control, which would otherwise fail only when the first SYN arrives.
   */
  listen(localIp: number, localPort: number, backlog: number, events: TcpListenEvents, options: Partial<TcpPcbOptions> = {}, reuseAddress = false): TcpListener | ErrCode {
    if (!this.areOptionsValid(options)) return Err.VAL;
    if (localPort === 0) {
      localPort = this.ports.choose(localIp, 0, 0, (p) => !this.portInUse(p, false));
      if (localPort === 0) return Err.USE;
    } else if (this.portInUse(localPort, reuseAddress)) {
      return Err.USE;
    }
    const l = new TcpListener(localIp, localPort, Math.max(1, backlog), { ...this.config.defaults, ...options });
    l.events = events;
    this.table.addListener(l);
    return l;
  }

  /** Takes the next established connection from the accept queue, or null. */
  accept(listener: TcpListener): TcpPcb | null {
    const pcb = listener.acceptQueue.shift() ?? null;
    if (pcb !== null) pcb.listener = null;
    return pcb;
  }

  /** Stops listening and resets connections that were never accepted. */
  closeListener(listener: TcpListener): void {
    if (listener.closed) return;
    listener.closed = true;
    this.table.removeListener(listener);
    for (const pcb of listener.acceptQueue.splice(0)) this.abort(pcb);
    for (const pcb of this.table.all()) if (pcb.listener === listener) this.abort(pcb);
  }

  /** Active open (RFC 9293 §3.10.1). `localPort` 0 picks an ephemeral port (RFC 6056). Err.VAL for an unknown congestion control. */
  connect(
    remoteIp: number,
    remotePort: number,
    events: TcpEvents,
    options: Partial<TcpPcbOptions> = {},
    localPort = 0,
  ): TcpPcb | ErrCode {
    if (!this.areOptionsValid(options)) return Err.VAL;
    const localIp = this.ip.sourceFor(remoteIp);
    if (localIp === 0 || this.ip.nextHop(remoteIp) === 0) {
      if (!this.ip.isLocal(remoteIp)) return Err.RTE;
    }
    if (localPort === 0) {
      localPort = this.ports.choose(localIp, remoteIp, remotePort, (p) => this.lookup(p, remoteIp, remotePort) === null && !this.table.hasListener(p));
      if (localPort === 0) return Err.USE;
    } else if (this.lookup(localPort, remoteIp, remotePort) !== null) {
      return Err.USE;
    }
    if (!this.makeRoom()) return Err.MEM;
    const now = this.scheduler.now();
    const pcb = this.newPcb({ ...this.config.defaults, ...options });
    pcb.localIp = this.ip.isLocal(remoteIp) && remoteIp >>> 24 === 127 ? remoteIp : localIp;
    pcb.localPort = localPort;
    pcb.remoteIp = remoteIp;
    pcb.remotePort = remotePort;
    pcb.events = events;
    pcb.iss = this.isn.next(pcb.localIp, localPort, remoteIp, remotePort, now);
    this.initSendSpace(pcb);
    pcb.windowScaleOn = this.config.windowScaling;
    pcb.timestampsOn = this.config.timestamps;
    pcb.sackOn = this.config.sack;
    pcb.state = TcpState.SYN_SENT;
    this.insert(pcb);
    this.stats.activeOpens++;
    this.kick(pcb);
    return pcb;
  }

  /** Queues up to `length` bytes for sending; returns how many fit (0 when the ring is full). */
  write(pcb: TcpPcb, src: Uint8Array, offset: number, length: number): number | ErrCode {
    if (pcb.freed && pcb.pendingError !== 0) return pcb.pendingError;
    if (!canSendData(pcb.state) || pcb.finQueued) return Err.CONN;
    const n = pcb.sendRing.write(src, offset, length);
    if (n > 0) this.kick(pcb);
    return n;
  }

  /** Reads up to `length` received bytes; reopening the window may send a window update. */
  read(pcb: TcpPcb, dst: Uint8Array, offset: number, length: number): number {
    const n = pcb.recvRing.read(dst, offset, length);
    if (n > 0 && pcb.isSynchronized && !pcb.freed) this.afterRead(pcb);
    return n;
  }

  /** Discards up to `length` received bytes (the discard service); like read without the copy. */
  consume(pcb: TcpPcb, length: number): number {
    const n = Math.min(length, pcb.recvRing.length);
    pcb.recvRing.discard(n);
    if (n > 0 && pcb.isSynchronized && !pcb.freed) this.afterRead(pcb);
    return n;
  }

  /** Closes our sending direction: a FIN follows the queued data (RFC 9293 §3.10.4). */
  shutdownWrite(pcb: TcpPcb): void {
    switch (pcb.state) {
      case TcpState.SYN_SENT:
        this.free(pcb);
        return;
      case TcpState.SYN_RECEIVED:
        // RFC 9293 §3.10.4: queue the FIN until ESTABLISHED (tcp/input moves on to FIN-WAIT-1 then). Sent
        // now it would sit behind our unacknowledged SYN, where a retransmission timeout cannot resend it.
        pcb.finQueued = true;
        return;
      case TcpState.ESTABLISHED:
        pcb.finQueued = true;
        this.setState(pcb, TcpState.FIN_WAIT_1);
        break;
      case TcpState.CLOSE_WAIT:
        pcb.finQueued = true;
        this.setState(pcb, TcpState.LAST_ACK);
        break;
      default:
        return;
    }
    this.kick(pcb);
  }

  /**
   * The application is done with the PCB (RFC 9293 §3.10.4 CLOSE). Unread received data turns the close
   * into a reset (RFC 1122 §4.2.2.13); otherwise the connection finishes gracefully on its own.
   */
  close(pcb: TcpPcb): void {
    if (pcb.freed) return;
    pcb.orphaned = true;
    pcb.events = {};
    if (pcb.recvRing.length > 0 && pcb.isSynchronized && pcb.state !== TcpState.TIME_WAIT) {
      this.abort(pcb);
      return;
    }
    if (pcb.state === TcpState.FIN_WAIT_2) startFinWait2Timeout(this, pcb);
    this.shutdownWrite(pcb);
  }

  /** Drops the connection at once, sending a reset if it was synchronized (RFC 9293 §3.10.5 ABORT). */
  abort(pcb: TcpPcb): void {
    if (pcb.freed) return;
    pcb.orphaned = true;
    pcb.events = {};
    if (pcb.state !== TcpState.SYN_SENT && pcb.state !== TcpState.TIME_WAIT && pcb.state !== TcpState.CLOSED) {
      // SEQ = SND.MAX, not SND.NXT: a retransmission timeout rewinds SND.NXT, and the peer's RCV.NXT may be
      // past it; a reset below RCV.NXT is outside its window and silently dropped (RFC 5961 §3.2), one at
      // SND.MAX is exact or draws a challenge ACK that our closed port then resets (Linux uses snd_nxt,
      // which it never rewinds).
      this.output.sendReset(pcb.localIp, pcb.localPort, pcb.remoteIp, pcb.remotePort, pcb.sndMax, pcb.rcvNxt, true);
    }
    this.free(pcb);
  }

  /** Sets TCP_NODELAY. */
  setNoDelay(pcb: TcpPcb, noDelay: boolean): void {
    pcb.noDelay = noDelay;
    if (noDelay) this.kick(pcb);
  }

  /** Turns keep-alive on (idle ms > 0) or off (0). */
  setKeepAlive(pcb: TcpPcb, idleMs: number): void {
    pcb.keepAliveIdleMs = idleMs;
    if (idleMs > 0 && pcb.isSynchronized) this.scheduler.after(pcb.keepAliveDeadline, idleMs);
    else this.scheduler.cancel(pcb.keepAliveDeadline);
  }

  /** Every live PCB (for netstat views and leak checks). */
  allPcbs(): TcpPcb[] {
    return this.table.all();
  }

  /** The open listener on `port`, if any. */
  listenerOn(port: number): TcpListener | null {
    const l = this.table.listener(port);
    return l !== undefined && !l.closed ? l : null;
  }

  get activeListeners(): TcpListener[] {
    return this.table.allListeners();
  }

  info(pcb: TcpPcb): TcpPcbInfo {
    const fmt = (ip: number, port: number): string => `${formatIpv4(ip)}:${port}`;
    const opts: string[] = [];
    if (pcb.windowScaleOn) opts.push(`wscale ${pcb.sndWndShift},${pcb.rcvWndShift}`);
    if (pcb.timestampsOn) opts.push("ts");
    if (pcb.sackOn) opts.push("sack");
    return {
      state: TCP_STATE_NAMES[pcb.state],
      local: fmt(pcb.localIp, pcb.localPort),
      remote: fmt(pcb.remoteIp, pcb.remotePort),
      iss: pcb.iss,
      sndUna: pcb.sndUna,
      sndNxt: pcb.sndNxt,
      sndMax: pcb.sndMax,
      sndWnd: pcb.sndWnd,
      irs: pcb.irs,
      rcvNxt: pcb.rcvNxt,
      rcvWnd: Math.max(0, seqDiff(pcb.rcvAdv, pcb.rcvNxt)),
      mss: pcb.mssBytes,
      pathMtu: pcb.pathMtuBytes,
      cwnd: pcb.cc.cwndBytes,
      ssthresh: pcb.cc.ssthreshBytes,
      srttMs: pcb.rtt.srttMs,
      rttvarMs: pcb.rtt.rttvarMs,
      rtoMs: pcb.rtt.currentRtoMs,
      retransmits: pcb.retransmits,
      inRecovery: pcb.inRecovery,
      sackBlocks: pcb.scoreboard.blocks(),
      options: opts.join(" "),
      sendQueued: pcb.sendRing.length,
      recvQueued: pcb.recvRing.length,
    };
  }

  /** Frees every PCB and listener without sending anything (stack shutdown). */
  shutdown(): void {
    for (const l of this.table.allListeners()) {
      l.closed = true;
      this.table.removeListener(l);
    }
    for (const pcb of this.allPcbs()) this.free(pcb);
    this.trimmer.stop();
  }

  /** Ring memory: stores held by live connections' rings and idle ones in the pool (bytes, not RSS). */
  ringMemory(): { pcbs: number; storageBytes: number; pooledBytes: number } {
    let storageBytes = 0;
    const pcbs = this.table.all();
    for (const pcb of pcbs) storageBytes += pcb.sendRing.storageBytes + pcb.recvRing.storageBytes;
    return { pcbs: pcbs.length, storageBytes, pooledBytes: this.rings.heldBytes };
  }

  /** PCB options from a caller that may be untyped: the congestion control must be one we have. */
  private areOptionsValid(options: Partial<TcpPcbOptions>): boolean {
    return options.congestionControl === undefined || isCongestionControlName(options.congestionControl);
  }

  // ================= TcpContext: used by tcp/input and the modules it calls =================

  interfaceMssBytes(): number {
    return this.ip.netif.mtu - 40;
  }

  lookup(localPort: number, remoteIp: number, remotePort: number): TcpPcb | null {
    return this.table.lookup(localPort, remoteIp, remotePort);
  }

  newPcb(options: TcpPcbOptions): TcpPcb {
    // Rings of the configured sizes with no store yet: a half-open connection holds no buffer memory.
    const pcb = new TcpPcb(
      options,
      new RttEstimator(this.config.rto),
      createCongestionControl(options.congestionControl),
      this.config.maxOooRanges,
      new ByteRing(options.sendBufferBytes, this.rings),
      new ByteRing(options.recvBufferBytes, this.rings),
    );
    makeDeadlines(this, pcb);
    // RFC 7323 §7.1: a random offset per connection, so TSvals do not reveal the host's clock.
    pcb.tsOffset = this.config.tsOffset !== undefined ? this.config.tsOffset() >>> 0 : this.random.nextU32();
    // Our window shift: the smallest that lets the 16-bit field cover the whole receive ring (RFC 7323 §2.2).
    let shift = 0;
    while (shift < 14 && options.recvBufferBytes >>> shift > 0xffff) shift++;
    pcb.rcvWndShift = shift;
    return pcb;
  }

  /** Sets the send sequence space of a fresh PCB from its ISS. */
  initSendSpace(pcb: TcpPcb): void {
    pcb.sndUna = pcb.iss;
    pcb.sndNxt = pcb.iss;
    pcb.sndMax = pcb.iss;
    pcb.sndBufSeq = seqAdd(pcb.iss, 1);
    pcb.highRxt = pcb.iss;
    pcb.recoverSeq = pcb.iss;
  }

  insert(pcb: TcpPcb): void {
    this.table.insert(pcb);
  }

  /** Whether makeRoom would succeed: a free slot, or a TIME-WAIT PCB to recycle. Changes nothing. */
  hasRoom(): boolean {
    return this.table.size < this.config.maxPcbs || this.table.hasTimeWait();
  }

  /** Ensures there is room for one more PCB, recycling the oldest TIME-WAIT one if needed (as lwIP does). */
  makeRoom(): boolean {
    if (this.table.size < this.config.maxPcbs) return true;
    const oldest = this.table.oldestTimeWait();
    if (oldest === null) {
      this.stats.pcbLimit++;
      return false;
    }
    this.stats.timeWaitRecycled++;
    this.free(oldest);
    return true;
  }

  /** Removes a PCB from the layer and cancels its timers. Its owner still holds the object (and its data). */
  free(pcb: TcpPcb): void {
    if (pcb.freed) return;
    pcb.freed = true;
    cancelDeadlines(this.scheduler, pcb);
    this.table.remove(pcb);
    const l = pcb.listener;
    // A passive open the application never accepted (SYN-RECEIVED, or still in the accept queue): nobody
    // else holds it, so whatever store its rings took (data that came with or after the handshake) goes
    // back to the pool like an orphan's.
    const neverAccepted = l !== null;
    if (l !== null) {
      if (pcb.inSynQueue) l.synQueueLength--;
      pcb.inSynQueue = false;
      const i = l.acceptQueue.indexOf(pcb);
      if (i >= 0) l.acceptQueue.splice(i, 1);
      pcb.listener = null;
    }
    pcb.state = TcpState.CLOSED;
    this.fireCloseDone(pcb);
    this.trimmer.forget(pcb);
    // The application has let go of it (or never had it): its rings' stores serve the next connection.
    // Otherwise nothing can be sent any more, and only unread received bytes are kept for the owner.
    if (pcb.orphaned || neverAccepted) this.releaseRings(pcb);
    else {
      pcb.sendRing.release();
      pcb.recvRing.compact();
    }
  }

  private fireCloseDone(pcb: TcpPcb): void {
    const done = pcb.closeDone;
    if (done === null) return;
    pcb.closeDone = null;
    done();
  }

  /** Returns a PCB's ring stores to the pool; the PCB keeps empty rings. Only for PCBs nobody will read again. */
  releaseRings(pcb: TcpPcb): void {
    pcb.sendRing.release();
    pcb.recvRing.release();
    pcb.sendRing = EMPTY_RING;
    pcb.recvRing = EMPTY_RING;
    this.trimmer.forget(pcb);
  }

  /** The connection failed: the owner hears `err` after the batch, and the PCB is freed. */
  fail(pcb: TcpPcb, err: ErrCode): void {
    pcb.pendingError = err;
    pcb.pendingEvents |= PcbEvent.ERROR;
    this.free(pcb);
    this.touch(pcb);
    if (!this.inBatch && !this.flushing) this.flushTouched(this.scheduler.now());
  }

  setState(pcb: TcpPcb, state: TcpStateCode): void {
    pcb.state = state;
    if (state === TcpState.FIN_WAIT_2 || state === TcpState.TIME_WAIT) {
      // Our FIN is acknowledged, so every byte of the send ring is: it will never hold data again. In
      // TIME-WAIT nothing more arrives either; only bytes the owner has not read yet keep a store.
      pcb.sendRing.compact();
      if (state === TcpState.TIME_WAIT) pcb.recvRing.compact();
      this.trimmer.recheck(pcb);
      this.fireCloseDone(pcb);
    }
    if (state === TcpState.TIME_WAIT) startTimeWait(this, pcb);
    else if (state === TcpState.FIN_WAIT_2 && pcb.orphaned) startFinWait2Timeout(this, pcb);
  }

  /** Marks a PCB for the end-of-batch pass (events, then output). */
  touch(pcb: TcpPcb): void {
    if (pcb.touched) return;
    pcb.touched = true;
    this.touchedList.push(pcb);
  }

  touchListener(l: TcpListener): void {
    if (l.pendingAcceptable) return;
    l.pendingAcceptable = true;
    this.touchedListeners.push(l);
  }

  /** RFC 5961 §7: challenge ACKs share one rate limit. */
  takeChallengeToken(nowMs: number): boolean {
    const rate = this.config.challengeAckPerSec;
    this.challengeTokens = Math.min(rate, this.challengeTokens + ((nowMs - this.challengeAtMs) * rate) / 1000);
    this.challengeAtMs = nowMs;
    if (this.challengeTokens < 1) {
      this.stats.challengeAcksLimited++;
      return false;
    }
    this.challengeTokens -= 1;
    this.stats.challengeAcks++;
    return true;
  }

  /** Whether `port` is taken for a new listener (SO_REUSEADDR: only by a listener). */
  portInUse(port: number, reuseAddress: boolean): boolean {
    return this.table.portInUse(port, reuseAddress);
  }

  // ================= batch end, timers =================

  /** Runs the output pass now if we are outside an input batch, else leaves it to endBatch. */
  kick(pcb: TcpPcb): void {
    this.touch(pcb);
    if (!this.inBatch && !this.flushing) this.flushTouched(this.scheduler.now());
  }

  /**
   * Tells listeners that gained a connection, right after the segment that completed it rather than at the
   * end of the batch: a batch holds up to 256 frames, so a burst of handshakes would otherwise overflow a
   * short accept queue before its owner could drain it. The segment is fully processed by now, so the
   * owner may accept, write and close at once (output still waits for the batch end).
   */
  private fireAcceptable(): void {
    const listeners = this.touchedListeners;
    if (listeners.length === 0 || this.flushing) return;
    for (let i = 0; i < listeners.length; i++) {
      const l = listeners[i] as TcpListener;
      l.pendingAcceptable = false;
      if (!l.closed) l.events.acceptable?.(l);
    }
    listeners.length = 0;
  }

  private flushTouched(nowMs: number): void {
    if (this.flushing) return;
    this.flushing = true;
    try {
      this.flushRounds(nowMs);
    } finally {
      this.flushing = false;
    }
  }

  private flushRounds(nowMs: number): void {
    // Events may write, read or close, touching more PCBs: loop until the lists settle (bounded).
    for (let round = 0; round < 8 && (this.touchedList.length > 0 || this.touchedListeners.length > 0); round++) {
      const listeners = this.touchedListeners.splice(0);
      for (const l of listeners) {
        l.pendingAcceptable = false;
        if (!l.closed) l.events.acceptable?.(l);
      }
      const list = this.touchedList.splice(0);
      for (const pcb of list) {
        pcb.touched = false;
        this.fireEvents(pcb);
        if (pcb.freed) continue;
        this.output.output(pcb, nowMs);
        // Rings take storage only here (segments in, the owner's writes): watch them for idleness.
        if (!pcb.ringsWatched) this.trimmer.note(pcb);
      }
    }
  }

  private fireEvents(pcb: TcpPcb): void {
    const ev = pcb.pendingEvents;
    if (ev === 0) return;
    pcb.pendingEvents = 0;
    const e = pcb.events;
    if (ev & PcbEvent.CONNECTED) e.connected?.(pcb);
    if (ev & PcbEvent.READABLE) e.readable?.(pcb);
    if (ev & PcbEvent.PEER_CLOSED) e.peerClosed?.(pcb);
    if (ev & PcbEvent.WRITABLE) e.writable?.(pcb);
    if (ev & PcbEvent.ERROR) e.error?.(pcb, pcb.pendingError);
  }

  private afterRead(pcb: TcpPcb): void {
    // The peer's FIN is in and everything before it read: no byte will arrive again, so the store goes now.
    if (pcb.finReceived && pcb.recvRing.length === 0) {
      pcb.recvRing.compact();
      this.trimmer.recheck(pcb);
    }
    // Receiver SWS avoidance (RFC 9293 §3.8.6.2.2): announce the reopened window once it grew by
    // min(half the buffer, one MSS) — also when it had been closed: offering a few bytes is exactly the
    // silly window. Growth counts only up to what the 16-bit field can say (0xffff << shift): beyond that an
    // "update" repeats the same window, and the peer counts it as a duplicate ACK (RFC 5681 §2).
    const offered = Math.max(0, seqDiff(pcb.rcvAdv, pcb.rcvNxt));
    const grow = Math.min(pcb.recvRing.free, 0xffff * 2 ** pcb.rcvWndShift) - offered;
    if (grow >= Math.min(pcb.recvRing.capacity / 2, pcb.mssBytes)) {
      pcb.windowUpdatePending = true;
      this.kick(pcb);
    }
  }

  /** Our timestamp clock for `pcb`. */
  tsNow(pcb: TcpPcb, nowMs: number): number {
    return tsNow(pcb, nowMs);
  }
}
