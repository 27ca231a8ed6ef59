// `walnut demo` (what `npm start` runs): a board in a private namespace, three pings from the kernel side
// with their round-trip times, a TCP echo exchange, the decoded trace of those frames, and a clean exit that
// removes everything.

import { spawn } from "node:child_process";
import { Board } from "../board/board.js";
import { parseIpv4, randomLocalMac } from "../core/addr.js";
import { formatCounters } from "../core/stats.js";
import { netnsExecPrefix } from "../host/iproute.js";
import { UsageError } from "./args.js";

const BOARD_IP = "192.168.50.66";
const HOST_CIDR = "192.168.50.1/24";

/** Runs a command to completion, echoing its output with an indent. Resolves with its exit code. */
function runIndented(argv: readonly string[], indent: string): Promise<number> {
  return new Promise((resolve) => {
    const [cmd, ...args] = argv;
    const child = spawn(cmd ?? "true", args, { stdio: ["ignore", "pipe", "pipe"] });
    const echo = (chunk: Buffer): void => {
      for (const line of chunk.toString().split("\n")) if (line.length > 0) console.log(`${indent}${line}`);
    };
    child.stdout.on("data", echo);
    child.stderr.on("data", echo);
    child.on("error", (err) => {
      console.log(`${indent}${cmd ?? ""}: ${err.message}`);
      resolve(127);
    });
    child.on("close", (code) => resolve(code ?? 1));
  });
}

export async function runDemo(argv: readonly string[]): Promise<number> {
  if (argv.length > 0) throw new UsageError(`demo takes no arguments (got '${argv[0] ?? ""}')`);
  const netns = `walnut-demo-${process.pid}`;
  const trace: string[] = [];
  console.log("walnut demo: a virtual board with its own IPv4 address on a TAP device");
  const board = Board.start({
    mac: randomLocalMac(),
    ip: parseIpv4(BOARD_IP),
    netmask: 0xffffff00,
    gateway: parseIpv4(HOST_CIDR.split("/")[0] ?? ""),
    mtu: 1500,
    tapName: "walnutd%d",
    netns,
    hostCidr: HOST_CIDR,
    pcapPath: null,
    trace: (line) => trace.push(line),
    faults: null,
  });
  let code = 0;
  try {
    console.log(`  ${board.describe()}`);
    const ping = [...netnsExecPrefix(netns), "ping", "-c", "3", "-i", "0.2", "-W", "2", BOARD_IP];
    console.log(`\n  the Linux kernel pings the board from inside the namespace:\n  $ ${ping.join(" ")}`);
    code = await runIndented(ping, "    ");
    console.log(`\n  every frame the board received (In) and sent (Out), decoded:`);
    for (const line of trace.splice(0)) console.log(`    ${line}`);
    // The same kernel opens a TCP connection to the board's echo service; node is the client because it
    // is certain to be installed.
    const echoClient = [
      ...netnsExecPrefix(netns),
      process.execPath,
      "-e",
      `const s = require("net").connect(7, "${BOARD_IP}", () => s.end("hello, walnut"));` +
        `s.setTimeout(3000, () => { console.log("timed out"); process.exit(1); });` +
        `let got = ""; s.on("data", (d) => (got += d)); s.on("close", () => console.log("echoed back: " + JSON.stringify(got)));`,
    ];
    console.log(`\n  a TCP client in the namespace sends a line to the board's echo service (port 7):`);
    const tcpCode = await runIndented(echoClient, "    ");
    if (code === 0) code = tcpCode;
    console.log(`\n  the TCP conversation, decoded:`);
    for (const line of trace.splice(0)) console.log(`    ${line}`);
    const stats = board.stack.stats();
    console.log(`\n  counters: icmp ${formatCounters(stats["icmp"] ?? {})}`);
    console.log(`            tcp ${formatCounters(stats["tcp"] ?? {})}`);
    console.log(`            netif ${formatCounters(stats["netif"] ?? {})}`);
  } finally {
    board.stop();
  }
  console.log(`\n  stopped the board and removed namespace ${netns}.`);
  if (code !== 0) console.log(`walnut demo: ping exited with ${code}`);
  console.log(`  next: sudo walnut up --ip 192.168.50.66/24 --trace, then ip netns exec walnut ping 192.168.50.66`);
  return code === 0 ? 0 : 1;
}
