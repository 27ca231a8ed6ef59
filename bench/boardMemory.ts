// The board's memory per idle connection (issue 9: "report RSS per connection"): the C client holds
// HOLD_CONNECTIONS idle connections to the board's echo service (bench/c/tcpclient.c hold), and the board
// process's RSS while they are up is compared with the RSS just before; the TCP layer's ring accounting
// (stores held by the connections' rings, bytes, not RSS) is read at the same moment. Run by bench/tcpRate.ts
// after the rate runs, on the same board, namespace and client.

import type { Board } from "../src/board/board.js";
import { netnsExecPrefix } from "../src/host/iproute.js";
import { startServer } from "./util.js";

export interface BoardMemory {
  /** Connections the board held while RSS was read (its live PCBs). */
  connections: number;
  rssBeforeBytes: number;
  rssHeldBytes: number;
  /** (rssHeld − rssBefore) / connections. */
  rssPerConnectionBytes: number;
  /** Ring stores held by all live connections at that moment, bytes. */
  ringStoreBytes: number;
}

/** How long the client holds its connections at most, and how long they sit idle before RSS is read. */
const HOLD_SECONDS = 30;
const SETTLE_MS = 1000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function measureBoardMemory(board: Board, client: string, ns: string, boardIp: string): Promise<BoardMemory> {
  await sleep(SETTLE_MS);
  const rssBeforeBytes = process.memoryUsage.rss();
  const holder = await startServer([...netnsExecPrefix(ns), client, "hold", boardIp, "7", String(HOLD_SECONDS)], "ready", HOLD_SECONDS * 1000);
  try {
    await sleep(SETTLE_MS);
    const rssHeldBytes = process.memoryUsage.rss();
    const rings = board.stack.tcp.ringMemory();
    return {
      connections: rings.pcbs,
      rssBeforeBytes,
      rssHeldBytes,
      rssPerConnectionBytes: rings.pcbs > 0 ? (rssHeldBytes - rssBeforeBytes) / rings.pcbs : NaN,
      ringStoreBytes: rings.storageBytes,
    };
  } finally {
    await holder.stop();
  }
}
