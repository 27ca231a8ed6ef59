// Scenarios: TCP over a link with offloads (link/offload; a TAP with the virtio-net header). Input: a GRO
// super-frame is ACKed as the segments it stands for (RFC 5681 §4.2), a partial (NEEDS_CSUM) or device-
// verified (DATA_VALID) checksum is not checked again, anything else still is. Output: new data leaves as
// super-segments of whole MSS-sized pieces (gso TCPV4, gso_size = MSS) with the checksum left to the device,
// and what Nagle and the windows allow is exactly what per-segment output would send. Both ISN pairs.

import { describe, expect, it } from "vitest";
import { ALL_OFFLOADS, NO_OFFLOADS } from "../../../src/link/offload.js";
import { ISN_PAIRS, pattern, scriptFixture } from "../../helpers/tcpScript.js";

const script = scriptFixture();
const MSS = 1460;

describe.each(ISN_PAIRS)("offload input ($name)", (isns) => {
  it("RFC 5681 §4.2: a super-frame of 4 segments is ACKed at once, as 4 segments would be", () => {
    const s = script({ isns, offloads: ALL_OFFLOADS });
    s.established();
    s.inject(200, { flags: "P.", seq: 1, ack: 1, data: pattern(4 * MSS), offload: { gsoSize: MSS, csum: "partial" } });
    s.expectSent(200, { flags: ".", seq: 1, ack: 1 + 4 * MSS });
    expect(Array.from(s.read())).toEqual(Array.from(pattern(4 * MSS)));
    expect(s.stack.tcp.stats.rxGroSegments).toBe(1);
  });

  it("RFC 9293 §3.8.6.3: a super-frame no longer than one segment is one segment, and its ACK is delayed", () => {
    const s = script({ isns, offloads: ALL_OFFLOADS });
    s.established();
    s.inject(200, { flags: "P.", seq: 1, ack: 1, data: 1000, offload: { gsoSize: MSS, csum: "partial" } });
    s.expectNothing(239);
    s.expectSent(240, { flags: ".", ack: 1001 });
    expect(s.stack.tcp.stats.rxGroSegments).toBe(0);
  });

  it("virtio 1.x §5.1.6.2: a NEEDS_CSUM segment's field holds only the pseudo-header sum and is not verified", () => {
    const s = script({ isns, offloads: ALL_OFFLOADS });
    s.established();
    s.inject(200, { flags: "P.", seq: 1, ack: 1, data: pattern(100), offload: { csum: "partial" } });
    expect(Array.from(s.read())).toEqual(Array.from(pattern(100)));
    expect(s.stack.tcp.stats.dropBadChecksum).toBe(0);
  });

  it("virtio 1.x §5.1.6.2: DATA_VALID vouches for the checksum; without it a wrong one is dropped (RFC 9293 §3.1)", () => {
    const s = script({ isns, offloads: ALL_OFFLOADS });
    s.established();
    s.inject(200, { flags: "P.", seq: 1, ack: 1, data: pattern(100), offload: { corruptChecksum: true } });
    expect(s.stack.tcp.stats.dropBadChecksum).toBe(1);
    expect(s.read().length).toBe(0);
    s.inject(210, { flags: "P.", seq: 1, ack: 1, data: pattern(100), offload: { csum: "valid", corruptChecksum: true } });
    expect(Array.from(s.read())).toEqual(Array.from(pattern(100)));
    expect(s.stack.tcp.stats.dropBadChecksum).toBe(1);
  });
});

describe.each(ISN_PAIRS)("offload output ($name)", (isns) => {
  it("RFC 6928 with TSO: the initial window of 10 segments leaves as one super-segment of 10 × MSS", () => {
    const s = script({ isns, offloads: ALL_OFFLOADS });
    s.established();
    s.write(12 * MSS);
    const seg = s.expectSent(100, { flags: ".", seq: 1, len: 10 * MSS });
    expect([seg.gsoSize, seg.csum]).toEqual([MSS, "partial"]);
    s.expectNothing(150);
    // One MSS acknowledged: cwnd + 1 MSS, so two more segments, together one super-segment.
    s.inject(200, { flags: ".", seq: 1, ack: 1 + MSS });
    const next = s.expectSent(200, { flags: "P.", seq: 1 + 10 * MSS, len: 2 * MSS });
    expect(next.gsoSize).toBe(MSS);
    expect(s.stack.tcp.stats.txTsoSegments).toBe(2);
  });

  it("RFC 9293 §3.7.4 with TSO: full segments go in one super-segment, the sub-MSS tail waits for the ACK", () => {
    const s = script({ isns, offloads: ALL_OFFLOADS });
    s.established();
    s.write(pattern(3 * MSS + 200));
    s.expectSent(100, { flags: ".", seq: 1, len: 3 * MSS, data: pattern(3 * MSS) });
    s.expectNothing(150);
    s.inject(150, { flags: ".", seq: 1, ack: 1 + 3 * MSS });
    const tail = s.expectSent(150, { flags: "P.", seq: 1 + 3 * MSS, len: 200, data: pattern(200, 3 * MSS) });
    // A single segment: no GSO, but the checksum is still the device's.
    expect([tail.gsoSize, tail.csum]).toEqual([0, "partial"]);
  });

  it("RFC 9293 §3.7.4 with TSO and TCP_NODELAY: the tail rides in the super-segment", () => {
    const s = script({ isns, offloads: ALL_OFFLOADS });
    s.established({ pcb: { noDelay: true } });
    s.write(3 * MSS + 200);
    const seg = s.expectSent(100, { flags: "P.", seq: 1, len: 3 * MSS + 200 });
    expect(seg.gsoSize).toBe(MSS);
  });

  it("RFC 9293 §3.8.6.2.1 with TSO: a super-segment never passes the peer's window, and is cut at whole segments", () => {
    const s = script({ isns, offloads: ALL_OFFLOADS });
    s.established({ win: 5000 });
    s.inject(100, { flags: ".", seq: 1, ack: 1, win: 5000 });
    s.write(20_000);
    // 5000 bytes of window: three whole segments (4380); the 620 left would be a window-limited fragment.
    s.expectSent(100, { flags: ".", seq: 1, len: 3 * MSS });
    s.expectNothing(150);
  });

  it("RFC 2018 §4 with TSO: SACK blocks shrink the segment size, and every segment of the super-segment carries them", () => {
    const s = script({ isns, offloads: ALL_OFFLOADS });
    s.established({ peer: { mss: MSS, sackOk: true } });
    // Out-of-order data from the peer: our ACKs now carry one SACK block (12 bytes with its NOPs).
    s.inject(200, { flags: "P.", seq: 1001, ack: 1, data: 500 });
    s.expectSent(200, { flags: ".", ack: 1, options: { sack: [[1001, 1501]] } });
    s.write(4 * (MSS - 12));
    const seg = s.expectSent(200, { flags: "P.", seq: 1, len: 4 * (MSS - 12), options: { sack: [[1001, 1501]] } });
    expect(seg.gsoSize).toBe(MSS - 12);
  });

  it("retransmissions after a timeout go one segment at a time, then slow start sends super-segments again", () => {
    const s = script({ isns, offloads: ALL_OFFLOADS });
    s.established();
    s.write(4 * MSS);
    s.expectSent(100, { flags: "P.", seq: 1, len: 4 * MSS });
    // RTO 300 ms (handshake RTT 100 ms): cwnd drops to one segment.
    const rtx = s.expectSent(400, { flags: ".", seq: 1, len: MSS });
    expect(rtx.gsoSize).toBe(0);
    s.inject(450, { flags: ".", seq: 1, ack: 1 + MSS });
    // Slow start: cwnd 2 segments, sent together (the third waits).
    const more = s.expectSent(450, { flags: ".", seq: 1 + MSS, len: 2 * MSS });
    expect(more.gsoSize).toBe(MSS);
  });

  it("without offloads the same write leaves as MSS-sized segments with full checksums", () => {
    const s = script({ isns, offloads: NO_OFFLOADS });
    s.established();
    s.write(3 * MSS);
    for (let i = 0; i < 3; i++) {
      const seg = s.expectSent(100, { flags: i === 2 ? "P." : ".", seq: 1 + i * MSS, len: MSS });
      expect([seg.gsoSize, seg.csum]).toEqual([0, "full"]);
    }
    expect(s.stack.tcp.stats.txTsoSegments).toBe(0);
  });
});
