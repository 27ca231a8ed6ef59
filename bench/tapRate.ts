// Frames per second through a TAP: walnut's addon (via TapDevice) against a plain C program (bench/c/tapbench.c)
// on the same path, in one run. Reading: a C AF_PACKET flooder inside the namespace (tapbench flood) sends
// 1514-byte frames out of the TAP's kernel side as fast as it can, so the reader, not the source, is the limit
// (a Python sender would cap the source below both readers). On 2 vCPUs the flooder (~1 M frames/s) is usually
// slower than either reader, so the read rate is the source's and the reader's CPU share tells the headroom.
// Reader and flooder are pinned to different CPUs: sharing one halves both. Writing: 1514-byte UDP/IPv4
// broadcast frames to the namespace's own address, which the kernel takes up to UDP and drops (Udp NoPorts,
// no ICMP for a link-layer broadcast). Needs root; traffic stays in a namespace created here.
// Run directly: node dist/bench/tapRate.js

import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { availableParallelism } from "node:os";
import { pathToFileURL } from "node:url";
import { createInterface } from "node:readline";
import { performance } from "node:perf_hooks";
import { TapDevice } from "../src/link/tap.js";
import type { FrameReceiver } from "../src/link/device.js";
import { configureLink, createNetns, deleteNetns, moveLinkToNetns } from "../src/host/iproute.js";
import type { OnStep } from "./progress.js";
import { buildCProgram } from "./util.js";

export interface TapRateOptions {
  /** Length of each read measurement (default 2, at most 3). */
  readSeconds?: number;
  /** Frames per write measurement (default 500 000; each side stops after 3 s anyway). */
  writeCount?: number;
  /** Print progress to stderr. */
  verbose?: boolean;
  /** Where --verbose lines go (default: stderr). */
  log?: (line: string) => void;
  /** Called before each of the four runs (the progress line). */
  onStep?: OnStep;
}

export interface TapRates {
  addonReadFps: number;
  addonWriteFps: number;
  cReadFps: number;
  cWriteFps: number;
  /** The reader's CPU seconds per second while reading (near 1: the reader was the limit, not the source). */
  addonReadCpu: number;
  cReadCpu: number;
}

const FRAME_BYTES = 1514;
const MAX_SECONDS = 3;
const KERNEL_CIDR = "10.77.0.1/24";

interface CReport {
  mode: string;
  frames: number;
  seconds: number;
  fps: number;
  cpu: number;
}

interface ReadRate {
  fps: number;
  cpu: number;
}

/** Reader on CPU 0, flooder on the last CPU; null on a single CPU (no pinning). */
const CPUS = availableParallelism();
const READER_CPU = CPUS > 1 ? "0" : null;
const FLOOD_CPU = CPUS > 1 ? String(CPUS - 1) : null;

/** `taskset -c CPU argv…`, or argv unchanged when not pinning. */
function pinned(cpu: string | null, argv: string[]): string[] {
  return cpu === null ? argv : ["taskset", "-c", cpu, ...argv];
}

/** Pins this process's main thread (only) to `cpu`; returns the function that restores its affinity. */
function pinMainThread(cpu: string | null): () => void {
  if (cpu === null) return () => {};
  const pid = String(process.pid);
  const current = /list:\s*(\S+)/.exec(execFileSync("taskset", ["-pc", pid], { encoding: "utf8" }))?.[1];
  execFileSync("taskset", ["-pc", cpu, pid], { stdio: "ignore" });
  return () => {
    if (current !== undefined) execFileSync("taskset", ["-pc", current, pid], { stdio: "ignore" });
  };
}

function uniqueName(prefix: string): string {
  return `${prefix}${process.pid % 100000}${Math.floor(Math.random() * 1000)}`.slice(0, 15);
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

async function stop(child: ChildProcess | null): Promise<void> {
  if (child === null) return;
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  await exited(child);
}

/** Starts the flooder inside `ns`; it stops by itself after `seconds` or when the TAP disappears. */
function startFlood(binary: string, ns: string, dev: string, seconds: number): ChildProcess {
  const [cmd, ...args] = pinned(FLOOD_CPU, ["ip", "netns", "exec", ns, binary, "flood", dev, String(seconds)]);
  return spawn(cmd!, args, { stdio: ["ignore", "ignore", "inherit"] });
}

/** Counts flood-sized frames for `seconds` from the first one, through TapDevice as the stack uses it. */
function addonRead(binary: string, ns: string, seconds: number): Promise<ReadRate> {
  const tap = TapDevice.open({ name: uniqueName("wbtap") });
  moveLinkToNetns(tap.name, ns);
  configureLink(ns, tap.name, KERNEL_CIDR);
  const unpin = pinMainThread(READER_CPU);
  let flood: ChildProcess | null = null;
  return new Promise<ReadRate>((resolve, reject) => {
    let frames = 0;
    let t0 = 0;
    let cpu0 = process.cpuUsage();
    let isDone = false;
    const finish = (): void => {
      if (isDone) return;
      isDone = true;
      const elapsedMs = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      clearTimeout(guard);
      tap.close();
      resolve({ fps: (frames * 1000) / elapsedMs, cpu: (cpu.user + cpu.system) / 1000 / elapsedMs });
    };
    const counter: FrameReceiver = {
      frame(_bytes, _offset, length) {
        if (t0 !== 0) frames++;
        else if (length === FRAME_BYTES) {
          t0 = performance.now(); // kernel chatter before the flood is ignored
          cpu0 = process.cpuUsage();
        }
      },
      endBatch() {
        if (t0 !== 0 && performance.now() - t0 >= seconds * 1000) finish();
      },
    };
    const guard = setTimeout(() => {
      if (t0 !== 0) return finish();
      isDone = true;
      tap.close();
      reject(new Error("tapRate: no flood frame reached the addon"));
    }, (seconds + 5) * 1000);
    tap.attach(counter);
    flood = startFlood(binary, ns, tap.name, seconds + 1);
  }).finally(() => {
    unpin();
    return stop(flood);
  });
}

function addonWrite(ns: string, count: number): number {
  const tap = TapDevice.open({ name: uniqueName("wbtap") });
  try {
    moveLinkToNetns(tap.name, ns);
    configureLink(ns, tap.name, KERNEL_CIDR);
    const frame = udpBroadcastFrame();
    let sent = 0;
    const t0 = performance.now();
    let elapsedMs = 0;
    while (sent < count) {
      if (tap.transmit(frame, 0, FRAME_BYTES)) sent++;
      if ((sent & 4095) === 0 && (elapsedMs = performance.now() - t0) >= MAX_SECONDS * 1000) break;
    }
    elapsedMs = performance.now() - t0;
    if (tap.stats.txErrors > 0) throw new Error(`tapRate: the kernel rejected ${tap.stats.txErrors} frames`);
    return (sent * 1000) / elapsedMs;
  } finally {
    tap.close();
  }
}

/** The same frame tapbench writes: broadcast MAC, UDP 10.77.0.2:40000 → 10.77.0.1:9, no UDP checksum. */
function udpBroadcastFrame(): Uint8Array {
  const f = new Uint8Array(FRAME_BYTES);
  const v = new DataView(f.buffer);
  f.fill(0xff, 0, 6); // destination: broadcast
  f.set([0x02, 0, 0, 0, 0, 0x02], 6); // source: the board
  v.setUint16(12, 0x0800); // IPv4
  const ipLength = FRAME_BYTES - 14;
  f.set([0x45, 0], 14); // version 4, IHL 5, DSCP 0
  v.setUint16(16, ipLength);
  v.setUint16(20, 0x4000); // DF
  f[22] = 64; // TTL
  f[23] = 17; // UDP
  f.set([10, 77, 0, 2], 26);
  f.set([10, 77, 0, 1], 30);
  let sum = 0;
  for (let i = 14; i < 34; i += 2) sum += v.getUint16(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  v.setUint16(24, ~sum & 0xffff);
  v.setUint16(34, 40000);
  v.setUint16(36, 9);
  v.setUint16(38, ipLength - 20);
  for (let i = 8; i < ipLength - 20; i++) f[34 + i] = i & 0xff;
  return f;
}

/**
 * Runs `tapbench read|write` on a TAP it creates in this namespace: after "ready NAME" the TAP is moved into
 * `ns` and configured, then "go" starts the measurement. With `floodSeconds`, the flooder feeds the TAP.
 */
async function cRun(binary: string, ns: string, args: string[], floodSeconds: number | null): Promise<CReport> {
  const [cmd, ...argv] = pinned(floodSeconds === null ? null : READER_CPU, [binary, ...args]);
  const child = spawn(cmd!, argv, { stdio: ["pipe", "pipe", "inherit"] });
  let flood: ChildProcess | null = null;
  try {
    const lines = createInterface({ input: child.stdout! });
    const iterator = lines[Symbol.asyncIterator]();
    const ready = await iterator.next();
    const match = ready.done === true ? null : /^ready (\S+)$/.exec(String(ready.value));
    if (match === null || match[1] === undefined) throw new Error(`tapbench ${args[0]}: no ready line`);
    const dev = match[1];
    moveLinkToNetns(dev, ns);
    configureLink(ns, dev, KERNEL_CIDR);
    child.stdin!.write("go\n");
    if (floodSeconds !== null) flood = startFlood(binary, ns, dev, floodSeconds);
    const result = await iterator.next();
    if (result.done === true) throw new Error(`tapbench ${args[0]}: no result`);
    const report = JSON.parse(String(result.value)) as CReport;
    if (report.frames === 0) throw new Error(`tapbench ${args[0]}: no frames`);
    return report;
  } finally {
    await stop(flood);
    await stop(child);
  }
}

export async function measureTapRates(opts: TapRateOptions = {}): Promise<TapRates> {
  const readSeconds = Math.min(opts.readSeconds ?? 2, MAX_SECONDS);
  const writeCount = opts.writeCount ?? 500_000;
  const onStep = opts.onStep ?? ((): void => {});
  let index = 0;
  const log = (msg: string): void => {
    onStep({ index: ++index, total: 4, what: msg });
    if (opts.verbose !== true) return;
    if (opts.log !== undefined) opts.log(`tapRate: ${msg}`);
    else process.stderr.write(`tapRate: ${msg}\n`);
  };
  const binary = buildCProgram("bench", "tapbench");
  const ns = uniqueName("wbns");
  createNetns(ns);
  try {
    log("addon read");
    const addon = await addonRead(binary, ns, readSeconds);
    log("C read");
    const c = await cRun(binary, ns, ["read", uniqueName("wbtap"), String(readSeconds)], readSeconds + 1);
    log("addon write");
    const addonWriteFps = addonWrite(ns, writeCount);
    log("C write");
    const cWrite = await cRun(binary, ns, ["write", uniqueName("wbtap"), String(writeCount)], null);
    return {
      addonReadFps: addon.fps,
      addonWriteFps,
      cReadFps: c.fps,
      cWriteFps: cWrite.fps,
      addonReadCpu: addon.cpu,
      cReadCpu: c.cpu,
    };
  } finally {
    deleteNetns(ns);
  }
}

function pct(share: number): string {
  return `${(share * 100).toFixed(0)} % of a CPU`;
}

function formatRate(fps: number): string {
  const gbits = (fps * FRAME_BYTES * 8) / 1e9;
  return `${(fps / 1e6).toFixed(3)} M frames/s (${gbits.toFixed(2)} Gbit/s)`;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rates = await measureTapRates({ verbose: true });
  console.log(`TAP path, ${FRAME_BYTES}-byte frames`);
  console.log(`| | walnut addon | C (tapbench) | addon/C |`);
  console.log(`|---|---|---|---|`);
  console.log(
    `| read | ${formatRate(rates.addonReadFps)} | ${formatRate(rates.cReadFps)} | ${(rates.addonReadFps / rates.cReadFps).toFixed(2)} |`,
  );
  console.log(
    `| reader CPU while reading | ${pct(rates.addonReadCpu)} | ${pct(rates.cReadCpu)} | |`,
  );
  console.log(
    `| write | ${formatRate(rates.addonWriteFps)} | ${formatRate(rates.cWriteFps)} | ${(rates.addonWriteFps / rates.cWriteFps).toFixed(2)} |`,
  );
}
