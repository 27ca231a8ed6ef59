// Two boards on one LAN (`--lan NAME`): each `walnut run` puts its TAP on the bridge NAME inside the
// namespace — the first creates the bridge (and here the namespace), the last removes both — so the four
// programs run board to board (examples/ unchanged, the server's address as their argument) while the
// kernel side on the bridge reaches both. Every wait is bounded.

import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { netnsExists } from "../../src/host/iproute.js";
import { canRunTapTests, uniqueName } from "../helpers/env.js";
import { removeNetns, runAsync, runInNetns, waitFor } from "../helpers/board.js";
import { ROOT, WALNUT } from "../helpers/walnutProcess.js";
import { Instance } from "./harness.js";

const tap = canRunTapTests("lan.test.ts", ["python3", "ping"]);
const EXAMPLES = join(ROOT, "examples");
const namespaces: string[] = [];
const instances: Instance[] = [];

function boardOn(ns: string, lan: string, ip: string, program: string, args: readonly string[] = []): Instance {
  const i = new Instance(`board ${ip}`, [process.execPath, WALNUT, "run", "--ip", `${ip}/24`, "--netns", ns, "--lan", lan, join(EXAMPLES, program), ...args], 60_000);
  instances.push(i);
  return i;
}

afterEach(async () => {
  for (const i of instances.splice(0)) i.kill();
  for (const ns of namespaces.splice(0)) removeNetns(ns);
});

describe.runIf(tap)("two boards on one --lan", () => {
  beforeAll(async () => {
    const r = await runAsync(["npx", "tsc", "-p", "tsconfig.build.json"], { timeoutMs: 90_000, cwd: ROOT });
    if (r.code !== 0) throw new Error(`build failed:\n${r.stdout}${r.stderr}`);
  }, 120_000);

  it("run the four programs board to board, both reachable from the kernel side; the last one out removes the bridge and namespace", async () => {
    const ns = uniqueName("wlan");
    namespaces.push(ns);
    const lan = "lab0";
    const tcpServer = boardOn(ns, lan, "10.73.1.66", "tcp_server.py");
    expect(await tcpServer.next()).toBe("TCP server on 10.73.1.66 port 5000");
    const udpServer = boardOn(ns, lan, "10.73.1.68", "udp_server.py");
    expect(await udpServer.next()).toBe("UDP server on 10.73.1.68 port 5000");
    // The kernel side, on the bridge, reaches both boards.
    for (const ip of ["10.73.1.66", "10.73.1.68"]) expect((await runInNetns(ns, ["ping", "-c", "1", "-W", "2", ip])).code).toBe(0);
    // Board to board, TCP: a third board is the client of the first.
    const tcpClient = boardOn(ns, lan, "10.73.1.67", "tcp_client.py", ["10.73.1.66"]);
    expect(await tcpServer.next()).toMatch(/^client 10\.73\.1\.67 \d+$/);
    tcpServer.send("hello from the other board");
    expect(await tcpClient.next()).toBe("hello from the other board");
    expect((await tcpClient.finish()).code).toBe(0);
    // UDP: a fourth board is the client of the second, three datagrams.
    const udpClient = boardOn(ns, lan, "10.73.1.69", "udp_client.py", ["10.73.1.68"]);
    const answers = await udpClient.nextLines(3, 20_000);
    expect(answers).toEqual(Array(3).fill("hello, i am server from 10.73.1.68 5000"));
    expect((await udpClient.finish(15_000)).code).toBe(0);
    expect(await udpServer.nextLines(3)).toEqual(Array(3).fill(expect.stringMatching(/^received b'hello, i am client' from 10\.73\.1\.69 \d+$/)));
    // The first board (which created the namespace) leaves first: the LAN stays up for the second.
    tcpServer.signal("SIGINT");
    expect((await tcpServer.finish()).code).toBe(0);
    expect(netnsExists(ns)).toBe(true);
    expect((await runInNetns(ns, ["ping", "-c", "1", "-W", "2", "10.73.1.68"])).code).toBe(0);
    udpServer.signal("SIGINT");
    expect((await udpServer.finish()).code).toBe(0);
    await waitFor(() => !netnsExists(ns), 5_000, "the last board to remove the namespace");
  });

  it("boards started at the same moment on one --lan each get a TAP name free in the namespace", async () => {
    const ns = uniqueName("wlan");
    namespaces.push(ns);
    const ips = ["10.73.2.66", "10.73.2.67", "10.73.2.68"];
    const boards = ips.map((ip) => boardOn(ns, "lab1", ip, "tcp_server.py"));
    for (const [i, b] of boards.entries()) expect(await b.next()).toBe(`TCP server on ${ips[i]} port 5000`);
    for (const ip of ips) expect((await runInNetns(ns, ["ping", "-c", "1", "-W", "2", ip])).code).toBe(0);
    for (const b of boards) b.signal("SIGINT");
    for (const b of boards) expect((await b.finish()).code).toBe(0);
  });
});
