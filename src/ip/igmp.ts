// IGMP host side, version 2 (RFC 2236), answering IGMPv3 queries as a v2 host does (RFC 3376 §7) and falling
// back to v1 reports while a v1 querier is present (RFC 2236 §4). Sits on ip/ip as the handler for protocol
// 2: join/leave (reference-counted, from sockets' IP_ADD/DROP_MEMBERSHIP) → ip.joinGroup/leaveGroup + reports;
// ip/deliver → Igmp.input (queries arm per-group report timers, other hosts' reports suppress ours) →
// scheduler Deadline → report. Every message goes out with TTL 1 (RFC 2236 §2). We do not add the IP Router
// Alert option (RFC 2113) RFC 2236 §2 asks for: the IPv4 writer emits a fixed 20-byte header, and the
// routers that matter (Linux, and switches snooping IGMP) accept reports without it.

import { checksum } from "../core/checksum.js";
import { makeCounters } from "../core/stats.js";
import { Err, type ErrCode } from "../core/errors.js";
import { formatIpv4, isMulticastIpv4 } from "../core/addr.js";
import { Deadline, type Scheduler } from "../core/scheduler.js";
import type { Random } from "../core/random.js";
import { PAYLOAD_OFFSET, type IpLayer, type IpProtocolHandler, type IpRx, type IpSendOptions } from "./ip.js";
import { IpProto } from "./ipv4.js";

export const IgmpType = {
  MEMBERSHIP_QUERY: 0x11,
  V1_MEMBERSHIP_REPORT: 0x12,
  V2_MEMBERSHIP_REPORT: 0x16,
  LEAVE_GROUP: 0x17,
  /** RFC 3376 §4.2: sent by v3 hosts; a v2 host ignores it. */
  V3_MEMBERSHIP_REPORT: 0x22,
} as const;

/** RFC 2236 §2 message layout (8 bytes); an IGMPv3 query (RFC 3376 §4.1) is at least 12. */
export const IGMP = { type: 0, maxResp: 1, checksum: 2, group: 4, length: 8, v3QueryMinLength: 12 } as const;

/** RFC 1112 §4 all-systems group: every host is a member and never reports it (RFC 2236 §6). */
export const ALL_SYSTEMS = 0xe0000001;
/** RFC 2236 §3: Leave Group messages go to the all-routers group. */
export const ALL_ROUTERS = 0xe0000002;

/** RFC 2236 §8.10 Unsolicited Report Interval: 10 s between the repeated reports of a join. */
export const UNSOLICITED_REPORT_INTERVAL_MS = 10_000;
/** RFC 2236 §8.1 Robustness Variable: a join sends this many unsolicited reports. */
export const ROBUSTNESS = 2;
/** RFC 2236 §8.11 Version 1 Router Present Timeout: 400 s. */
export const V1_ROUTER_PRESENT_TIMEOUT_MS = 400_000;
/** RFC 2236 §4: a v1 query carries Max Resp Time 0, which "MUST be interpreted as a value of 100 (10 s)". */
const V1_MAX_RESPONSE_MS = 10_000;

/**
 * Linux sends IGMP with TOS 0xc0 (precedence "internetwork control") and DF; we do the same so captures
 * match the kernel's. RFC 2236 §2: TTL 1.
 */
const IGMP_SEND: IpSendOptions = { ttl: 1, tos: 0xc0, dontFragment: true };

/** One joined group: RFC 2236 §6's per-group state (Delaying Member while `timer` is armed, else Idle). */
class GroupState {
  /** Joins not yet undone by a leave (two sockets on one group: 2); the group is left at 0. */
  refs = 1;
  /** RFC 2236 §6 "flag that we were the last host to send a report for this group". */
  wasLastReporter = false;
  /** Unsolicited reports of the join still to send when the timer fires. */
  unsolicitedLeft = 0;
  readonly timer: Deadline;

  constructor(
    readonly group: number,
    fire: (state: GroupState) => void,
  ) {
    this.timer = new Deadline(() => fire(this), `igmp report ${formatIpv4(group)}`);
  }
}

export class Igmp implements IpProtocolHandler {
  readonly stats = makeCounters([
    "rxMessages",
    "rxQueries",
    "rxV1Queries",
    "rxV3Queries",
    "rxReports",
    "rxIgnored",
    "dropTruncated",
    "dropBadChecksum",
    "dropBadQueryLength",
    "reportsSuppressed",
    "txReports",
    "txLeaves",
    "txErrors",
  ] as const);

  private readonly groups = new Map<number, GroupState>();
  /** RFC 2236 §4: until this time a v1 querier is present: send v1 reports and no leaves. */
  private v1RouterPresentUntilMs = -Infinity;
  private readonly fire = (state: GroupState): void => this.timerExpired(state);

  /** @param random the stack's entropy, for the random report delays. */
  constructor(
    private readonly ip: IpLayer,
    private readonly scheduler: Scheduler,
    private readonly random: Random,
  ) {
    ip.register(IpProto.IGMP, this);
  }

  /**
   * Joins `group` (one more reference when already joined). The first join makes the IP layer accept the
   * group and sends an unsolicited report, repeated once after a random delay in (0, 10 s] (RFC 2236 §3:
   * "repeat the Unsolicited Report once or twice after short delays"; §8.1 robustness 2 → two reports).
   */
  join(group: number): ErrCode {
    group >>>= 0;
    if (!isMulticastIpv4(group)) return Err.VAL;
    const existing = this.groups.get(group);
    if (existing !== undefined) {
      existing.refs++;
      return Err.OK;
    }
    const state = new GroupState(group, this.fire);
    this.groups.set(group, state);
    this.ip.joinGroup(group);
    // RFC 2236 §6: the all-systems group starts Idle and never reports.
    if (group === ALL_SYSTEMS) return Err.OK;
    this.sendReport(group);
    state.wasLastReporter = true;
    state.unsolicitedLeft = ROBUSTNESS - 1;
    if (state.unsolicitedLeft > 0) this.armAtMost(state, UNSOLICITED_REPORT_INTERVAL_MS, true);
    return Err.OK;
  }

  /**
   * Drops one reference to `group`; the last one leaves it: RFC 2236 §3, a Leave Group to all-routers if we
   * sent the last report (skipped when a v1 querier is present, which would not understand it).
   */
  leave(group: number): ErrCode {
    group >>>= 0;
    const state = this.groups.get(group);
    if (state === undefined) return Err.VAL;
    if (--state.refs > 0) return Err.OK;
    this.scheduler.cancel(state.timer);
    this.groups.delete(group);
    if (group !== ALL_SYSTEMS && state.wasLastReporter && !this.isV1RouterPresent()) {
      this.send(IgmpType.LEAVE_GROUP, group, ALL_ROUTERS);
      this.stats.txLeaves++;
    }
    this.ip.leaveGroup(group);
    return Err.OK;
  }

  /** Whether `group` was joined here (224.0.0.1 only if joined explicitly). */
  isJoined(group: number): boolean {
    return this.groups.has(group >>> 0);
  }

  /** Join references held for `group` (0 when not joined). */
  refsOf(group: number): number {
    return this.groups.get(group >>> 0)?.refs ?? 0;
  }

  /** Joined groups, for status views and leak checks. */
  joinedGroups(): number[] {
    return [...this.groups.keys()];
  }

  input(rx: IpRx): void {
    const stats = this.stats;
    stats.rxMessages++;
    const b = rx.bytes;
    const off = rx.payloadOffset;
    const len = rx.payloadLength;
    if (len < IGMP.length) {
      stats.dropTruncated++;
      return;
    }
    // RFC 2236 §2.3: the checksum covers the whole IGMP message (RFC 2236 §2.5: even past the first 8 bytes).
    if (checksum(b, off, len) !== 0) {
      stats.dropBadChecksum++;
      return;
    }
    const type = b[off + IGMP.type] as number;
    const group = (((b[off + IGMP.group] as number) << 24) | ((b[off + IGMP.group + 1] as number) << 16) |
      ((b[off + IGMP.group + 2] as number) << 8) | (b[off + IGMP.group + 3] as number)) >>> 0;
    switch (type) {
      case IgmpType.MEMBERSHIP_QUERY:
        this.query(b[off + IGMP.maxResp] as number, group, len, rx.nowMs);
        return;
      case IgmpType.V1_MEMBERSHIP_REPORT:
      case IgmpType.V2_MEMBERSHIP_REPORT:
        stats.rxReports++;
        // Our own report looped back by someone is not "another host's".
        if (rx.src !== this.ip.netif.ip || rx.src === 0) this.heardReport(group);
        return;
      default:
        // Leave Group and v3 reports are for routers; RFC 2236 §2.1: unrecognised types are ignored.
        stats.rxIgnored++;
    }
  }

  /**
   * RFC 3376 §7.1 tells the query versions apart by length and Max Resp Code: 8 bytes and 0 → v1, 8 bytes
   * otherwise → v2, 12 or more → v3; any other length is silently ignored.
   */
  private query(maxRespCode: number, group: number, len: number, nowMs: number): void {
    const stats = this.stats;
    let maxRespMs: number;
    if (len === IGMP.length) {
      if (maxRespCode === 0) {
        // RFC 2236 §4: a v1 querier is present; answer with v1 reports and send no leaves for 400 s.
        stats.rxV1Queries++;
        this.v1RouterPresentUntilMs = nowMs + V1_ROUTER_PRESENT_TIMEOUT_MS;
        maxRespMs = V1_MAX_RESPONSE_MS;
      } else {
        stats.rxQueries++;
        maxRespMs = maxRespCode * 100;
      }
    } else if (len >= IGMP.v3QueryMinLength) {
      // RFC 3376 §7.2.1 / RFC 2236 §2.5: a v2 host treats a v3 query as a v2 query (the source list past
      // byte 8 is ignored) and answers with v2 reports. Its Max Resp Code is decoded (RFC 3376 §4.1.1) so
      // the delay respects the querier's intent.
      stats.rxV3Queries++;
      maxRespMs = decodeV3MaxRespCode(maxRespCode) * 100;
    } else {
      stats.dropBadQueryLength++;
      return;
    }
    if (group === 0) {
      // General query: every group we belong to, except all-systems (RFC 2236 §6).
      for (const state of this.groups.values()) if (state.group !== ALL_SYSTEMS) this.armAtMost(state, maxRespMs, false);
      return;
    }
    const state = this.groups.get(group);
    if (state !== undefined && group !== ALL_SYSTEMS) this.armAtMost(state, maxRespMs, false);
  }

  /**
   * RFC 2236 §3: start the report timer at a random delay in [0, maxRespMs] — or, if it is running, reset
   * it "only if the requested Max Response Time is less than the remaining value of the running timer".
   * `positive` keeps the delay above 0 (the join's repeat must not go out together with its first report).
   */
  private armAtMost(state: GroupState, maxRespMs: number, positive: boolean): void {
    const now = this.scheduler.now();
    const timer = state.timer;
    if (timer.isArmed && timer.at - now <= maxRespMs) return;
    let delay = this.random.below(maxRespMs + 1);
    if (positive) delay = Math.max(1, delay);
    delay = Math.min(delay, maxRespMs);
    this.scheduler.set(timer, now + delay);
  }

  /** RFC 2236 §3: "another host's Report ... stops its timer for the specified group" (suppression). */
  private heardReport(group: number): void {
    const state = this.groups.get(group);
    if (state === undefined) return;
    if (state.timer.isArmed) {
      this.scheduler.cancel(state.timer);
      this.stats.reportsSuppressed++;
    }
    // RFC 2236 §6 clears the flag on this transition (Delaying → Idle); like Linux (igmp_heard_report) we
    // clear it in Idle too: the other host reported last, so its membership keeps the group alive.
    state.wasLastReporter = false;
    state.unsolicitedLeft = 0;
  }

  private timerExpired(state: GroupState): void {
    if (this.groups.get(state.group) !== state) return;
    this.sendReport(state.group);
    state.wasLastReporter = true;
    if (state.unsolicitedLeft > 0) state.unsolicitedLeft--;
    if (state.unsolicitedLeft > 0) this.armAtMost(state, UNSOLICITED_REPORT_INTERVAL_MS, true);
  }

  /** RFC 2236 §3: a report goes to the group itself, with the group in the message. */
  private sendReport(group: number): void {
    const type = this.isV1RouterPresent() ? IgmpType.V1_MEMBERSHIP_REPORT : IgmpType.V2_MEMBERSHIP_REPORT;
    if (this.send(type, group, group)) this.stats.txReports++;
  }

  private isV1RouterPresent(): boolean {
    return this.scheduler.now() < this.v1RouterPresentUntilMs;
  }

  private send(type: number, group: number, dst: number): boolean {
    const frame = this.ip.txFrame;
    const o = PAYLOAD_OFFSET;
    writeIgmp(frame, o, type, 0, group);
    // The netif maps the multicast destination to its Ethernet group address (RFC 1112 §6.4).
    const err = this.ip.send(IpProto.IGMP, 0, dst, IGMP.length, IGMP_SEND);
    if (err !== Err.OK) {
      this.stats.txErrors++;
      return false;
    }
    return true;
  }

  /** Cancels every timer and forgets the groups (the netif is going down; no leaves are sent). */
  shutdown(): void {
    for (const state of this.groups.values()) {
      this.scheduler.cancel(state.timer);
      // One ip.joinGroup per group, whatever its reference count.
      this.ip.leaveGroup(state.group);
    }
    this.groups.clear();
  }
}

/** Writes an 8-byte IGMPv2 message (RFC 2236 §2) at `offset`, checksum included. */
export function writeIgmp(buf: Uint8Array, offset: number, type: number, maxRespCode: number, group: number): void {
  buf[offset + IGMP.type] = type;
  buf[offset + IGMP.maxResp] = maxRespCode;
  buf[offset + IGMP.checksum] = 0;
  buf[offset + IGMP.checksum + 1] = 0;
  buf[offset + IGMP.group] = group >>> 24;
  buf[offset + IGMP.group + 1] = (group >>> 16) & 0xff;
  buf[offset + IGMP.group + 2] = (group >>> 8) & 0xff;
  buf[offset + IGMP.group + 3] = group & 0xff;
  const sum = checksum(buf, offset, IGMP.length);
  buf[offset + IGMP.checksum] = sum >>> 8;
  buf[offset + IGMP.checksum + 1] = sum & 0xff;
}

/**
 * RFC 3376 §4.1.1 Max Resp Code → tenths of a second: below 128 the value itself, else a float with a
 * 3-bit exponent and 4-bit mantissa: (mant | 0x10) << (exp + 3).
 */
export function decodeV3MaxRespCode(code: number): number {
  if (code < 128) return code;
  const exp = (code >>> 4) & 0x7;
  const mant = code & 0xf;
  return (mant | 0x10) << (exp + 3);
}
