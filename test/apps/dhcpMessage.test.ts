// BOOTP/DHCP wire format (src/apps/dhcpMessage.ts, RFC 2131 §2, RFC 2132): byte-exact DISCOVER, REQUEST
// (selecting and renewing), DECLINE and RELEASE from the writer, OFFER/ACK/NAK parsed by the view, option
// parsing against garbage (bad lengths, missing END, the overload option, pad), and random bytes that never
// make the parser throw.

import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  BOOTP,
  BOOTP_FLAG_BROADCAST,
  BootpOp,
  DHCP_CHECK_NAMES,
  DhcpCheck,
  DhcpMessageType,
  DhcpOpt,
  DhcpOptionsRepr,
  DhcpView,
  DhcpWriter,
  MAX_LIST_ADDRESSES,
  type BootpFields,
} from "../../src/apps/dhcpMessage.js";

const SEED = 0xd4c9;

function ip(a: number, b: number, c: number, d: number): number {
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

/** Joins hex fields (one per line in the vectors below) into bytes. */
function hex(...fields: string[]): Uint8Array {
  const text = fields.join("").replace(/\s+/g, "");
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const zeros = (n: number): string => "00".repeat(n);

const MAC = hex("020000000001");
const XID = 0x12345678;
const SERVER = ip(10, 0, 0, 1);
const OFFERED = ip(10, 0, 0, 50);

// ---- Vectors, cross-checked with scapy 2.5.0 ----
// CH = MAC + 10 zero bytes, CID = b"\x01" + MAC, PRL = [1, 3, 6, 51, 54, 58, 59], X = 0x12345678; client
// messages end with "pad" options up to 300 bytes (RFC 1542 §2.1), as the writer pads them:
// bytes(BOOTP(op=…, xid=X, …, chaddr=CH)/DHCP(options=[…, "end"] + ["pad"] * n)).hex()

/** The 236-byte fixed header plus magic cookie, one line per field. */
function header(f: { op: string; secs?: string; flags?: string; ciaddr?: string; yiaddr?: string; siaddr?: string }): string {
  return [
    f.op, // op: 01 BOOTREQUEST, 02 BOOTREPLY
    "01", // htype Ethernet
    "06", // hlen
    "00", // hops
    "12345678", // xid
    f.secs ?? "0000", // secs
    f.flags ?? "0000", // flags (8000: broadcast)
    f.ciaddr ?? "00000000", // ciaddr
    f.yiaddr ?? "00000000", // yiaddr
    f.siaddr ?? "00000000", // siaddr
    "00000000", // giaddr
    "020000000001" + zeros(10), // chaddr: MAC, padded to 16
    zeros(64), // sname
    zeros(128), // file
    "63825363", // magic cookie 99.130.83.99
  ].join("");
}

const CLIENT_ID = "3d07" + "01020000000001"; // 61: htype 1 + MAC
const HOSTNAME = "0c06" + "77616c6e7574"; // 12: "walnut"
const PRL = "3707" + "01030633363a3b"; // 55: 1 3 6 51 54 58 59

// options=[("message-type","discover"), ("client_id",CID), ("hostname",b"walnut"), ("param_req_list",PRL), "end"]
const DISCOVER = hex(
  header({ op: "01", flags: "8000" }),
  "350101", // 53 message type DISCOVER
  CLIENT_ID,
  HOSTNAME,
  PRL,
  "ff", // end
  zeros(30), // pad to 300
);

// BOOTP(…, secs=3, flags=0x8000)/DHCP(options=[("message-type","request"), ("client_id",CID),
// ("requested_addr","10.0.0.50"), ("server_id","10.0.0.1"), ("hostname",b"walnut"), ("param_req_list",PRL), "end"])
const REQUEST_SELECTING = hex(
  header({ op: "01", secs: "0003", flags: "8000" }),
  "350103", // 53 message type REQUEST
  CLIENT_ID,
  "3204" + "0a000032", // 50 requested IP 10.0.0.50
  "3604" + "0a000001", // 54 server id 10.0.0.1
  HOSTNAME,
  PRL,
  "ff", // end
  zeros(18), // pad to 300
);

// BOOTP(…, ciaddr="10.0.0.50")/DHCP(options=[("message-type","request"), ("client_id",CID), ("hostname",b"walnut"),
// ("param_req_list",PRL), "end"]) — RENEWING: ciaddr set, no 50/54, no broadcast flag (RFC 2131 §4.3.2)
const REQUEST_RENEWING = hex(
  header({ op: "01", ciaddr: "0a000032" }),
  "350103", // 53 message type REQUEST
  CLIENT_ID,
  HOSTNAME,
  PRL,
  "ff", // end
  zeros(30), // pad to 300
);

// DHCP(options=[("message-type","decline"), ("client_id",CID), ("requested_addr","10.0.0.50"), ("server_id","10.0.0.1"), "end"])
const DECLINE = hex(
  header({ op: "01" }),
  "350104", // 53 message type DECLINE
  CLIENT_ID,
  "3204" + "0a000032", // 50 the declined address
  "3604" + "0a000001", // 54 server id
  "ff", // end
  zeros(35), // pad to 300
);

// BOOTP(…, ciaddr="10.0.0.50")/DHCP(options=[("message-type","release"), ("client_id",CID), ("server_id","10.0.0.1"), "end"])
const RELEASE = hex(
  header({ op: "01", ciaddr: "0a000032" }),
  "350107", // 53 message type RELEASE
  CLIENT_ID,
  "3604" + "0a000001", // 54 server id
  "ff", // end
  zeros(41), // pad to 300
);

// BOOTP(op=2, xid=X, yiaddr="10.0.0.50", siaddr="10.0.0.1", chaddr=CH)/DHCP(options=[("message-type","offer"),
// ("server_id","10.0.0.1"), ("lease_time",3600), ("subnet_mask","255.255.255.0"), ("router","10.0.0.1"),
// ("name_server","10.0.0.1","8.8.8.8"), "end"])
const OFFER = hex(
  header({ op: "02", yiaddr: "0a000032", siaddr: "0a000001" }),
  "350102", // 53 message type OFFER
  "3604" + "0a000001", // 54 server id
  "3304" + "00000e10", // 51 lease 3600 s
  "0104" + "ffffff00", // 1 subnet mask /24
  "0304" + "0a000001", // 3 router
  "0608" + "0a000001" + "08080808", // 6 DNS servers
  "ff", // end
);

// The same with ("message-type","ack"), ("renewal_time",1800), ("rebinding_time",3150) after the lease time.
const ACK = hex(
  header({ op: "02", yiaddr: "0a000032", siaddr: "0a000001" }),
  "350105", // 53 message type ACK
  "3604" + "0a000001", // 54 server id
  "3304" + "00000e10", // 51 lease 3600 s
  "3a04" + "00000708", // 58 T1 1800 s
  "3b04" + "00000c4e", // 59 T2 3150 s
  "0104" + "ffffff00", // 1 subnet mask
  "0304" + "0a000001", // 3 router
  "0608" + "0a000001" + "08080808", // 6 DNS servers
  "ff", // end
);

// BOOTP(op=2, xid=X, chaddr=CH)/DHCP(options=[("message-type","nak"), ("server_id","10.0.0.1"),
// ("error_message",b"wrong address"), "end"])
const NAK = hex(
  header({ op: "02" }),
  "350106", // 53 message type NAK
  "3604" + "0a000001", // 54 server id
  "380d" + "77726f6e672061646472657373", // 56 message "wrong address"
  "ff", // end
);

/** Writes one client message into a 0xa5-filled buffer with room to spare; returns the buffer and length. */
function write(fields: Partial<BootpFields>, build: (w: DhcpWriter) => void): { buf: Uint8Array; length: number } {
  const buf = new Uint8Array(600).fill(0xa5);
  const w = new DhcpWriter().begin(buf, new DataView(buf.buffer), 0, {
    op: BootpOp.REQUEST,
    xid: XID,
    secs: 0,
    flags: 0,
    ciaddr: 0,
    yiaddr: 0,
    siaddr: 0,
    giaddr: 0,
    chaddr: MAC,
    ...fields,
  });
  build(w);
  return { buf, length: w.finish() };
}

const CID_BYTES = hex("01020000000001");
const PRL_LIST = [1, 3, 6, 51, 54, 58, 59];
const WALNUT = new TextEncoder().encode("walnut");

function parse(bytes: Uint8Array): { view: DhcpView; o: DhcpOptionsRepr; reason: number } {
  const view = new DhcpView().point(bytes, 0, bytes.length);
  const o = new DhcpOptionsRepr();
  return { view, o, reason: view.parseOptions(o) };
}

describe("DHCP writer: byte-exact client messages (RFC 2131 Table 5)", () => {
  it.each([
    {
      name: "DISCOVER",
      want: DISCOVER,
      fields: { flags: BOOTP_FLAG_BROADCAST },
      build: (w: DhcpWriter) =>
        w.u8(DhcpOpt.MESSAGE_TYPE, DhcpMessageType.DISCOVER).bytes(DhcpOpt.CLIENT_ID, CID_BYTES).bytes(DhcpOpt.HOSTNAME, WALNUT).bytes(DhcpOpt.PARAMETER_LIST, PRL_LIST),
    },
    {
      name: "REQUEST (selecting)",
      want: REQUEST_SELECTING,
      fields: { secs: 3, flags: BOOTP_FLAG_BROADCAST },
      build: (w: DhcpWriter) =>
        w
          .u8(DhcpOpt.MESSAGE_TYPE, DhcpMessageType.REQUEST)
          .bytes(DhcpOpt.CLIENT_ID, CID_BYTES)
          .u32(DhcpOpt.REQUESTED_IP, OFFERED)
          .u32(DhcpOpt.SERVER_ID, SERVER)
          .bytes(DhcpOpt.HOSTNAME, WALNUT)
          .bytes(DhcpOpt.PARAMETER_LIST, PRL_LIST),
    },
    {
      name: "REQUEST (renewing)",
      want: REQUEST_RENEWING,
      fields: { ciaddr: OFFERED },
      build: (w: DhcpWriter) =>
        w.u8(DhcpOpt.MESSAGE_TYPE, DhcpMessageType.REQUEST).bytes(DhcpOpt.CLIENT_ID, CID_BYTES).bytes(DhcpOpt.HOSTNAME, WALNUT).bytes(DhcpOpt.PARAMETER_LIST, PRL_LIST),
    },
    {
      name: "DECLINE",
      want: DECLINE,
      fields: {},
      build: (w: DhcpWriter) =>
        w.u8(DhcpOpt.MESSAGE_TYPE, DhcpMessageType.DECLINE).bytes(DhcpOpt.CLIENT_ID, CID_BYTES).u32(DhcpOpt.REQUESTED_IP, OFFERED).u32(DhcpOpt.SERVER_ID, SERVER),
    },
    {
      name: "RELEASE",
      want: RELEASE,
      fields: { ciaddr: OFFERED },
      build: (w: DhcpWriter) => w.u8(DhcpOpt.MESSAGE_TYPE, DhcpMessageType.RELEASE).bytes(DhcpOpt.CLIENT_ID, CID_BYTES).u32(DhcpOpt.SERVER_ID, SERVER),
    },
  ])("$name", ({ want, fields, build }) => {
    const { buf, length } = write(fields, build);
    expect(length).toBe(300);
    expect(want.length).toBe(300);
    expect([...buf.subarray(0, length)]).toEqual([...want]);
    // Nothing written past the message.
    expect(buf[length]).toBe(0xa5);
  });

  it("writes OFFER, ACK and NAK byte-exact too (the fake servers in the tests build them this way)", () => {
    const reply = { op: BootpOp.REPLY, yiaddr: OFFERED, siaddr: SERVER };
    const offer = write(reply, (w) =>
      w.u8(DhcpOpt.MESSAGE_TYPE, DhcpMessageType.OFFER).u32(DhcpOpt.SERVER_ID, SERVER).u32(DhcpOpt.LEASE_TIME, 3600).u32(DhcpOpt.SUBNET_MASK, 0xffffff00).addresses(DhcpOpt.ROUTER, [SERVER]).addresses(DhcpOpt.DNS, [SERVER, ip(8, 8, 8, 8)]),
    );
    // The writer pads to 300 (scapy does not, for servers' messages): compare up to END, then zeros.
    expect([...offer.buf.subarray(0, OFFER.length)]).toEqual([...OFFER]);
    expect(offer.buf.subarray(OFFER.length, offer.length).every((b) => b === 0)).toBe(true);
    const nak = write({ op: BootpOp.REPLY }, (w) =>
      w.u8(DhcpOpt.MESSAGE_TYPE, DhcpMessageType.NAK).u32(DhcpOpt.SERVER_ID, SERVER).bytes(DhcpOpt.MESSAGE, new TextEncoder().encode("wrong address")),
    );
    expect([...nak.buf.subarray(0, NAK.length)]).toEqual([...NAK]);
  });

  it("clamps secs to 16 bits and never writes a negative one", () => {
    expect(parse(write({ secs: 1e9 }, (w) => w.u8(DhcpOpt.MESSAGE_TYPE, 1)).buf).view.secs).toBe(0xffff);
    expect(parse(write({ secs: -5 }, (w) => w.u8(DhcpOpt.MESSAGE_TYPE, 1)).buf).view.secs).toBe(0);
  });
});

describe("DHCP view: parsing server messages", () => {
  it("OFFER: fixed fields and options", () => {
    const { view, o, reason } = parse(OFFER);
    expect(reason).toBe(DhcpCheck.OK);
    expect(view.op).toBe(BootpOp.REPLY);
    expect(view.htype).toBe(1);
    expect(view.hlen).toBe(6);
    expect(view.xid).toBe(XID);
    expect(view.yiaddr).toBe(OFFERED);
    expect(view.siaddr).toBe(SERVER);
    expect(view.chaddrIs(MAC)).toBe(true);
    expect(view.chaddrIs(hex("020000000002"))).toBe(false);
    expect(o.messageType).toBe(DhcpMessageType.OFFER);
    expect(o.serverId).toBe(SERVER);
    expect(o.leaseSeconds).toBe(3600);
    expect(o.renewalSeconds).toBe(-1);
    expect(o.rebindingSeconds).toBe(-1);
    expect(o.hasSubnetMask).toBe(true);
    expect(o.subnetMask).toBe(0xffffff00);
    expect(o.routers).toEqual([SERVER]);
    expect(o.dnsServers).toEqual([SERVER, ip(8, 8, 8, 8)]);
  });

  it("ACK: T1 and T2", () => {
    const { o, reason } = parse(ACK);
    expect(reason).toBe(DhcpCheck.OK);
    expect(o.messageType).toBe(DhcpMessageType.ACK);
    expect(o.renewalSeconds).toBe(1800);
    expect(o.rebindingSeconds).toBe(3150);
  });

  it("NAK: the server's message (option 56)", () => {
    const { view, o, reason } = parse(NAK);
    expect(reason).toBe(DhcpCheck.OK);
    expect(o.messageType).toBe(DhcpMessageType.NAK);
    expect(view.messageText(o)).toBe("wrong address");
  });

  it.each([
    { name: "DISCOVER", bytes: DISCOVER, type: DhcpMessageType.DISCOVER },
    { name: "REQUEST", bytes: REQUEST_SELECTING, type: DhcpMessageType.REQUEST },
    { name: "DECLINE", bytes: DECLINE, type: DhcpMessageType.DECLINE },
    { name: "RELEASE", bytes: RELEASE, type: DhcpMessageType.RELEASE },
  ])("parse(emit($name)) gives back what was written", ({ bytes, type }) => {
    const { o, reason } = parse(bytes);
    expect(reason).toBe(DhcpCheck.OK);
    expect(o.messageType).toBe(type);
    if (type === DhcpMessageType.REQUEST || type === DhcpMessageType.DECLINE) expect(o.requestedIp).toBe(OFFERED);
    if (type !== DhcpMessageType.DISCOVER) expect(o.serverId).toBe(SERVER);
  });

  it("reads a message that sits at an offset inside a larger buffer", () => {
    const big = new Uint8Array(OFFER.length + 100).fill(0xa5);
    big.set(OFFER, 37);
    const view = new DhcpView().point(big, 37, OFFER.length);
    const o = new DhcpOptionsRepr();
    expect(view.parseOptions(o)).toBe(DhcpCheck.OK);
    expect(view.yiaddr).toBe(OFFERED);
    expect(o.dnsServers).toEqual([SERVER, ip(8, 8, 8, 8)]);
  });
});

/** A reply (fixed header of OFFER) with `options` after the cookie. */
function withOptions(options: string, patch?: (b: Uint8Array) => void): Uint8Array {
  const b = hex(header({ op: "02", yiaddr: "0a000032" }), options);
  patch?.(b);
  return b;
}

describe("DHCP view: garbage in the options never throws, and says why", () => {
  it.each([
    { name: "shorter than the fixed header", bytes: OFFER.subarray(0, 239), reason: DhcpCheck.TRUNCATED },
    { name: "no options at all (header + cookie only)", bytes: OFFER.subarray(0, 240), reason: DhcpCheck.NO_END },
    { name: "a plain BOOTP cookie", bytes: withOptions("350102ff", (b) => (b[BOOTP.cookie] = 0)), reason: DhcpCheck.BAD_COOKIE },
    { name: "an option running past the end", bytes: withOptions("3501020308"), reason: DhcpCheck.BAD_OPTION_LENGTH },
    { name: "a length byte missing at the end", bytes: withOptions("35010203"), reason: DhcpCheck.BAD_OPTION_LENGTH },
    { name: "no END", bytes: withOptions("350102" + "3604" + "0a000001"), reason: DhcpCheck.NO_END },
    { name: "only pad, no END", bytes: withOptions("350102" + zeros(20)), reason: DhcpCheck.NO_END },
    { name: "a 3-byte subnet mask", bytes: withOptions("350102" + "0103ffffff" + "ff"), reason: DhcpCheck.BAD_OPTION_VALUE },
    { name: "a 6-byte router list", bytes: withOptions("350102" + "0306" + "0a0000010a00" + "ff"), reason: DhcpCheck.BAD_OPTION_VALUE },
    { name: "an empty DNS list", bytes: withOptions("350102" + "0600" + "ff"), reason: DhcpCheck.BAD_OPTION_VALUE },
    { name: "message type 0", bytes: withOptions("350100ff"), reason: DhcpCheck.BAD_OPTION_VALUE },
    { name: "message type 9", bytes: withOptions("350109ff"), reason: DhcpCheck.BAD_OPTION_VALUE },
    { name: "a 2-byte message type", bytes: withOptions("35020202ff"), reason: DhcpCheck.BAD_OPTION_VALUE },
    { name: "a 3-byte lease time", bytes: withOptions("350102" + "3303000e10" + "ff"), reason: DhcpCheck.BAD_OPTION_VALUE },
    { name: "no message type (BOOTP)", bytes: withOptions("3604" + "0a000001" + "ff"), reason: DhcpCheck.NO_MESSAGE_TYPE },
    { name: "overload value 4", bytes: withOptions("350102" + "340104" + "ff"), reason: DhcpCheck.BAD_OVERLOAD },
    { name: "overload with length 2", bytes: withOptions("350102" + "34020101" + "ff"), reason: DhcpCheck.BAD_OVERLOAD },
    // `file` holds "34 01 01 ff": an overload option inside an overloaded field (RFC 2132 §9.3).
    {
      name: "overload inside the file field",
      bytes: withOptions("350102" + "340101" + "ff", (b) => b.set([0x34, 0x01, 0x01, 0xff], BOOTP.file)),
      reason: DhcpCheck.BAD_OVERLOAD,
    },
    // The `file` field is overloaded but holds no END (it is all 0xff-less garbage: option 0x41 running off).
    {
      name: "an overloaded file field without END",
      bytes: withOptions("350102" + "340101" + "ff", (b) => b.fill(0x41, BOOTP.file, BOOTP.file + BOOTP.fileLength)),
      reason: DhcpCheck.BAD_OPTION_LENGTH,
    },
    {
      name: "an overloaded sname field of pad only",
      bytes: withOptions("350102" + "340102" + "ff"),
      reason: DhcpCheck.NO_END,
    },
  ])("$name → $reason", ({ bytes, reason }) => {
    const o = new DhcpOptionsRepr();
    expect(new DhcpView().point(bytes, 0, bytes.length).parseOptions(o)).toBe(reason);
    expect(DHCP_CHECK_NAMES[reason]).toBeDefined();
  });

  it("skips pad anywhere and unknown options by their length", () => {
    const { o, reason } = parse(withOptions("0000" + "350102" + "00" + "fa03abcdef" + "00" + "3604" + "0a000001" + "ff" + "3302"));
    expect(reason).toBe(DhcpCheck.OK);
    expect(o.messageType).toBe(DhcpMessageType.OFFER);
    expect(o.serverId).toBe(SERVER);
    // Bytes after END are not options.
    expect(o.leaseSeconds).toBe(-1);
  });

  it("reads options from file, then sname, when option 52 says so (RFC 2132 §9.3)", () => {
    const b = withOptions("350105" + "340103" + "ff", (m) => {
      // file: lease time and a first router; sname: a second router and the server id.
      m.set(hex("3304" + "00000078" + "0304" + "0a000001" + "ff"), BOOTP.file);
      m.set(hex("0304" + "0a000002" + "3604" + "0a000001" + "ff"), BOOTP.sname);
    });
    const { o, reason } = parse(b);
    expect(reason).toBe(DhcpCheck.OK);
    expect(o.overload).toBe(3);
    expect(o.leaseSeconds).toBe(120);
    expect(o.serverId).toBe(SERVER);
    // file before sname: the routers keep that order.
    expect(o.routers).toEqual([ip(10, 0, 0, 1), ip(10, 0, 0, 2)]);
  });

  it("ignores file and sname contents without option 52", () => {
    const b = withOptions("350102ff", (m) => m.set(hex("3304" + "00000078" + "ff"), BOOTP.file));
    const { o, reason } = parse(b);
    expect(reason).toBe(DhcpCheck.OK);
    expect(o.leaseSeconds).toBe(-1);
  });

  it("concatenates repeated address lists (RFC 3396) and keeps at most MAX_LIST_ADDRESSES", () => {
    const many = Array.from({ length: 10 }, (_, i) => (0x0a000100 + i).toString(16).padStart(8, "0")).join("");
    const { o, reason } = parse(withOptions("350102" + "0608" + many.slice(0, 16) + "0620" + many.slice(16) + "ff"));
    expect(reason).toBe(DhcpCheck.OK);
    expect(o.dnsServers).toHaveLength(MAX_LIST_ADDRESSES);
    expect(o.dnsServers[0]).toBe(0x0a000100);
    expect(o.dnsServers[7]).toBe(0x0a000107);
    expect(o.addressesDropped).toBe(2);
  });

  it("keeps the first instance of a fixed-size option", () => {
    const { o } = parse(withOptions("350102" + "3304" + "00000078" + "3304" + "0000ffff" + "ff"));
    expect(o.leaseSeconds).toBe(120);
  });

  it("resets between messages: nothing leaks from the previous parse", () => {
    const o = new DhcpOptionsRepr();
    const view = new DhcpView();
    expect(view.point(ACK, 0, ACK.length).parseOptions(o)).toBe(DhcpCheck.OK);
    expect(view.point(NAK, 0, NAK.length).parseOptions(o)).toBe(DhcpCheck.OK);
    expect(o.leaseSeconds).toBe(-1);
    expect(o.routers).toEqual([]);
    expect(o.hasSubnetMask).toBe(false);
  });

  it("random bytes after a valid header never throw and always give a known reason", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 400 }), fc.boolean(), fc.nat({ max: 4 }), (tail, withCookie, overload) => {
        const head = hex(header({ op: "02" }));
        if (!withCookie) head[BOOTP.cookie + 1] = 0;
        const bytes = new Uint8Array(head.length + tail.length);
        bytes.set(head);
        bytes.set(tail, head.length);
        // Often steer the first option at overload, so the file/sname paths get garbage too.
        if (overload > 0 && tail.length >= 3) bytes.set([0x34, 0x01, overload], head.length);
        // Fill file/sname with the tail as well, so overloaded fields hold garbage.
        bytes.set(tail.subarray(0, BOOTP.fileLength), BOOTP.file);
        const o = new DhcpOptionsRepr();
        const reason = new DhcpView().point(bytes, 0, bytes.length).parseOptions(o);
        expect(reason).toBeGreaterThanOrEqual(0);
        expect(reason).toBeLessThan(DHCP_CHECK_NAMES.length);
        expect(o.routers.length).toBeLessThanOrEqual(MAX_LIST_ADDRESSES);
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });

  it("random whole messages (any length, any bytes) never throw", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 700 }), (bytes) => {
        const reason = new DhcpView().point(bytes, 0, bytes.length).parseOptions(new DhcpOptionsRepr());
        expect(DHCP_CHECK_NAMES[reason]).toBeDefined();
      }),
      { seed: SEED + 1, numRuns: 1000 },
    );
  });

  it("parse(emit(x)) for random option values", () => {
    const addr = fc.nat({ max: 0xffffffff });
    fc.assert(
      fc.property(
        fc.record({
          type: fc.integer({ min: 1, max: 8 }),
          lease: addr,
          t1: addr,
          mask: addr,
          server: addr,
          routers: fc.array(addr, { minLength: 1, maxLength: MAX_LIST_ADDRESSES }),
          dns: fc.array(addr, { minLength: 1, maxLength: MAX_LIST_ADDRESSES }),
          xid: addr,
          secs: fc.nat({ max: 0xffff }),
        }),
        (r) => {
          const { buf, length } = write({ op: BootpOp.REPLY, xid: r.xid, secs: r.secs }, (w) =>
            w
              .u8(DhcpOpt.MESSAGE_TYPE, r.type)
              .u32(DhcpOpt.LEASE_TIME, r.lease)
              .u32(DhcpOpt.RENEWAL_TIME, r.t1)
              .u32(DhcpOpt.SUBNET_MASK, r.mask)
              .u32(DhcpOpt.SERVER_ID, r.server)
              .addresses(DhcpOpt.ROUTER, r.routers)
              .addresses(DhcpOpt.DNS, r.dns),
          );
          const view = new DhcpView().point(buf, 0, length);
          const o = new DhcpOptionsRepr();
          expect(view.parseOptions(o)).toBe(DhcpCheck.OK);
          expect([view.xid, view.secs, o.messageType, o.leaseSeconds, o.renewalSeconds, o.subnetMask, o.serverId]).toEqual([
            r.xid,
            r.secs,
            r.type,
            r.lease,
            r.t1,
            r.mask,
            r.server,
          ]);
          expect(o.routers).toEqual(r.routers);
          expect(o.dnsServers).toEqual(r.dns);
        },
      ),
      { seed: SEED + 2, numRuns: 300 },
    );
  });
});
