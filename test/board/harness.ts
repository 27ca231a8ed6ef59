// A multi-instance harness of our own for board tests: a MicroPython program on the board (`walnut run`,
// the compiled CLI) and a CPython peer inside the namespace, each a child whose stdout lines are read as
// they come and whose stdin the test writes. Lines "SYNC <word>" one side prints are passed to the other's
// stdin, so programs wait for each other the way MicroPython's own multi-instance tests do; every other line
// is output the test checks. Waits are bounded; children are killed and the namespace removed afterwards.

import { spawn, type ChildProcessByStdio } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import { join } from "node:path";
import { createNetns } from "../../src/host/iproute.js";
import { removeNetns, runAsync } from "../helpers/board.js";
import { uniqueName } from "../helpers/env.js";
import { ROOT, WALNUT } from "../helpers/walnutProcess.js";

export const PROGRAMS = join(import.meta.dirname, "programs", "multi");

/** One child: its output lines (SYNC lines included) and its exit. */
export class Instance {
  readonly lines: string[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcessByStdio<Writable, Readable, Readable>;
  private read = 0;
  private peer: Instance | null = null;
  private changed: (() => void) | null = null;

  constructor(
    readonly name: string,
    argv: readonly string[],
    timeoutMs: number,
  ) {
    this.child = spawn(argv[0] as string, argv.slice(1), { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
    let pending = "";
    this.child.stdout.on("data", (c: Buffer) => {
      const parts = (pending + c.toString()).split("\n");
      pending = parts.pop() ?? "";
      for (const line of parts) this.take(line);
    });
    let pendingErr = "";
    this.child.stderr.on("data", (c: Buffer) => {
      const parts = (pendingErr + c.toString()).split("\n");
      pendingErr = parts.pop() ?? "";
      this.stderr.push(...parts);
    });
    const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    this.exited = new Promise((resolve) =>
      this.child.once("close", (code, signal) => {
        clearTimeout(timer);
        if (pending.length > 0) this.take(pending);
        if (pendingErr.length > 0) this.stderr.push(pendingErr);
        this.changed?.();
        resolve({ code, signal });
      }),
    );
    this.child.stdin.on("error", () => undefined); // the child may end before reading all we wrote
  }

  /** SYNC lines of this instance go to `other`'s stdin. */
  pairWith(other: Instance): void {
    this.peer = other;
  }

  private take(line: string): void {
    this.lines.push(line);
    if (line.startsWith("SYNC ")) this.peer?.send(line);
    this.changed?.();
  }

  /** Writes one line to the child's stdin. */
  send(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  /** Closes the child's stdin (its end of input). */
  endInput(): void {
    this.child.stdin.end();
  }

  signal(sig: NodeJS.Signals): void {
    this.child.kill(sig);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** The next output line that is not a SYNC line; fails when the child ends first or the time runs out. */
  async next(timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let ended = false;
    void this.exited.then(() => (ended = true));
    for (;;) {
      while (this.read < this.lines.length) {
        const line = this.lines[this.read++] as string;
        if (!line.startsWith("SYNC ")) return line;
      }
      if (ended) throw new Error(`${this.name} ended before the next line:\n${this.lines.join("\n")}\n${this.stderr.join("\n")}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.name}: no line within ${timeoutMs} ms; so far:\n${this.lines.join("\n")}\n${this.stderr.join("\n")}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.changed = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  /** The next `n` output lines. */
  async nextLines(n: number, timeoutMs = 15_000): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(await this.next(timeoutMs));
    return out;
  }

  /** Waits for the exit (killing the child after `timeoutMs`). */
  async finish(timeoutMs = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const t = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    const r = await this.exited;
    clearTimeout(t);
    return r;
  }

  kill(): void {
    this.child.kill("SIGKILL");
  }
}

/** A namespace of the test's own for one board and its peers; the board is SUBNET.2, the kernel side SUBNET.1. */
export class BoardLab {
  readonly ns = uniqueName("wmul");
  private readonly instances: Instance[] = [];

  constructor(readonly subnet: string) {
    createNetns(this.ns);
  }

  get boardIp(): string {
    return `${this.subnet}.2`;
  }

  get kernelIp(): string {
    return `${this.subnet}.1`;
  }

  /** `walnut run --ip SUBNET.2/24 --netns NS [runOptions] [program [args]]` (program relative to programs/multi). */
  board(program: string | null, args: readonly string[] = [], runOptions: readonly string[] = [], timeoutMs = 60_000): Instance {
    const argv = [process.execPath, WALNUT, "run", "--ip", `${this.boardIp}/24`, "--netns", this.ns, ...runOptions];
    if (program !== null) argv.push(join(PROGRAMS, program), ...args);
    return this.add(new Instance("board", argv, timeoutMs));
  }

  /** `ip netns exec NS python3 program args` (program relative to programs/multi). */
  peer(program: string, args: readonly string[] = [], timeoutMs = 60_000): Instance {
    return this.add(new Instance("peer", ["ip", "netns", "exec", this.ns, "python3", "-u", join(PROGRAMS, program), ...args], timeoutMs));
  }

  /** A board program and a peer whose SYNC lines reach each other. */
  pair(boardProgram: string, peerProgram: string, peerArgs: readonly string[] = [this.boardIp]): { board: Instance; peer: Instance } {
    const peer = this.peer(peerProgram, peerArgs);
    const board = this.board(boardProgram, [this.kernelIp]);
    board.pairWith(peer);
    peer.pairWith(board);
    return { board, peer };
  }

  /** Waits until walnut has brought the kernel side up (the peer may then bind its address). */
  async kernelSideUp(timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await runAsync(["ip", "netns", "exec", this.ns, "ip", "-4", "-o", "addr", "show"], { timeoutMs: 5000 });
      if (r.stdout.includes(`${this.kernelIp}/24`)) return;
      if (Date.now() > deadline) throw new Error(`the kernel side ${this.kernelIp} did not come up in ${this.ns}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private add(i: Instance): Instance {
    this.instances.push(i);
    return i;
  }

  /** Kills what is still running and removes the namespace. */
  async close(): Promise<void> {
    for (const i of this.instances) i.kill();
    await Promise.all(this.instances.map((i) => i.exited));
    removeNetns(this.ns);
  }
}
