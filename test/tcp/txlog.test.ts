// The send log behind RACK-TLP (tcp/txlog): records per transmitted segment, cut at retransmission and SACK
// edges, dropped by the cumulative ACK, across the 2^32 wrap and past its initial capacity.

import { describe, expect, it } from "vitest";
import { TxFlag, TxLog } from "../../src/tcp/txlog.js";
import { seqAdd, toSeq, type Seq } from "../../src/tcp/seq.js";

function records(log: TxLog, base: Seq): [number, number, number, number][] {
  const out: [number, number, number, number][] = [];
  for (let i = 0; i < log.length; i++) {
    out.push([(log.start(i) - base) >>> 0, (log.end(i) - base) >>> 0, log.time(i), log.flags(i)]);
  }
  return out;
}

describe.each([0, 0xffffff00])("TxLog (base %d)", (b) => {
  const base = toSeq(b);
  const s = (n: number): Seq => seqAdd(base, n);

  it("records new data in pieces, a FIN with its data, and retransmissions in place with their time", () => {
    const log = new TxLog();
    log.onSend(s(0), s(3000), 1000, 1);
    log.onSend(s(3000), s(3501), 500, 2); // 500 bytes and the FIN
    expect(records(log, base)).toEqual([
      [0, 1000, 1, 0],
      [1000, 2000, 1, 0],
      [2000, 3000, 1, 0],
      [3000, 3501, 2, 0],
    ]);
    // A retransmission of part of a record cuts it.
    log.setFlags(1, TxFlag.LOST);
    log.onSend(s(1000), s(1600), 0, 5);
    expect(records(log, base).slice(1, 3)).toEqual([
      [1000, 1600, 5, TxFlag.RETRANS],
      [1600, 2000, 1, TxFlag.LOST],
    ]);
    expect(log.retransCount).toBe(1);
    log.dropBelow(s(1600));
    expect(log.retransCount).toBe(0);
  });

  it("splits for SACK edges, counts SACKed records, and forgets what the cumulative ACK covers", () => {
    const log = new TxLog();
    log.onSend(s(0), s(4000), 1000, 1);
    expect(log.split(log.indexOf(s(2500)), s(2500))).toBe(true);
    log.setFlags(3, TxFlag.SACKED);
    expect(log.sackedCount).toBe(1);
    expect(records(log, base)[3]).toEqual([2500, 3000, 1, TxFlag.SACKED]);
    log.dropBelow(s(2700));
    expect(records(log, base)).toEqual([
      [2700, 3000, 1, TxFlag.SACKED],
      [3000, 4000, 1, 0],
    ]);
    log.dropBelow(s(4000));
    expect(log.length).toBe(0);
    expect(log.sackedCount).toBe(0);
  });

  it("grows past its first arrays, and compacts as the ACK moves", () => {
    const log = new TxLog();
    for (let i = 0; i < 100; i++) log.onSend(s(i * 100), s(i * 100 + 100), 0, i);
    expect(log.length).toBe(100);
    log.dropBelow(s(9000));
    for (let i = 100; i < 150; i++) log.onSend(s(i * 100), s(i * 100 + 100), 0, i);
    expect(log.length).toBe(60);
    expect(records(log, base)[0]).toEqual([9000, 9100, 90, 0]);
    expect(records(log, base)[59]).toEqual([14900, 15000, 149, 0]);
  });

  it("gives grown arrays back only when empty", () => {
    const log = new TxLog();
    const first = log.capacity;
    for (let i = 0; i < 100; i++) log.onSend(s(i * 100), s(i * 100 + 100), 0, i);
    expect(log.capacity).toBeGreaterThan(first);
    log.shrink();
    expect(log.length).toBe(100); // records held: nothing given back
    log.dropBelow(s(10000));
    expect(log.length).toBe(0);
    log.shrink();
    expect(log.capacity).toBe(first);
    log.onSend(s(10000), s(10100), 0, 200);
    expect(records(log, base)[0]).toEqual([10000, 10100, 200, 0]);
  });
});
