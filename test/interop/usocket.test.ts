// The four first programs of docs/usocket.md on a real TAP, with the peer an ordinary Linux program (Debian's python in
// a namespace this file creates): the board's usocket TCP server and client, UDP server and client. Traffic
// stays inside 10.66.23.0/24 in that namespace.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canRunTapTests } from "../helpers/env.js";
import { runInNetns, startTestBoard, type TestBoard } from "../helpers/board.js";
import { text } from "../helpers/usocket.js";
import { AF_INET, SOCK_DGRAM, SOCK_STREAM, usocketFor, type Usocket } from "../../src/usocket/index.js";

const run = canRunTapTests("usocket.test.ts");
const PYTHON = "/usr/bin/python3";
const SUBNET = "10.66.23";

describe.runIf(run)("usocket's first programs against Linux peers", () => {
  let tb: TestBoard;
  let net: Usocket;

  beforeAll(() => {
    tb = startTestBoard("wus", SUBNET);
    net = usocketFor(tb.board.stack);
  });

  afterAll(() => {
    net.shutdown();
    tb.stop();
    expect(tb.board.scheduler.armedLabels()).toEqual([]);
  });

  it("1. TCP server: the board accepts a Linux client and sends it a line", async () => {
    const s = net.socket(AF_INET, SOCK_STREAM);
    s.bind(["0.0.0.0", 5000]);
    s.listen(5);
    const client = runInNetns(tb.ns, [
      PYTHON,
      "-c",
      `import socket; c = socket.create_connection(("${tb.boardIp}", 5000), timeout=5); print(c.recv(1024).decode(), end="")`,
    ]);
    const [conn, addr] = await s.accept();
    expect(addr[0]).toBe(tb.kernelIp);
    await conn.send("hello from the board\n");
    conn.close();
    const r = await client;
    expect(r.stdout).toBe("hello from the board\n");
    s.close();
  });

  it("2. TCP client: the board connects to a Linux server and prints what it receives", async () => {
    const server = runInNetns(tb.ns, [
      PYTHON,
      "-c",
      `import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("${tb.kernelIp}", 5001)); s.listen(1)
s.settimeout(5); print("listening", flush=True); c, _ = s.accept(); c.sendall(b"hello from linux"); c.close()`,
    ]);
    // The server may not be listening yet: a refused connect raises ECONNRESET (the board's errno), after
    // which that socket is done for — retry with a new one, as a board script would.
    let data: Uint8Array = new Uint8Array(0);
    const errors: string[] = [];
    for (let attempt = 0; attempt < 50 && data.length === 0; attempt++) {
      const s = net.socket();
      s.settimeout(5);
      try {
        await s.connect([tb.kernelIp, 5001]);
        data = await s.recv(1024);
      } catch (e) {
        errors.push(String(e));
        await new Promise((r) => setTimeout(r, 100));
      } finally {
        s.close();
      }
    }
    expect(errors.every((e) => e.includes("ECONNRESET")), errors.join("; ")).toBe(true);
    expect(text(data)).toBe("hello from linux");
    expect((await server).stdout).toContain("listening");
  });

  it("3. UDP server: recvfrom, print, reply with sendto('hello, i am server', address)", async () => {
    const s = net.socket(AF_INET, SOCK_DGRAM);
    s.bind(["0.0.0.0", 5002]);
    const client = runInNetns(tb.ns, [
      PYTHON,
      "-c",
      `import socket; c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); c.settimeout(5)
c.sendto(b"hello, i am client", ("${tb.boardIp}", 5002)); print(c.recvfrom(1024)[0].decode(), end="")`,
    ]);
    const [data, address] = await s.recvfrom(1024);
    expect(text(data)).toBe("hello, i am client");
    await s.sendto("hello, i am server", address);
    expect((await client).stdout).toBe("hello, i am server");
    s.close();
  });

  it("4. UDP client: sendto a Linux UDP server and recvfrom its answer", async () => {
    const server = runInNetns(tb.ns, [
      PYTHON,
      "-c",
      `import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("${tb.kernelIp}", 5003)); s.settimeout(5)
print("ready", flush=True); d, a = s.recvfrom(1024); s.sendto(b"hello, i am server", a)`,
    ]);
    const s = net.socket(AF_INET, SOCK_DGRAM);
    s.settimeout(0.5);
    let reply = "";
    // The server may not be bound yet; the client loop of program 4 (docs/usocket.md "The four programs") simply sends again.
    for (let attempt = 0; attempt < 20 && reply === ""; attempt++) {
      await s.sendto("hello, i am client", [tb.kernelIp, 5003]);
      try {
        const [data, from] = await s.recvfrom(1024);
        expect(from).toEqual([tb.kernelIp, 5003]);
        reply = text(data);
      } catch {
        // timed out: send again
      }
    }
    expect(reply).toBe("hello, i am server");
    s.close();
    await server;
  });
});
