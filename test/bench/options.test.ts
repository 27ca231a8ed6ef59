// The bench's option parser (bench/options.ts): defaults, --quick, the sections --only/--no-… select (tcp and
// udp are rows of one table), --targets/--metrics, --json/--plot paths, and bad values — each a UsageError
// with a one-line message naming the option (run.ts prints it and exits 2; test/cli/cli.test.ts checks that
// end to end). --help documents every option the parser accepts, one line each.

import { describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OPTIONS, helpText, parseOptions, UsageError, type RunOptions } from "../../bench/options.js";
import { TCP_METRICS, TCP_TARGETS } from "../../bench/cells.js";

function parsed(argv: readonly string[]): RunOptions {
  const o = parseOptions(argv);
  if (o === "help") throw new Error("unexpected help");
  return o;
}

/** The UsageError `argv` throws (fails if it parses). */
function usageError(argv: readonly string[]): UsageError {
  try {
    parseOptions(argv);
  } catch (err) {
    if (err instanceof UsageError) return err;
    throw err;
  }
  throw new Error(`${argv.join(" ")} parsed`);
}

describe("bench options: defaults and sections", () => {
  it("runs everything by default: 5 repeats of 2 s, window 32, offloads on, polling idle, no JSON or plot", () => {
    const o = parsed([]);
    expect(o).toMatchObject({ repeats: 5, seconds: 2, window: 32, isQuick: false, offload: true, holdPolling: true, verbose: false });
    expect(o.sections).toEqual(["icmp", "tcp", "udp", "tap", "micropython"]);
    expect(o.tcpMetrics).toEqual(TCP_METRICS);
    expect(o.tcpTargets).toEqual(TCP_TARGETS);
    expect([o.withIcmp, o.withTcp, o.withTap, o.withMicroPython, o.lossTable]).toEqual([true, true, true, true, false]);
    expect([o.jsonPath, o.plotPath]).toEqual([null, null]);
  });

  it("--quick makes 1 repeat of 1 s unless --repeats/--seconds say otherwise", () => {
    expect(parsed(["--quick"])).toMatchObject({ repeats: 1, seconds: 1, isQuick: true });
    expect(parsed(["--quick", "--repeats", "3", "--seconds", "4"])).toMatchObject({ repeats: 3, seconds: 4 });
  });

  it("--only udp measures the UDP echo row alone; --only tcp the TCP rows without it", () => {
    const udp = parsed(["--only", "udp"]);
    expect(udp.sections).toEqual(["udp"]);
    expect(udp.tcpMetrics).toEqual(["udpEcho"]);
    expect([udp.withTcp, udp.withIcmp, udp.withTap, udp.withMicroPython]).toEqual([true, false, false, false]);
    const tcp = parsed(["--only", "tcp"]);
    expect(tcp.sections).toEqual(["tcp"]);
    expect(tcp.tcpMetrics).toEqual(["toBoard", "fromBoard", "echo", "connect"]);
  });

  it("--no-udp drops the UDP row; --only with spaces and any order keeps the sections' order", () => {
    expect(parsed(["--no-udp"]).tcpMetrics).not.toContain("udpEcho");
    expect(parsed(["--only", "tap, icmp"]).sections).toEqual(["icmp", "tap"]);
  });

  it("--metrics and --targets narrow the TCP/UDP table, in the table's order", () => {
    const o = parsed(["--metrics", "udpEcho,toBoard", "--targets", "lwip,board"]);
    expect(o.tcpMetrics).toEqual(["toBoard", "udpEcho"]);
    expect(o.tcpTargets).toEqual(["board", "lwip"]);
    expect(o.sections).toEqual(["icmp", "tcp", "udp", "tap", "micropython"]);
    expect(parsed(["--metrics", "echo"]).sections).toEqual(["icmp", "tcp", "tap", "micropython"]);
  });

  it("--json and --plot take paths in existing folders and resolve them", () => {
    const dir = mkdtempSync(join(tmpdir(), "bench-options-"));
    try {
      const o = parsed(["--json", join(dir, "r.json"), "--plot", join(dir, "p.svg")]);
      expect(o.jsonPath).toBe(join(dir, "r.json"));
      expect(o.plotPath).toBe(join(dir, "p.svg"));
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it("--help and -h", () => {
    expect(parseOptions(["--help"])).toBe("help");
    expect(parseOptions(["-h", "--repeats", "0"])).toBe("help");
  });
});

describe("bench options: bad values are one-line usage errors naming the option", () => {
  it.each([
    { argv: ["--bogus"], names: "--bogus" },
    { argv: ["--repeats", "0"], names: "--repeats" },
    { argv: ["--repeats", "21"], names: "--repeats" },
    { argv: ["--repeats", "2.5"], names: "--repeats" },
    { argv: ["--repeats"], names: "--repeats" },
    { argv: ["--seconds", "11"], names: "--seconds" },
    { argv: ["--seconds", "x"], names: "--seconds" },
    { argv: ["--window", "1"], names: "--window" },
    { argv: ["--window", "1025"], names: "--window" },
    { argv: ["--only", "tcp,ftp"], names: "ftp" },
    { argv: ["--only", ""], names: "--only" },
    { argv: ["--targets", "board,bsd"], names: "bsd" },
    { argv: ["--metrics", "latency"], names: "latency" },
    { argv: ["--plot", "out.png"], names: "--plot" },
    { argv: ["--plot", "/no/such/folder/out.svg"], names: "--plot" },
    { argv: ["--json", "/no/such/folder/out.json"], names: "--json" },
    { argv: ["--json", ""], names: "--json" },
    { argv: ["--json", tmpdir()], names: "--json" },
    { argv: ["--only", "udp", "--plot", join(tmpdir(), "p.svg")], names: "--plot" },
    { argv: ["--metrics", "echo", "--plot", join(tmpdir(), "p.svg")], names: "--plot" },
    { argv: ["--loss-table", "--json", join(tmpdir(), "r.json")], names: "--loss-table" },
    { argv: ["--only", "udp", "--no-udp"], names: "nothing to measure" },
    { argv: ["stray"], names: "stray" },
  ])("$argv → $names", ({ argv, names }) => {
    const err = usageError(argv);
    expect(err.message).toContain(names);
    expect(err.message).not.toContain("\n");
  });
});

describe("bench --help", () => {
  const help = helpText();

  it("has one line per option, each with its flag and a description", () => {
    for (const o of OPTIONS) {
      const lines = help.split("\n").filter((l) => l.trimStart().startsWith(`${o.short !== undefined ? `-${o.short}, ` : ""}--${o.name} `) || l.trim() === `--${o.name}`);
      expect(lines, `--${o.name}`).toHaveLength(1);
      expect(lines[0]!.length, `--${o.name}'s line`).toBeGreaterThan(`  --${o.name}`.length + 10);
    }
  });

  it("states the defaults and ranges of the numeric options and names every section, target and metric", () => {
    expect(help).toMatch(/--repeats N .*1–20, default 5/);
    expect(help).toMatch(/--seconds S .*1–10, default 2/);
    expect(help).toMatch(/--window N .*2–1024, default 32/);
    expect(help).toContain("icmp,tcp,udp,tap,micropython");
    expect(help).toContain(TCP_TARGETS.join(","));
    expect(help).toContain(TCP_METRICS.join(","));
  });

  it("documents exactly the options the parser accepts", () => {
    for (const o of OPTIONS) {
      if (o.name === "help") continue;
      const argv = o.type === "boolean" ? [`--${o.name}`] : [`--${o.name}`, "1"];
      // Accepted (maybe with a complaint about the value), never an unknown option.
      try {
        parseOptions(argv);
      } catch (err) {
        expect(String(err)).not.toContain("unknown option");
      }
    }
    expect(usageError(["--frobnicate"]).message).toContain("unknown option");
  });
});
