// BOOTP/DHCP messages on the wire (RFC 951, RFC 2131 §2, RFC 2132): a view over a received message that
// validates the fixed header and parses the options (with the overload option, RFC 2132 §9.3) into a
// reusable `DhcpOptionsRepr`, and a writer that builds client (and, in tests, server) messages in place.
// Used by apps/dhcp (the client state machine): UDP PCB queue → DhcpView.check → parseOptions → client.

import { PacketView } from "../core/view.js";

/** Fixed-header offsets (RFC 2131 §2, Figure 1); options follow the magic cookie. */
export const BOOTP = {
  op: 0,
  htype: 1,
  hlen: 2,
  hops: 3,
  xid: 4,
  secs: 8,
  flags: 10,
  ciaddr: 12,
  yiaddr: 16,
  siaddr: 20,
  giaddr: 24,
  chaddr: 28,
  chaddrLength: 16,
  sname: 44,
  snameLength: 64,
  file: 108,
  fileLength: 128,
  cookie: 236,
  options: 240,
  /** RFC 951 / RFC 1542 §2.1: relays and old servers expect at least the 300-byte BOOTP message. */
  minMessageLength: 300,
} as const;

/** RFC 2131 §3: the first four option bytes, 99.130.83.99. */
export const DHCP_MAGIC_COOKIE = 0x63825363;

export const BootpOp = { REQUEST: 1, REPLY: 2 } as const;

/** RFC 2131 §2: the leftmost bit of `flags` asks the server to broadcast its reply. */
export const BOOTP_FLAG_BROADCAST = 0x8000;

/** ARP hardware type 1 (Ethernet), six-byte addresses. */
export const HTYPE_ETHERNET = 1;

/** RFC 2132 §9.6 message types. */
export const DhcpMessageType = {
  DISCOVER: 1,
  OFFER: 2,
  REQUEST: 3,
  DECLINE: 4,
  ACK: 5,
  NAK: 6,
  RELEASE: 7,
  INFORM: 8,
} as const;

export const DHCP_MESSAGE_TYPE_NAMES = [
  "?",
  "DHCPDISCOVER",
  "DHCPOFFER",
  "DHCPREQUEST",
  "DHCPDECLINE",
  "DHCPACK",
  "DHCPNAK",
  "DHCPRELEASE",
  "DHCPINFORM",
] as const;

/** Option codes we write or read (RFC 2132). */
export const DhcpOpt = {
  PAD: 0,
  SUBNET_MASK: 1,
  ROUTER: 3,
  DNS: 6,
  HOSTNAME: 12,
  REQUESTED_IP: 50,
  LEASE_TIME: 51,
  OVERLOAD: 52,
  MESSAGE_TYPE: 53,
  SERVER_ID: 54,
  PARAMETER_LIST: 55,
  MESSAGE: 56,
  RENEWAL_TIME: 58,
  REBINDING_TIME: 59,
  CLIENT_ID: 61,
  END: 255,
} as const;

/** Reasons a message is rejected; 0 is ok. Indexes into DHCP_CHECK_NAMES (the counter names). */
export const DhcpCheck = {
  OK: 0,
  /** Shorter than the 240-byte fixed header plus cookie. */
  TRUNCATED: 1,
  /** Not 99.130.83.99: a plain BOOTP message, or garbage. */
  BAD_COOKIE: 2,
  /** An option's length runs past the end of its field (or the length byte itself is missing). */
  BAD_OPTION_LENGTH: 3,
  /** A field ended without the END option that closes it (RFC 2132 §3.2). */
  NO_END: 4,
  /** Option 52 with a bad length or value, or outside the options field (RFC 2132 §9.3). */
  BAD_OVERLOAD: 5,
  /** A known option with an impossible length or value (a 3-byte mask, message type 0). */
  BAD_OPTION_VALUE: 6,
  /** No option 53: a BOOTP reply, not DHCP. */
  NO_MESSAGE_TYPE: 7,
} as const;

export const DHCP_CHECK_NAMES = [
  "ok",
  "dropTruncated",
  "dropBadCookie",
  "dropBadOptionLength",
  "dropNoEnd",
  "dropBadOverload",
  "dropBadOptionValue",
  "dropNoMessageType",
] as const;

/** Addresses kept per list option (routers, DNS servers); more are counted in `addressesDropped`. */
export const MAX_LIST_ADDRESSES = 8;

/**
 * The options of one received message, parsed. One object is reused per client; values that must outlive
 * the message (the lease) are copied out of it. 0 or -1 mean "absent" as noted per field.
 */
export class DhcpOptionsRepr {
  /** Option 53; 0 when absent. */
  messageType = 0;
  /** Option 1; `hasSubnetMask` says whether it was present (0.0.0.0 is a legal, if odd, mask). */
  subnetMask = 0;
  hasSubnetMask = false;
  /** Option 3, in order of preference (RFC 2132 §3.5). */
  readonly routers: number[] = [];
  /** Option 6, in order of preference (RFC 2132 §3.8). */
  readonly dnsServers: number[] = [];
  /** List addresses beyond MAX_LIST_ADDRESSES, not kept. */
  addressesDropped = 0;
  /** Option 51 in seconds; -1 when absent. 0xffffffff is "infinite" (RFC 2131 §3.3). */
  leaseSeconds = -1;
  /** Options 58 and 59 in seconds; -1 when absent. */
  renewalSeconds = -1;
  rebindingSeconds = -1;
  /** Option 54; 0 when absent. */
  serverId = 0;
  /** Option 50; 0 when absent. */
  requestedIp = 0;
  /** Option 52: 1 = `file` holds options, 2 = `sname`, 3 = both; 0 when absent. */
  overload = 0;
  /** Option 56 (a server's explanation, e.g. in a DHCPNAK) as offset/length in the parsed bytes; length -1 when absent. */
  messageOffset = 0;
  messageLength = -1;

  reset(): void {
    this.messageType = 0;
    this.subnetMask = 0;
    this.hasSubnetMask = false;
    this.routers.length = 0;
    this.dnsServers.length = 0;
    this.addressesDropped = 0;
    this.leaseSeconds = -1;
    this.renewalSeconds = -1;
    this.rebindingSeconds = -1;
    this.serverId = 0;
    this.requestedIp = 0;
    this.overload = 0;
    this.messageOffset = 0;
    this.messageLength = -1;
  }
}

/** A BOOTP/DHCP message: `bytes[offset, offset + length)` is the UDP payload. */
export class DhcpView extends PacketView {
  /** Validates the fixed header and the magic cookie; the options are checked by `parseOptions`. */
  check(): number {
    if (this.length < BOOTP.options) return DhcpCheck.TRUNCATED;
    if (this.view.getUint32(this.offset + BOOTP.cookie) !== DHCP_MAGIC_COOKIE) return DhcpCheck.BAD_COOKIE;
    return DhcpCheck.OK;
  }

  get op(): number {
    return this.view.getUint8(this.offset + BOOTP.op);
  }

  get htype(): number {
    return this.view.getUint8(this.offset + BOOTP.htype);
  }

  get hlen(): number {
    return this.view.getUint8(this.offset + BOOTP.hlen);
  }

  get hops(): number {
    return this.view.getUint8(this.offset + BOOTP.hops);
  }

  get xid(): number {
    return this.view.getUint32(this.offset + BOOTP.xid);
  }

  get secs(): number {
    return this.view.getUint16(this.offset + BOOTP.secs);
  }

  get flags(): number {
    return this.view.getUint16(this.offset + BOOTP.flags);
  }

  get ciaddr(): number {
    return this.view.getUint32(this.offset + BOOTP.ciaddr);
  }

  get yiaddr(): number {
    return this.view.getUint32(this.offset + BOOTP.yiaddr);
  }

  get siaddr(): number {
    return this.view.getUint32(this.offset + BOOTP.siaddr);
  }

  get giaddr(): number {
    return this.view.getUint32(this.offset + BOOTP.giaddr);
  }

  get chaddrOffset(): number {
    return this.offset + BOOTP.chaddr;
  }

  /** Whether chaddr holds `mac` (the first six bytes; hlen is checked by the caller). */
  chaddrIs(mac: Uint8Array): boolean {
    const o = this.offset + BOOTP.chaddr;
    for (let i = 0; i < 6; i++) if (this.bytes[o + i] !== mac[i]) return false;
    return true;
  }

  /** The text of option 56 as parsed into `o` ("" when absent); for diagnostics only. */
  messageText(o: DhcpOptionsRepr): string {
    if (o.messageLength < 0) return "";
    let s = "";
    for (let i = 0; i < o.messageLength; i++) {
      const c = this.bytes[o.messageOffset + i] ?? 0;
      s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : "?";
    }
    return s;
  }

  /**
   * Parses every option into `out` (reset first). The `options` field is read first, then `file` and then
   * `sname` when option 52 says they are overloaded (RFC 2132 §9.3: after the standard field; RFC 3396: the
   * aggregate option buffer is options, file, sname in that order); each field must end with END. Never
   * throws and never reads outside the message: returns a DhcpCheck reason (0 = ok).
   */
  parseOptions(out: DhcpOptionsRepr): number {
    out.reset();
    const reason = this.check();
    if (reason !== DhcpCheck.OK) return reason;
    const base = this.offset;
    let r = this.parseField(base + BOOTP.options, base + this.length, out, true);
    if (r !== DhcpCheck.OK) return r;
    // RFC 3396: "file" comes before "sname" in the aggregate when both are overloaded.
    if ((out.overload & 1) !== 0) {
      r = this.parseField(base + BOOTP.file, base + BOOTP.file + BOOTP.fileLength, out, false);
      if (r !== DhcpCheck.OK) return r;
    }
    if ((out.overload & 2) !== 0) {
      r = this.parseField(base + BOOTP.sname, base + BOOTP.sname + BOOTP.snameLength, out, false);
      if (r !== DhcpCheck.OK) return r;
    }
    return out.messageType === 0 ? DhcpCheck.NO_MESSAGE_TYPE : DhcpCheck.OK;
  }

  /** One option field, [start, end) in `bytes`; `isMain` for the `options` field (where 52 may appear). */
  private parseField(start: number, end: number, out: DhcpOptionsRepr, isMain: boolean): number {
    const b = this.bytes;
    let i = start;
    while (i < end) {
      const code = b[i] as number;
      // RFC 2132 §3.1/§3.2: PAD and END are the only one-byte options.
      if (code === DhcpOpt.PAD) {
        i++;
        continue;
      }
      if (code === DhcpOpt.END) return DhcpCheck.OK;
      if (i + 1 >= end) return DhcpCheck.BAD_OPTION_LENGTH;
      const len = b[i + 1] as number;
      const at = i + 2;
      if (at + len > end) return DhcpCheck.BAD_OPTION_LENGTH;
      const r = this.apply(code, at, len, out, isMain);
      if (r !== DhcpCheck.OK) return r;
      i = at + len;
    }
    return DhcpCheck.NO_END;
  }

  /**
   * Stores one option. Fixed-size options keep their first instance; the address lists (3, 6) append
   * further instances, RFC 3396's concatenation for the case where each piece holds whole addresses.
   */
  private apply(code: number, at: number, len: number, out: DhcpOptionsRepr, isMain: boolean): number {
    // `at` indexes `bytes`; PacketView's DataView starts where `bytes` starts, so it indexes the view too.
    const v = this.view;
    switch (code) {
      case DhcpOpt.MESSAGE_TYPE: {
        if (len !== 1) return DhcpCheck.BAD_OPTION_VALUE;
        const t = v.getUint8(at);
        if (t < DhcpMessageType.DISCOVER || t > DhcpMessageType.INFORM) return DhcpCheck.BAD_OPTION_VALUE;
        if (out.messageType === 0) out.messageType = t;
        return DhcpCheck.OK;
      }
      case DhcpOpt.SUBNET_MASK:
        if (len !== 4) return DhcpCheck.BAD_OPTION_VALUE;
        if (!out.hasSubnetMask) {
          out.subnetMask = v.getUint32(at);
          out.hasSubnetMask = true;
        }
        return DhcpCheck.OK;
      case DhcpOpt.ROUTER:
      case DhcpOpt.DNS: {
        // RFC 2132 §3.5, §3.8: minimum length 4, a multiple of 4.
        if (len < 4 || len % 4 !== 0) return DhcpCheck.BAD_OPTION_VALUE;
        const list = code === DhcpOpt.ROUTER ? out.routers : out.dnsServers;
        for (let k = 0; k < len; k += 4) {
          if (list.length < MAX_LIST_ADDRESSES) list.push(v.getUint32(at + k));
          else out.addressesDropped++;
        }
        return DhcpCheck.OK;
      }
      case DhcpOpt.LEASE_TIME:
      case DhcpOpt.RENEWAL_TIME:
      case DhcpOpt.REBINDING_TIME:
      case DhcpOpt.SERVER_ID:
      case DhcpOpt.REQUESTED_IP: {
        if (len !== 4) return DhcpCheck.BAD_OPTION_VALUE;
        const value = v.getUint32(at);
        if (code === DhcpOpt.LEASE_TIME) {
          if (out.leaseSeconds < 0) out.leaseSeconds = value;
        } else if (code === DhcpOpt.RENEWAL_TIME) {
          if (out.renewalSeconds < 0) out.renewalSeconds = value;
        } else if (code === DhcpOpt.REBINDING_TIME) {
          if (out.rebindingSeconds < 0) out.rebindingSeconds = value;
        } else if (code === DhcpOpt.SERVER_ID) {
          if (out.serverId === 0) out.serverId = value;
        } else if (out.requestedIp === 0) {
          out.requestedIp = value;
        }
        return DhcpCheck.OK;
      }
      case DhcpOpt.OVERLOAD: {
        // RFC 2132 §9.3: only in the `options` field, one byte, 1..3.
        if (!isMain || len !== 1) return DhcpCheck.BAD_OVERLOAD;
        const o = v.getUint8(at);
        if (o < 1 || o > 3) return DhcpCheck.BAD_OVERLOAD;
        out.overload = o;
        return DhcpCheck.OK;
      }
      case DhcpOpt.MESSAGE:
        if (out.messageLength < 0) {
          out.messageOffset = at;
          out.messageLength = len;
        }
        return DhcpCheck.OK;
      default:
        // Unknown options are skipped by their length (RFC 2132 §2).
        return DhcpCheck.OK;
    }
  }
}

/** The fixed-header fields a writer fills in; everything else (hops, sname, file) is zero. */
export interface BootpFields {
  op: number;
  xid: number;
  secs: number;
  flags: number;
  ciaddr: number;
  yiaddr: number;
  siaddr: number;
  giaddr: number;
  chaddr: Uint8Array;
}

/**
 * Builds one message in place: `begin` writes the fixed header and cookie, the option calls append, `finish`
 * writes END, pads with PAD to the BOOTP minimum and returns the length. The caller sizes the buffer (a
 * client message is well under the 576 bytes every DHCP host must accept, RFC 2131 §2).
 */
export class DhcpWriter {
  private buf: Uint8Array = new Uint8Array(0);
  private view: DataView = new DataView(this.buf.buffer);
  private base = 0;
  private at = 0;

  /** `view` must be a DataView over `buf` starting where `buf` starts (as IpLayer.txView is over txFrame). */
  begin(buf: Uint8Array, view: DataView, offset: number, f: BootpFields): this {
    this.buf = buf;
    this.view = view;
    this.base = offset;
    buf.fill(0, offset, offset + BOOTP.options);
    view.setUint8(offset + BOOTP.op, f.op);
    view.setUint8(offset + BOOTP.htype, HTYPE_ETHERNET);
    view.setUint8(offset + BOOTP.hlen, 6);
    view.setUint32(offset + BOOTP.xid, f.xid >>> 0);
    view.setUint16(offset + BOOTP.secs, Math.min(0xffff, Math.max(0, Math.floor(f.secs))));
    view.setUint16(offset + BOOTP.flags, f.flags);
    view.setUint32(offset + BOOTP.ciaddr, f.ciaddr >>> 0);
    view.setUint32(offset + BOOTP.yiaddr, f.yiaddr >>> 0);
    view.setUint32(offset + BOOTP.siaddr, f.siaddr >>> 0);
    view.setUint32(offset + BOOTP.giaddr, f.giaddr >>> 0);
    buf.set(f.chaddr.subarray(0, 6), offset + BOOTP.chaddr);
    view.setUint32(offset + BOOTP.cookie, DHCP_MAGIC_COOKIE);
    this.at = offset + BOOTP.options;
    return this;
  }

  u8(code: number, value: number): this {
    this.buf[this.at] = code;
    this.buf[this.at + 1] = 1;
    this.buf[this.at + 2] = value;
    this.at += 3;
    return this;
  }

  u32(code: number, value: number): this {
    this.buf[this.at] = code;
    this.buf[this.at + 1] = 4;
    this.view.setUint32(this.at + 2, value >>> 0);
    this.at += 6;
    return this;
  }

  /** An address list (at most 63 addresses fit one option). */
  addresses(code: number, list: readonly number[]): this {
    const n = Math.min(list.length, 63);
    this.buf[this.at] = code;
    this.buf[this.at + 1] = n * 4;
    for (let i = 0; i < n; i++) this.view.setUint32(this.at + 2 + i * 4, (list[i] ?? 0) >>> 0);
    this.at += 2 + n * 4;
    return this;
  }

  /** Raw option bytes (at most 255). */
  bytes(code: number, value: Uint8Array | readonly number[]): this {
    const n = Math.min(value.length, 255);
    this.buf[this.at] = code;
    this.buf[this.at + 1] = n;
    for (let i = 0; i < n; i++) this.buf[this.at + 2 + i] = value[i] ?? 0;
    this.at += 2 + n;
    return this;
  }

  /** Writes END, pads to the 300-byte BOOTP minimum and returns the message length. */
  finish(): number {
    this.buf[this.at++] = DhcpOpt.END;
    const min = this.base + BOOTP.minMessageLength;
    if (this.at < min) {
      this.buf.fill(DhcpOpt.PAD, this.at, min);
      this.at = min;
    }
    return this.at - this.base;
  }
}
