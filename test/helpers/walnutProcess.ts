// `walnut …` run as a child process for the CLI-level tests: its stdout and stderr as lines while they
// arrive, waiting for a line, and a SIGINT that must end it promptly.

import { spawn, type ChildProcessByStdio } from "node:child_process";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { waitFor } from "./board.js";

export const ROOT = join(import.meta.dirname, "..", "..");
export const WALNUT = join(ROOT, "bin", "walnut.js");

export interface WalnutProcess {
  child: ChildProcessByStdio<null, Readable, Readable>;
  stdout: string[];
  stderr: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const nonEmptyLines = (text: string): string[] => text.split("\n").filter((l) => l.length > 0);

/** Spawns `[prefix…] node bin/walnut.js argv…` (prefix: e.g. `ip netns exec NS`). */
export function spawnWalnut(argv: readonly string[], prefix: readonly string[] = []): WalnutProcess {
  const full = [...prefix, process.execPath, WALNUT, ...argv];
  const child = spawn(full[0] as string, full.slice(1), { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  const stdout: string[] = [];
  const stderr: string[] = [];
  let pendingOut = "";
  child.stdout.on("data", (c: Buffer) => {
    const parts = (pendingOut + c.toString()).split("\n");
    pendingOut = parts.pop() ?? "";
    stdout.push(...parts);
  });
  child.stderr.on("data", (c: Buffer) => stderr.push(...nonEmptyLines(c.toString())));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("close", (code, signal) => {
      if (pendingOut.length > 0) stdout.push(pendingOut);
      resolve({ code, signal });
    }),
  );
  return { child, stdout, stderr, exited };
}

/** The first stdout line matching `pattern`; fails if the process exits first or the time runs out. */
export async function waitForLine(p: WalnutProcess, pattern: RegExp, timeoutMs: number): Promise<string> {
  let exitedEarly = false;
  void p.exited.then(() => (exitedEarly = true));
  await waitFor(() => exitedEarly || p.stdout.some((l) => pattern.test(l)), timeoutMs, String(pattern));
  const line = p.stdout.find((l) => pattern.test(l));
  if (line === undefined) throw new Error(`walnut exited first:\n${p.stdout.join("\n")}\n${p.stderr.join("\n")}`);
  return line;
}

/** SIGINT, then the exit, which must come within 5 s. */
export async function interrupt(p: WalnutProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  p.child.kill("SIGINT");
  const timeout = new Promise<null>((r) => setTimeout(() => r(null), 5000).unref());
  const result = await Promise.race([p.exited, timeout]);
  if (result === null) throw new Error("walnut did not exit within 5 s of SIGINT");
  return result;
}
