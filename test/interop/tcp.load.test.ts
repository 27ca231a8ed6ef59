// The board's listen path under load from the Linux kernel: 1 000 python clients in a namespace this file
// creates connect at once (non-blocking connects, no pause between them) to the board's TCP echo service and
// each echoes 10 KiB. Every one must come back intact: a handshake completing while the accept queue is full
// is dropped and completed by a retransmission (as Linux with tcp_abort_on_overflow = 0), never reset, and
// the services accept right after each completing segment. A second test makes the queue overflow on
// purpose (a listener that accepts only every 20 ms) and checks that the kernel's retransmissions complete
// every dropped handshake. Traffic stays inside 10.66.31.0/24.

import { describe, expect, it } from "vitest";
import { canRunTapTests } from "../helpers/env.js";
import { useTestBoard, waitFor } from "../helpers/board.js";
import { PYTHON, runPeer } from "../helpers/tcpPeer.js";
import { TcpState } from "../../src/tcp/state.js";
import type { TcpPcb } from "../../src/tcp/pcb.js";

const run = canRunTapTests("tcp.load.test.ts", [PYTHON]);

describe.runIf(run)("TCP load against the board's echo service", () => {
  const board = useTestBoard("wtl", "10.66.31");

  it("1 000 concurrent kernel clients each echo 10 KiB, all intact, none reset, within 60 s", async () => {
    const b = board();
    const tcp = b.board.stack.tcp;
    const before = { ...tcp.stats };
    const count = 1000;
    const r = await runPeer<{ intact: number; errors: Record<string, number>; bad: unknown[]; seconds: number }>(b.ns, "swarm", {
      host: b.boardIp,
      port: 7,
      count,
      send: 10 * 1024,
      seed: 11_000,
      timeoutS: 60,
    });
    const grew = (name: keyof typeof before): number => tcp.stats[name] - before[name];
    console.log(
      `${count} concurrent × 10 KiB echo: ${r.intact} intact in ${r.seconds.toFixed(2)} s; ` +
        `accept-queue drops ${grew("dropAcceptQueueFull")}, SYNs dropped on a full queue ${grew("listenOverflows")}, ` +
        `cookies ${grew("synCookiesSent")} (later segments dropped ${grew("dropAckAfterCookies")}), PCB limit ${grew("pcbLimit")}, ` +
        `retransmits ${grew("txRetransmits")}`,
    );
    expect(r.errors).toEqual({});
    expect(r.intact).toBe(count);
    expect(r.seconds).toBeLessThanOrEqual(60);
    expect(grew("established")).toBe(count);
    // A reset would have ended a connection the client believed in; none was sent.
    expect(grew("txResets")).toBe(0);
    // The clients closed first: the board walks LAST-ACK to CLOSED and keeps nothing.
    await waitFor(() => tcp.allPcbs().every((p) => p.state === TcpState.TIME_WAIT), 10_000, "board PCBs to close");
    expect(tcp.allPcbs().length).toBe(0);
  }, 90_000);

  it("a slow acceptor's full accept queue drops final ACKs; the kernel's retransmissions complete all 50 connections", async () => {
    const b = board();
    const tcp = b.board.stack.tcp;
    const before = { ...tcp.stats };
    const scratch = new Uint8Array(64 * 1024);
    const echo = (pcb: TcpPcb): void => {
      const pump = (): void => {
        for (;;) {
          const n = Math.min(pcb.sendRing.free, pcb.recvRing.length, scratch.length);
          if (n <= 0) break;
          tcp.read(pcb, scratch, 0, n);
          tcp.write(pcb, scratch, 0, n);
        }
        if (pcb.finReceived && pcb.recvRing.length === 0) tcp.close(pcb);
      };
      pcb.events = { readable: pump, writable: pump, error: () => undefined };
      pump();
    };
    // Backlog 8, and `acceptable` ignored: the queue is drained only by a 20 ms timer. The 50 handshakes
    // complete at once, so most final ACKs meet a full queue; the clients' retransmissions (and our SYN-ACK
    // retransmissions, which draw ACKs) come back in bursts as synchronised as the first, 8 of each fitting,
    // so completing all of them takes a few rounds of back-off (as on Linux with a short backlog).
    const count = 50;
    const listener = tcp.listen(0, 5007, 8, {});
    if (typeof listener === "number") throw new Error(`listen failed: ${listener}`);
    const timer = setInterval(() => {
      for (let pcb = tcp.accept(listener); pcb !== null; pcb = tcp.accept(listener)) echo(pcb);
    }, 20);
    try {
      const r = await runPeer<{ intact: number; errors: Record<string, number>; seconds: number }>(b.ns, "swarm", {
        host: b.boardIp,
        port: 5007,
        count,
        send: 1024,
        seed: 12_000,
        timeoutS: 60,
      });
      const grew = (name: keyof typeof before): number => tcp.stats[name] - before[name];
      console.log(
        `${count} clients, slow acceptor (backlog 8, accepts every 20 ms): ${r.intact} intact in ${r.seconds.toFixed(2)} s; ` +
          `final ACKs dropped on a full queue ${grew("dropAcceptQueueFull")}, SYNs dropped ${grew("listenOverflows")}, cookies ${grew("synCookiesSent")}, resets ${grew("txResets")}`,
      );
      expect(r.errors).toEqual({});
      expect(r.intact).toBe(count);
      expect(grew("dropAcceptQueueFull")).toBeGreaterThan(0);
      expect(grew("txResets")).toBe(0);
    } finally {
      clearInterval(timer);
      tcp.closeListener(listener);
    }
    await waitFor(() => tcp.allPcbs().every((p) => p.state === TcpState.TIME_WAIT), 10_000, "board PCBs to close");
    expect(tcp.allPcbs().length).toBe(0);
  }, 90_000);
});
