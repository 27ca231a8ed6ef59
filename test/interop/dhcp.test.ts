// DHCP against dnsmasq on a real TAP (RFC 2131): a Board takes a lease from dnsmasq running on the TAP's
// kernel side, the kernel pings the leased address, an explicit renew() goes RENEWING → BOUND and dnsmasq
// extends the lease, and stop() releases it. Then `walnut up --dhcp` end to end, its message when no server
// answers, `walnut up --dhcp --bridge br0` run inside a namespace that holds br0 and dnsmasq, and a board
// restarted with `--dhcp-lease FILE` getting its address back by INIT-REBOOT (dnsmasq's log, tshark). Every
// address, bridge and dnsmasq lives in namespaces this file creates (10.55.0.0/16); all are removed after.

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, existsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { canRunTapTests, uniqueName } from "../helpers/env.js";
import { interrupt, ROOT, spawnWalnut, WALNUT, waitForLine, type WalnutProcess } from "../helpers/walnutProcess.js";
import { parsePingSummary, removeNetns, runAsync, runInNetns, waitFor } from "../helpers/board.js";
import { Board } from "../../src/board/board.js";
import { formatIpv4, formatMac, parseIpv4 } from "../../src/core/addr.js";
import { createNetns, ipIn, linkExists, netnsExists } from "../../src/host/iproute.js";
import { parseUpOptions, UsageError } from "../../src/cli/args.js";

const NODE = process.execPath;

const run = canRunTapTests("dhcp.test.ts", ["dnsmasq", "ping"]);

const lines = (text: string): string[] => text.split("\n").filter((l) => l.length > 0);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** dnsmasq as the DHCP server on `iface` inside `ns`, serving `subnet`.50–.60/24 for 2 minutes (its minimum). */
interface Dnsmasq {
  leaseFile: string;
  /** The lease file's lines: "expiry mac ip hostname clientid". */
  leases(): string[][];
  output(): string;
  stop(): Promise<void>;
}

function startDnsmasq(ns: string, iface: string, subnet: string, dir: string): Dnsmasq {
  const leaseFile = join(dir, `${iface}.leases`);
  const child = spawn(
    "ip",
    [
      "netns",
      "exec",
      ns,
      "dnsmasq",
      "--no-daemon",
      "--conf-file=/dev/null",
      `--interface=${iface}`,
      "--bind-interfaces",
      `--dhcp-range=${subnet}.50,${subnet}.60,255.255.255.0,2m`,
      `--dhcp-option=3,${subnet}.1`,
      `--dhcp-option=6,${subnet}.1`,
      // DNS too, as the issue's set-up asks: the lease's DNS server (option 6) is this dnsmasq.
      "--port=53",
      "--no-resolv",
      "--no-hosts",
      "--except-interface=lo",
      `--host-record=printer.test,${subnet}.77`,
      `--dhcp-leasefile=${leaseFile}`,
      `--pid-file=${join(dir, `${iface}.pid`)}`,
      "--user=root",
      "--log-dhcp",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr.on("data", (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
  return {
    leaseFile,
    leases: () => (existsSync(leaseFile) ? lines(readFileSync(leaseFile, "utf8")).map((l) => l.split(" ")) : []),
    output: () => out,
    async stop(): Promise<void> {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timeout = sleep(3000).then(() => child.kill("SIGKILL"));
        await Promise.race([exited, timeout]);
        await exited;
      }
    },
  };
}

/** Waits until dnsmasq has bound its DHCP socket (its start-up line). */
async function dnsmasqReady(d: Dnsmasq): Promise<void> {
  await waitFor(() => /DHCP, sockets bound|DHCP, IP range/.test(d.output()), 5000, `dnsmasq to start:\n${d.output()}`);
}

function inRange(ip: string, subnet: string): boolean {
  const last = Number(ip.split(".")[3]);
  return ip.startsWith(`${subnet}.`) && last >= 50 && last <= 60;
}

describe("walnut up --dhcp / --bridge arguments", () => {
  const defaults = { netns: "walnut", tapName: "walnut%d" };

  it("no --ip with --host-ip means DHCP; the kernel side gets --host-ip", () => {
    const o = parseUpOptions(["--host-ip", "10.55.7.1/24"], defaults);
    expect(o).toMatchObject({ dhcp: true, ip: 0, gateway: 0, hostCidr: "10.55.7.1/24", netns: "walnut", bridge: null, dhcpWaitSeconds: 30 });
  });

  it("--dhcp --bridge keeps the TAP in the current namespace, unaddressed", () => {
    const o = parseUpOptions(["--dhcp", "--bridge", "br0", "--dhcp-wait", "5"], defaults);
    expect(o).toMatchObject({ dhcp: true, bridge: "br0", netns: null, hostCidr: null, dhcpWaitSeconds: 5 });
  });

  it("--dhcp-lease FILE is kept with DHCP; --mac is noted as given or not", () => {
    expect(parseUpOptions(["--dhcp", "--tap", "t0", "--dhcp-lease", "/var/lib/b.lease"], defaults)).toMatchObject({ dhcpLeaseFile: "/var/lib/b.lease", isMacGiven: false });
    expect(parseUpOptions(["--dhcp", "--tap", "t0", "--mac", "02:00:00:00:00:09"], defaults)).toMatchObject({ dhcpLeaseFile: null, isMacGiven: true });
  });

  it("--ip with --bridge: static address on the bridged TAP, no kernel-side address", () => {
    const o = parseUpOptions(["--ip", "192.168.1.77/24", "--gw", "192.168.1.1", "--bridge", "br0"], defaults);
    expect(o).toMatchObject({ dhcp: false, bridge: "br0", netns: null, hostCidr: null, gateway: parseIpv4("192.168.1.1") });
  });

  it.each([
    { argv: [], names: "--ip" },
    { argv: ["--dhcp"], names: "--host-ip" },
    { argv: ["--dhcp", "--ip", "10.0.0.2/24"], names: "--dhcp" },
    { argv: ["--dhcp", "--host-ip", "10.0.0.1/24", "--gw", "10.0.0.1"], names: "--gw" },
    { argv: ["--dhcp", "--bridge", "br0", "--netns", "x"], names: "--netns" },
    { argv: ["--dhcp", "--bridge", "br0", "--host-ip", "10.0.0.1/24"], names: "--host-ip" },
    { argv: ["--dhcp", "--bridge", "bad name!"], names: "--bridge" },
    { argv: ["--dhcp", "--host-ip", "10.0.0.1/24", "--dhcp-wait", "0"], names: "--dhcp-wait" },
    { argv: ["--dhcp", "--host-ip", "nope"], names: "--host-ip" },
    { argv: ["--ip", "10.0.0.2/24", "--dhcp-lease", "board.lease"], names: "--dhcp-lease" },
    { argv: ["--dhcp", "--host-ip", "10.0.0.1/24", "--dhcp-lease", "-"], names: "--dhcp-lease" },
  ])("walnut up $argv is a usage error naming $names", ({ argv, names }) => {
    expect(() => parseUpOptions(argv, defaults)).toThrow(UsageError);
    expect(() => parseUpOptions(argv, defaults)).toThrow(names);
  });
});

describe.runIf(run)("DHCP: a Board leases from dnsmasq on the TAP's kernel side", () => {
  const subnet = "10.55.0";
  const ns = uniqueName("wdhn");
  const tap = uniqueName("wdht");
  const mac = new Uint8Array([0x02, 0x57, 0x44, 0x48, Math.floor(Math.random() * 256), 0x01]);
  let dir = "";
  let board: Board | null = null;
  let dnsmasq: Dnsmasq | null = null;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "walnut-dhcp-"));
    // Our namespace: HostLink moves the TAP in and leaves the namespace for us to remove.
    createNetns(ns);
    board = Board.start({
      mac,
      ip: 0,
      netmask: 0,
      gateway: 0,
      mtu: 1500,
      tapName: tap,
      netns: ns,
      hostCidr: `${subnet}.1/24`,
      pcapPath: null,
      trace: null,
      faults: null,
      dhcp: true,
      // Fast retransmission and probing so the test does not wait out RFC timings.
      dhcpOptions: { baseRetransmitMs: 1000, probeWaitMs: 200, probeMinMs: 200, probeMaxMs: 400, announceWaitMs: 400 },
    });
    dnsmasq = startDnsmasq(ns, tap, subnet, dir);
    await dnsmasqReady(dnsmasq);
  });

  afterAll(async () => {
    const b = board;
    board = null;
    b?.stop();
    await dnsmasq?.stop();
    removeNetns(ns);
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
    // Quiescence (docs/architecture.md "Tests"): once stopped, the board has nothing armed.
    if (b !== null) expect(b.scheduler.armedLabels()).toEqual([]);
  });

  function theBoard(): Board {
    if (board === null) throw new Error("board did not start");
    return board;
  }

  it("obtains a lease in the range, with router, DNS server, mask and the 2-minute lease time", async () => {
    const b = theBoard();
    const lease = await b.waitForLease(20_000);
    expect(lease, dnsmasq?.output()).not.toBeNull();
    const ip = formatIpv4(lease!.ip);
    expect(inRange(ip, subnet)).toBe(true);
    expect(lease).toMatchObject({
      netmask: 0xffffff00,
      gateway: parseIpv4(`${subnet}.1`),
      dnsServers: [parseIpv4(`${subnet}.1`)],
      leaseSeconds: 120,
      renewalSeconds: 60,
      rebindingSeconds: 105,
      serverId: parseIpv4(`${subnet}.1`),
    });
    expect(b.dhcp!.state).toBe("BOUND");
    expect(b.stack.netif.ip).toBe(lease!.ip);
    expect(b.describe()).toContain(`ip ${ip}/24 (dhcp, lease 120 s) gw ${subnet}.1 dns ${subnet}.1`);
    // dnsmasq recorded it: our MAC, the address, our hostname, our client id (01 + MAC).
    await waitFor(() => dnsmasq!.leases().some((l) => l[1] === formatMac(mac)), 3000, "the lease in dnsmasq's lease file");
    const entry = dnsmasq!.leases().find((l) => l[1] === formatMac(mac))!;
    expect(entry.slice(2)).toEqual([ip, "walnut", `01:${formatMac(mac)}`]);
  });

  it("the kernel pings the leased address", async () => {
    const b = theBoard();
    const ip = formatIpv4(b.dhcp!.lease!.ip);
    const r = await runInNetns(ns, ["ping", "-c", "3", "-i", "0.2", "-W", "1", ip]);
    expect(parsePingSummary(r.stdout)).toEqual({ transmitted: 3, received: 3, lossPercent: 0 });
  });

  it("resolves a name dnsmasq serves through the DNS server the lease named, and fails cleanly on an unknown one", async () => {
    const b = theBoard();
    expect(b.stack.dns.servers.map(formatIpv4)).toEqual([`${subnet}.1`]);
    const ok = await b.stack.dns.resolve("printer.test");
    expect(ok).toEqual({ ok: true, addresses: [parseIpv4(`${subnet}.77`)], ttlSeconds: expect.any(Number) });
    const unknown = await b.stack.dns.resolve("nosuchhost.test");
    // dnsmasq without upstream servers refuses names it does not know: a prompt failure, not a timeout.
    expect(unknown.ok).toBe(false);
    if (!unknown.ok) expect(["NXDOMAIN", "REFUSED"]).toContain(unknown.error);
  });

  it("renew(): RENEWING → BOUND with a fresh lease, and dnsmasq extends it", async () => {
    const b = theBoard();
    const dhcp = b.dhcp!;
    const before = dhcp.lease!;
    const expiryBefore = Number(dnsmasq!.leases().find((l) => l[1] === formatMac(mac))![0]);
    // dnsmasq's expiry has one-second resolution.
    await sleep(1100);
    const renewalsBefore = dhcp.stats.renewals;
    dhcp.renew();
    expect(dhcp.state).toBe("RENEWING");
    await waitFor(() => dhcp.state === "BOUND", 5000, "BOUND after renew()");
    expect(dhcp.stats.renewals).toBe(renewalsBefore + 1);
    const after = dhcp.lease!;
    expect(after.ip).toBe(before.ip);
    expect(after.obtainedAtMs).toBeGreaterThan(before.obtainedAtMs + 1000);
    await waitFor(
      () => Number(dnsmasq!.leases().find((l) => l[1] === formatMac(mac))?.[0] ?? 0) > expiryBefore,
      3000,
      "dnsmasq to extend the lease",
    );
    expect(dnsmasq!.output()).toMatch(/DHCPACK\(\S+\) \S+ \S+ walnut/);
  });

  it("stopping sends DHCPRELEASE: dnsmasq drops the lease", async () => {
    const b = theBoard();
    const ip = formatIpv4(b.dhcp!.lease!.ip);
    board = null;
    // stop() alone sends the release too, but closes the TAP at once; dnsmasq, reading a moment later, drops a
    // message whose interface is gone. stopGracefully() keeps the TAP open briefly, as `walnut up` does.
    await b.stopGracefully();
    expect(b.dhcp!.state).toBe("STOPPED");
    await waitFor(() => !dnsmasq!.leases().some((l) => l[1] === formatMac(mac)), 3000, "dnsmasq to drop the lease");
    await waitFor(() => dnsmasq!.output().includes(`DHCPRELEASE(${tap}) ${ip} ${formatMac(mac)}`), 3000, "dnsmasq's DHCPRELEASE log line");
    expect(b.scheduler.armedLabels()).toEqual([]);
  });
});

describe.runIf(run)("walnut up --dhcp end to end", () => {
  const children: WalnutProcess["child"][] = [];

  /** Spawns `[prefix…] node bin/walnut.js up args…`. */
  function startUp(args: readonly string[], prefix: readonly string[] = []): WalnutProcess {
    const p = spawnWalnut(["up", ...args], prefix);
    children.push(p.child);
    return p;
  }
  const namespaces: string[] = [];
  const servers: Dnsmasq[] = [];
  let dir = "";

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "walnut-dhcp-cli-"));
    // The CLI under test is the current source (as test/cli does).
    const startedMs = Date.now();
    const r = await runAsync(["npx", "tsc", "-p", "tsconfig.build.json"], { timeoutMs: 60_000, cwd: ROOT });
    if (r.code !== 0 && r.code !== 2) throw new Error(`build failed:\n${r.stdout}${r.stderr}`);
    const main = join(ROOT, "dist", "src", "cli", "main.js");
    if (statSync(main).mtimeMs < startedMs - 1000) throw new Error(`${main} was not rebuilt`);
  });

  afterEach(async () => {
    for (const c of children.splice(0)) {
      if (c.exitCode === null && c.signalCode === null) {
        const gone = new Promise((r) => c.once("exit", r));
        c.kill("SIGKILL");
        await gone;
      }
    }
    for (const s of servers.splice(0)) await s.stop();
    for (const ns of namespaces.splice(0)) removeNetns(ns);
  });

  afterAll(() => {
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });




  /** The leased address and MAC from the start-up line. */
  function parseUpLine(line: string): { ip: string; mac: string } {
    const m = /board up: ip (\d+\.\d+\.\d+\.\d+)\/24 \(dhcp, lease 120 s\) .* mac ([0-9a-f:]{17}) /.exec(line);
    if (m === null) throw new Error(`unexpected start-up line: ${line}`);
    return { ip: m[1]!, mac: m[2]! };
  }

  it("walnut up --dhcp prints the leased address, gateway and DNS; the kernel pings it; SIGINT releases it", async () => {
    const subnet = "10.55.1";
    const ns = uniqueName("wdhcn");
    const tap = uniqueName("wdhct");
    namespaces.push(ns);
    createNetns(ns);
    const p = startUp(["--dhcp", "--netns", ns, "--host-ip", `${subnet}.1/24`, "--tap", tap]);
    await waitForLine(p, /asking for a DHCP lease \(up to 30 s\)/, 10_000);
    // The TAP exists (kernel side addressed) once walnut says so: now start the server on it.
    const d = startDnsmasq(ns, tap, subnet, dir);
    servers.push(d);
    await dnsmasqReady(d);
    const up = await waitForLine(p, /board up:/, 30_000);
    expect(up).toContain(`gw ${subnet}.1 dns ${subnet}.1`);
    expect(up).toContain(`tap ${tap} (netns ${ns}, kernel side ${subnet}.1/24)`);
    const { ip, mac } = parseUpLine(up);
    expect(inRange(ip, subnet)).toBe(true);
    const ping = await runInNetns(ns, ["ping", "-c", "3", "-i", "0.2", "-W", "1", ip]);
    expect(parsePingSummary(ping.stdout)).toEqual({ transmitted: 3, received: 3, lossPercent: 0 });
    expect(d.leases().some((l) => l[1] === mac && l[2] === ip)).toBe(true);

    const exit = await interrupt(p);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(p.stderr).toEqual([]);
    await waitFor(() => !d.leases().some((l) => l[1] === mac), 3000, "dnsmasq to drop the released lease");
    expect(linkExists(ns, tap)).toBe(false);
  });

  it("with no DHCP server, walnut up --dhcp says so in one line and removes what it created", async () => {
    const ns = uniqueName("wdhqn");
    const tap = uniqueName("wdhqt");
    namespaces.push(ns);
    const p = startUp(["--dhcp", "--netns", ns, "--host-ip", "10.55.3.1/24", "--tap", tap, "--dhcp-wait", "2"]);
    const exit = await Promise.race([p.exited, sleep(15_000).then(() => null)]);
    expect(exit).toEqual({ code: 1, signal: null });
    expect(p.stderr).toEqual([`walnut: no DHCP server answered on TAP ${tap} within 2 s: start one (e.g. dnsmasq) on the kernel side, or use --ip`]);
    expect(netnsExists(ns)).toBe(false);
    expect(linkExists(null, tap)).toBe(false);
  });

  it("walnut up --dhcp --bridge br0 (run inside a namespace holding br0 and dnsmasq) joins that LAN", async () => {
    const subnet = "10.55.2";
    const ns = uniqueName("wdhbn");
    const tap = uniqueName("wdhbt");
    namespaces.push(ns);
    createNetns(ns);
    // The "LAN": a bridge in our namespace with the server's address on it, and dnsmasq serving on it.
    ipIn(ns, ["link", "add", "br0", "type", "bridge"]);
    ipIn(ns, ["addr", "add", `${subnet}.1/24`, "dev", "br0"]);
    ipIn(ns, ["link", "set", "br0", "up"]);
    const d = startDnsmasq(ns, "br0", subnet, dir);
    servers.push(d);
    await dnsmasqReady(d);

    const p = startUp(["--dhcp", "--bridge", "br0", "--tap", tap], ["ip", "netns", "exec", ns]);
    const up = await waitForLine(p, /board up:/, 30_000);
    expect(up).toContain("(current netns, bridge br0)");
    const { ip, mac } = parseUpLine(up);
    expect(inRange(ip, subnet)).toBe(true);
    // The TAP is a port of br0, in the namespace walnut ran in, with no address of its own.
    const link = await runAsync(["ip", "-n", ns, "-d", "addr", "show", "dev", tap], { timeoutMs: 5000 });
    expect(link.stdout).toContain("master br0");
    expect(link.stdout).not.toMatch(/inet /);
    const ping = await runInNetns(ns, ["ping", "-c", "3", "-i", "0.2", "-W", "1", ip]);
    expect(parsePingSummary(ping.stdout)).toEqual({ transmitted: 3, received: 3, lossPercent: 0 });

    const exit = await interrupt(p);
    expect(exit).toEqual({ code: 0, signal: null });
    await waitFor(() => !d.leases().some((l) => l[1] === mac), 3000, "dnsmasq to drop the released lease");
    // walnut removed its TAP and left the bridge alone.
    expect(linkExists(ns, tap)).toBe(false);
    expect(linkExists(ns, "br0")).toBe(true);
  });

  it("walnut up --dhcp --dhcp-lease FILE: a restarted board asks for its address back by INIT-REBOOT and gets it", async () => {
    const subnet = "10.55.4";
    const ns = uniqueName("wdhrn");
    const tap = uniqueName("wdhrt");
    namespaces.push(ns);
    createNetns(ns);
    // As above: the "LAN" bridge and dnsmasq outlive the boards, which come and go on it.
    ipIn(ns, ["link", "add", "br0", "type", "bridge"]);
    ipIn(ns, ["addr", "add", `${subnet}.1/24`, "dev", "br0"]);
    ipIn(ns, ["link", "set", "br0", "up"]);
    const d = startDnsmasq(ns, "br0", subnet, dir);
    servers.push(d);
    await dnsmasqReady(d);
    const leaseFile = join(dir, "board.lease");
    const args = ["--dhcp", "--bridge", "br0", "--tap", tap, "--dhcp-lease", leaseFile];
    const inNs = ["ip", "netns", "exec", ns];
    const remembered = (): Record<string, unknown> => JSON.parse(readFileSync(leaseFile, "utf8")) as Record<string, unknown>;

    // 1. First run: no file yet, so DISCOVER as always; the lease is written to the file.
    const first = startUp(args, inNs);
    await waitForLine(first, /asking for a DHCP lease \(up to 30 s\)$/, 10_000);
    const { ip, mac } = parseUpLine(await waitForLine(first, /board up:/, 30_000));
    expect(remembered()).toMatchObject({ mac, ip, server: `${subnet}.1` });
    expect(Date.parse(String(remembered()["expires"])) - Date.now()).toBeGreaterThan(100_000);
    expect(await interrupt(first)).toEqual({ code: 0, signal: null });
    // Kept, not released: dnsmasq still holds the lease, and the file is still there.
    await sleep(300);
    expect(d.output()).not.toContain("DHCPRELEASE");
    expect(d.leases().some((l) => l[1] === mac && l[2] === ip)).toBe(true);
    expect(existsSync(leaseFile)).toBe(true);

    // 2. Restart without --mac: the file's MAC, and a broadcast REQUEST for the address, no DISCOVER.
    const logFrom = d.output().length;
    const pcap = join(dir, "reboot.pcapng");
    const second = startUp([...args, "--pcap", pcap], inNs);
    await waitForLine(second, new RegExp(`asking for a DHCP lease \\(up to 30 s; asking for ${ip.replaceAll(".", "\\.")} again \\(INIT-REBOOT\\)\\)`), 10_000);
    const again = parseUpLine(await waitForLine(second, /board up:/, 30_000));
    expect(again).toEqual({ ip, mac });
    expect(await interrupt(second)).toEqual({ code: 0, signal: null });
    const log = d.output().slice(logFrom);
    expect(log).toContain(`DHCPREQUEST(br0) ${ip} ${mac}`);
    expect(log).toMatch(new RegExp(`DHCPACK\\(br0\\) ${ip.replaceAll(".", "\\.")} ${mac} walnut`));
    expect(log).not.toContain("DHCPDISCOVER");
    // The capture, decoded by tshark: one REQUEST, option 50 = the address, no option 54, ciaddr 0, broadcast flag.
    const fields = await runAsync(
      ["tshark", "-r", pcap, "-Y", "dhcp", "-T", "fields", "-E", "separator=,", "-e", "dhcp.option.dhcp", "-e", "dhcp.option.requested_ip_address", "-e", "dhcp.option.dhcp_server_id", "-e", "dhcp.ip.client", "-e", "dhcp.flags.bc"],
      { timeoutMs: 20_000 },
    );
    const dhcpFrames = lines(fields.stdout);
    expect(dhcpFrames, fields.stderr).toHaveLength(2);
    expect(dhcpFrames[0]).toBe(`3,${ip},,0.0.0.0,1`);
    // dnsmasq's DHCPACK names itself (option 54).
    expect(dhcpFrames[1]?.startsWith(`5,,${subnet}.1,0.0.0.0,`)).toBe(true);

    // 3. A remembered address the server did not lease us: DHCPNAK, then discovery gets the right one.
    const wrong = ip === `${subnet}.59` ? `${subnet}.58` : `${subnet}.59`;
    writeFileSync(leaseFile, JSON.stringify({ ...remembered(), ip: wrong }));
    const nakFrom = d.output().length;
    const third = startUp(args, inNs);
    const recovered = parseUpLine(await waitForLine(third, /board up:/, 30_000));
    expect(recovered).toEqual({ ip, mac });
    expect(await interrupt(third)).toEqual({ code: 0, signal: null });
    const nakLog = d.output().slice(nakFrom);
    expect(nakLog).toContain(`DHCPNAK(br0) ${wrong} ${mac}`);
    expect(nakLog).toContain(`DHCPDISCOVER(br0)`);
    expect(remembered()["ip"]).toBe(ip);
  });

  it.each([
    { bridge: "nosuch0", says: "bridge 'nosuch0' does not exist" },
    { bridge: "lo", says: "'lo' is not a Linux bridge" },
  ])("--bridge $bridge fails with one line: $says", async ({ bridge, says }) => {
    const ns = uniqueName("wdhen");
    const tap = uniqueName("wdhet");
    namespaces.push(ns);
    createNetns(ns);
    const r = await runAsync(["ip", "netns", "exec", ns, NODE, WALNUT, "up", "--dhcp", "--bridge", bridge, "--tap", tap], {
      timeoutMs: 10_000,
      cwd: ROOT,
    });
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toContain(says);
    expect(linkExists(ns, tap)).toBe(false);
  });
});
