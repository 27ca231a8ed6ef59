// The PCB API's events (docs/architecture.md "The PCB API and its events"), seen by
// an application on each side of a connection between two stacks.

import { afterEach, describe, expect, it } from "vitest";
import { A_IP, twoStacks, type TwoStacks } from "../helpers/twoStacks.js";
import type { TcpPcb } from "../../src/tcp/pcb.js";

let net: TwoStacks | null = null;

afterEach(() => {
  net?.stop();
  if (net !== null) expect(net.scheduler.armedLabels()).toEqual([]);
  net = null;
});

describe("TCP PCB events", () => {
  it("fires accept, connected, readable, writable and peer-closed in order", () => {
    net = twoStacks({ latencyMs: 1 });
    const seen: string[] = [];
    const a = net.a.tcp;
    const b = net.b.tcp;
    let server: TcpPcb | null = null;
    const l = a.listen(0, 8000, 2, {
      acceptable: (listener) => {
        seen.push("server:accept");
        server = a.accept(listener);
        if (server === null) return;
        server.events = {
          readable: () => seen.push("server:readable"),
          peerClosed: () => seen.push("server:peerClosed"),
        };
        a.write(server, new TextEncoder().encode("hello"), 0, 5);
        a.shutdownWrite(server);
      },
    });
    expect(typeof l).not.toBe("number");
    const buf = new Uint8Array(16);
    let text = "";
    const client = b.connect(A_IP, 8000, {
      connected: () => seen.push("client:connected"),
      writable: () => seen.push("client:writable"),
      readable: (p) => {
        const n = b.read(p, buf, 0, buf.length);
        if (n > 0) text += new TextDecoder().decode(buf.subarray(0, n));
        seen.push(`client:readable(${n})`);
      },
      peerClosed: () => seen.push("client:peerClosed"),
    });
    expect(typeof client).not.toBe("number");
    net.scheduler.advance(100);
    expect(text).toBe("hello");
    expect(seen.slice(0, 3)).toEqual(["client:connected", "client:writable", "server:accept"]);
    // The data and the FIN arrive together: one readable (with the data), then peer-closed, exactly once.
    expect(seen.filter((s) => s === "client:peerClosed")).toHaveLength(1);
    expect(seen.indexOf("client:readable(5)")).toBeLessThan(seen.indexOf("client:peerClosed"));
    b.close(client as TcpPcb);
    net.scheduler.advance(100);
    expect(seen).toContain("server:peerClosed");
    a.closeListener(l as Exclude<typeof l, number>);
    net.scheduler.advance(130_000);
    expect(a.allPcbs()).toEqual([]);
    expect(b.allPcbs()).toEqual([]);
  });
});
