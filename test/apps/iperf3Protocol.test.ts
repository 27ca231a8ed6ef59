// The iperf3 wire format piece by piece: state bytes, SERVER_ERROR, length-prefixed JSON taken off a stream
// that arrives in any split, cookies, the UDP handshake words and payload header, the parameters and results
// messages (the JSON is what Debian's iperf3 3.12 sent in a capture of `iperf3 -c BOARD -u -b 10M -t 1`,
// read back with tshark), the UDP receiver's loss and jitter, and iperf3's units.

import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  ControlReader,
  COOKIE_BYTES,
  cookiesEqual,
  cookieText,
  encodeJson,
  encodeServerError,
  encodeState,
  IperfState,
  makeCookie,
  stateName,
  UDP_CONNECT_MSG,
  UDP_CONNECT_REPLY,
  udpPayloadCounter,
  udpPayloadSentMicros,
  writeUdpPayloadHeader,
} from "../../src/apps/iperf3/protocol.js";
import { DEFAULT_PARAMS, isParamsError, paramsToJson, parseParams, type TestParams } from "../../src/apps/iperf3/params.js";
import { parseResults, resultsToJson, UdpReceiveStats } from "../../src/apps/iperf3/results.js";
import { formatBitrate, formatBytes, parseAmount } from "../../src/apps/iperf3/units.js";
import { Prng } from "../../src/core/prng.js";

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

describe("iperf3 framing", () => {
  it("a state is one signed byte: ACCESS_DENIED is 0xff, SERVER_ERROR 0xfe", () => {
    expect(encodeState(IperfState.PARAM_EXCHANGE)).toEqual(bytes(9));
    expect(encodeState(IperfState.IPERF_DONE)).toEqual(bytes(16));
    expect(encodeState(IperfState.ACCESS_DENIED)).toEqual(bytes(0xff));
    expect(encodeState(IperfState.SERVER_ERROR)).toEqual(bytes(0xfe));
    const r = new ControlReader();
    r.push(bytes(0xff, 0xfe, 13), 0, 3);
    expect([r.takeState(), r.takeState(), r.takeState(), r.takeState()]).toEqual([-1, -2, 13, null]);
    expect(stateName(14)).toBe("DISPLAY_RESULTS");
    expect(stateName(99)).toBe("state 99");
  });

  it("SERVER_ERROR carries iperf3's error number and an errno as 4-byte big-endian ints", () => {
    expect(encodeServerError(6, 22)).toEqual(bytes(0xfe, 0, 0, 0, 6, 0, 0, 0, 22));
    const r = new ControlReader();
    r.push(encodeServerError(202, 98), 0, 9);
    expect(r.takeState()).toBe(IperfState.SERVER_ERROR);
    expect([r.takeInt32(), r.takeInt32(), r.takeInt32()]).toEqual([202, 98, null]);
  });

  it("a JSON message is its UTF-8 length (4 bytes, big-endian) then the text, without a NUL", () => {
    const m = encodeJson({ a: "é" });
    // {"a":"é"} is 10 bytes in UTF-8 (é is two).
    expect([...m.subarray(0, 4)]).toEqual([0, 0, 0, 10]);
    expect(new TextDecoder().decode(m.subarray(4))).toBe('{"a":"é"}');
  });

  it("takeJson waits for the whole message, however the bytes arrive", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 50 }), (value, cuts) => {
        const msg = encodeJson(value);
        const stream = new Uint8Array(msg.length + 1);
        stream.set(msg);
        stream[msg.length] = IperfState.TEST_START;
        const r = new ControlReader();
        let offset = 0;
        let got: unknown = undefined;
        let done = false;
        for (let i = 0; offset < stream.length; i++) {
          const n = Math.min(cuts[i % cuts.length] ?? 1, stream.length - offset);
          r.push(stream, offset, n);
          offset += n;
          if (!done) {
            const t = r.takeJson();
            if (t.kind === "ok") {
              got = t.value;
              done = true;
            } else expect(t.kind).toBe("incomplete");
          }
        }
        expect(done).toBe(true);
        expect(got).toEqual(JSON.parse(JSON.stringify(value)));
        expect(r.takeState()).toBe(IperfState.TEST_START);
      }),
    );
  });

  it("a message beyond the bound, or one that is not JSON, is refused; the buffer never grows past the bound", () => {
    const r = new ControlReader(100);
    r.push(bytes(0, 0, 0, 101), 0, 4);
    expect(r.takeJson()).toEqual({ kind: "bad", reason: "a JSON message of 101 bytes (the limit is 100)" });
    const r2 = new ControlReader(100);
    const junk = new TextEncoder().encode("{nope");
    r2.push(bytes(0, 0, 0, junk.length), 0, 4);
    r2.push(junk, 0, junk.length);
    expect(r2.takeJson().kind).toBe("bad");
    const r3 = new ControlReader(100);
    expect(r3.push(new Uint8Array(108), 0, 108)).toBe(true);
    expect(r3.push(new Uint8Array(1), 0, 1)).toBe(false);
    expect(r3.available).toBe(108);
  });

  it("the reader keeps bytes in order across compaction and growth", () => {
    const r = new ControlReader();
    const all: number[] = [];
    let expected = 0;
    for (let round = 0; round < 200; round++) {
      const chunk = Uint8Array.from({ length: 3000 }, (_, i) => (round * 3000 + i) & 0xff);
      r.push(chunk, 0, chunk.length);
      all.push(...chunk);
      const take = r.takeBytes(2500 + (round % 3) * 400);
      if (take === null) continue;
      for (const b of take) expect(b).toBe(all[expected++]);
    }
  });

  it("a cookie is 36 characters of iperf3's base32 alphabet and a NUL, compared up to the NUL", () => {
    const c = makeCookie(new Prng(5));
    expect(c).toHaveLength(COOKIE_BYTES);
    expect(c[36]).toBe(0);
    expect(cookieText(c)).toMatch(/^[a-z2-7]{36}$/);
    const same = new Uint8Array(c);
    expect(cookiesEqual(c, same)).toBe(true);
    same[3] = same[3] === 0x61 ? 0x62 : 0x61;
    expect(cookiesEqual(c, same)).toBe(false);
  });

  it("the UDP handshake words are written little-endian: Linux's iperf3 3.12 sent 39 38 37 36 and we answer 36 37 38 39", () => {
    const hello = new Uint8Array(4);
    new DataView(hello.buffer).setUint32(0, UDP_CONNECT_MSG, true);
    expect(hello).toEqual(bytes(0x39, 0x38, 0x37, 0x36));
    const reply = new Uint8Array(4);
    new DataView(reply.buffer).setUint32(0, UDP_CONNECT_REPLY, true);
    expect(reply).toEqual(bytes(0x36, 0x37, 0x38, 0x39));
  });

  it("the UDP payload header is sec, usec and the counter, big-endian; 64-bit counters take 8 bytes", () => {
    const buf = new Uint8Array(20).fill(0xa5);
    const view = new DataView(buf.buffer);
    writeUdpPayloadHeader(view, 0, 1_796_231_554_123_456, 0x01020304, false);
    // sec 1796231554 = 0x6b10_5182, usec 123456 = 0x0001_e240, counter.
    expect([...buf.subarray(0, 13)]).toEqual([0x6b, 0x10, 0x51, 0x82, 0x00, 0x01, 0xe2, 0x40, 1, 2, 3, 4, 0xa5]);
    expect(udpPayloadSentMicros(view, 0)).toBe(1_796_231_554_123_456);
    expect(udpPayloadCounter(view, 0, false)).toBe(0x01020304);
    writeUdpPayloadHeader(view, 0, 5_000_001, 2 ** 32 + 7, true);
    expect([...buf.subarray(8, 17)]).toEqual([0, 0, 0, 1, 0, 0, 0, 7, 0xa5]);
    expect(udpPayloadCounter(view, 0, true)).toBe(2 ** 32 + 7);
    expect(udpPayloadSentMicros(view, 0)).toBe(5_000_001);
  });
});

describe("iperf3 parameters", () => {
  it("reads what iperf3 3.12 sent for -u -b 10M -t 1", () => {
    const sent = { udp: true, omit: 0, time: 1, num: 0, blockcount: 0, parallel: 1, len: 1448, bandwidth: 10000000, pacing_timer: 1000, client_version: "3.12" };
    const p = parseParams(sent);
    expect(p).toEqual({ ...DEFAULT_PARAMS, protocol: "udp", timeS: 1, blockBytes: 1448, rateBitsPerSec: 10_000_000 });
  });

  it("flags are present-or-absent, as iperf3 reads them", () => {
    const p = parseParams({ tcp: true, time: 2, parallel: 4, reverse: true, nodelay: true, len: 1000, get_server_output: 1, congestion: "cubic", title: "t" }) as TestParams;
    expect(p).toMatchObject({ protocol: "tcp", parallel: 4, reverse: true, noDelay: true, getServerOutput: true, congestion: "cubic", title: "t", blockBytes: 1000 });
  });

  it("parseParams(paramsToJson(p)) is p", () => {
    const p: TestParams = { ...DEFAULT_PARAMS, protocol: "udp", timeS: 3, parallel: 2, bidirectional: true, blockBytes: 1200, rateBitsPerSec: 5e6, udpCounters64: true, omitS: 1, windowBytes: 65536 };
    expect(parseParams(paramsToJson(p))).toEqual(p);
    const q: TestParams = { ...DEFAULT_PARAMS, timeS: 0, bytes: 1 << 20, reverse: true, noDelay: true };
    expect(parseParams(paramsToJson(q))).toEqual(q);
  });

  it("iperf3's limits and wrong types are refused with iperf3's error numbers", () => {
    const refusal = (j: unknown): number | null => {
      const p = parseParams(j);
      return isParamsError(p) ? p.iperfErrno : null;
    };
    expect(refusal({ tcp: true, parallel: 129 })).toBe(6);
    expect(refusal({ tcp: true, parallel: 0 })).toBe(6);
    expect(refusal({ tcp: true, time: 86_401 })).toBe(5);
    expect(refusal({ tcp: true, len: 1024 * 1024 + 1 })).toBe(7);
    expect(refusal({ udp: true, len: 65_508 })).toBe(20);
    expect(refusal({ udp: true, len: 11 })).toBe(20);
    expect(refusal({ sctp: true })).toBe(13);
    expect(refusal({ tcp: true, time: "10" })).toBe(114);
    expect(refusal({ tcp: true, time: -1 })).toBe(114);
    expect(refusal([1, 2])).toBe(114);
    expect(refusal({ tcp: true, parallel: 128, len: 1024 * 1024 })).toBeNull();
  });
});

describe("iperf3 results", () => {
  it("reads the results iperf3 3.12 sent (its -1 retransmits as an unsigned 64-bit number)", () => {
    const sent = {
      cpu_util_total: 10.739439983796446,
      cpu_util_user: 1.157847067500793,
      cpu_util_system: 9.58149737647657,
      sender_has_retransmits: 0,
      streams: [{ id: 1, bytes: 1249624, retransmits: 18446744073709551615, jitter: 0, errors: 0, packets: 863, start_time: 0, end_time: 1.000131 }],
    };
    const r = parseResults(sent);
    expect(r).toMatchObject({ cpuUtilTotal: 10.739439983796446, senderHasRetransmits: 0, congestionUsed: null, serverOutputText: null });
    expect(typeof r === "string" ? [] : r.streams).toEqual([{ id: 1, bytes: 1249624, retransmits: 18446744073709551615, jitterS: 0, errors: 0, packets: 863, startTimeS: 0, endTimeS: 1.000131 }]);
  });

  it("parseResults(resultsToJson(r)) is r; a missing required field is refused", () => {
    const r = {
      cpuUtilTotal: 1,
      cpuUtilUser: 0.5,
      cpuUtilSystem: 0.5,
      senderHasRetransmits: 1,
      congestionUsed: "newreno",
      streams: [{ id: 3, bytes: 10, retransmits: 2, jitterS: 0.001, errors: 1, packets: 5, startTimeS: 0, endTimeS: 2 }],
      serverOutputText: "text\n",
    };
    expect(parseResults(resultsToJson(r))).toEqual(r);
    const j = resultsToJson(r);
    delete j["sender_has_retransmits"];
    expect(parseResults(j)).toMatch(/sender_has_retransmits/);
    const k = resultsToJson(r);
    delete (k["streams"] as Record<string, unknown>[])[0]?.["packets"];
    expect(parseResults(k)).toMatch(/required number/);
    // start_time and end_time are optional (servers before iperf3 3.2).
    const l = resultsToJson(r);
    delete (l["streams"] as Record<string, unknown>[])[0]?.["end_time"];
    expect(parseResults(l)).not.toBeTypeOf("string");
  });

  it("UDP accounting: a gap counts as lost, a late arrival is out of order and takes one back", () => {
    const s = new UdpReceiveStats();
    for (const counter of [1, 2, 4, 5, 3, 8]) s.onDatagram(counter, 100, counter * 1000, counter * 1000 + 50);
    expect({ highest: s.highestCounter, lost: s.lost, outOfOrder: s.outOfOrder, datagrams: s.datagrams, bytes: s.bytes }).toEqual({ highest: 8, lost: 2, outOfOrder: 1, datagrams: 6, bytes: 600 });
    // Constant transit time: no jitter.
    expect(s.jitterS).toBe(0);
  });

  it("jitter follows RFC 3550 §6.4.1: J += (|D| - J) / 16 over transit differences", () => {
    const s = new UdpReceiveStats();
    // Transit 1 ms, then 3 ms, then 1 ms: D = 2 ms twice.
    s.onDatagram(1, 10, 0, 1000);
    s.onDatagram(2, 10, 10_000, 13_000);
    expect(s.jitterS).toBeCloseTo(0.002 / 16, 12);
    s.onDatagram(3, 10, 20_000, 21_000);
    expect(s.jitterS).toBeCloseTo(0.002 / 16 + (0.002 - 0.002 / 16) / 16, 12);
    s.markOmitEnd();
    expect(s.jitterS).toBe(0);
    expect(s.bytesAfterOmit).toBe(0);
  });
});

describe("iperf3 units", () => {
  it("bytes in binary units and rates in decimal ones, three significant digits", () => {
    expect(formatBytes(512)).toBe("512 Bytes");
    expect(formatBytes(1.5 * 1024 * 1024)).toBe("1.50 MBytes");
    expect(formatBytes(70.8 * 1024 * 1024)).toBe("70.8 MBytes");
    expect(formatBytes(168 * 1024 * 1024)).toBe("168 MBytes");
    expect(formatBitrate(941e6)).toBe("941 Mbits/sec");
    expect(formatBitrate(4.37e9)).toBe("4.37 Gbits/sec");
    expect(formatBitrate(0)).toBe("0.00 bits/sec");
  });

  it("option amounts: K/M/G rates are powers of 1000, sizes powers of 1024", () => {
    expect(parseAmount("100M", "rate")).toBe(100_000_000);
    expect(parseAmount("1.5G", "rate")).toBe(1_500_000_000);
    expect(parseAmount("128K", "size")).toBe(131_072);
    expect(parseAmount("1m", "size")).toBe(1_048_576);
    expect(parseAmount("42", "size")).toBe(42);
    for (const bad of ["", "M", "1X", "-1", "1e6"]) expect(parseAmount(bad, "rate")).toBeNull();
  });
});
