// Decides whether tests that need root and a real TAP can run here. Outside CI they may skip, saying why;
// under CI=true they must run, so a missing privilege fails loudly instead of skipping silently.

import { existsSync } from "node:fs";
import { execFileSync } from "node:child_process";

function hasCommand(cmd: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Why TAP/namespace tests cannot run here, or null when they can. */
export function tapUnavailableReason(extraCommands: readonly string[] = []): string | null {
  if (process.getuid?.() !== 0) return "not root (TAP devices and network namespaces need CAP_NET_ADMIN)";
  if (!existsSync("/dev/net/tun")) return "/dev/net/tun is missing";
  for (const cmd of ["ip", ...extraCommands]) if (!hasCommand(cmd)) return `'${cmd}' is not installed`;
  return null;
}

/**
 * True when the root tests should run. Under CI=true this never returns false: it throws, so CI goes red
 * rather than skipping. Elsewhere it prints the reason once and returns false.
 */
export function canRunTapTests(file: string, extraCommands: readonly string[] = []): boolean {
  const reason = tapUnavailableReason(extraCommands);
  if (reason === null) return true;
  if (process.env["CI"] === "true") throw new Error(`${file}: TAP tests must run under CI but cannot: ${reason}`);
  console.warn(`[skip] ${file}: TAP tests skipped: ${reason}`);
  return false;
}

/** A name unique to this process for namespaces and TAPs (IFNAMSIZ is 16 including the NUL). */
export function uniqueName(prefix: string): string {
  const suffix = `${process.pid % 100000}${Math.floor(Math.random() * 1000)}`;
  return `${prefix}${suffix}`.slice(0, 15);
}
