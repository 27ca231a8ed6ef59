// Host-side network set-up for the board's TAP: network namespaces and the kernel end of the link, done with
// iproute2 (`ip`). Used by the CLI and by interop tests; never on the frame path. Needs CAP_NET_ADMIN (root).

import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

/** Thrown when an `ip` command fails; `stderr` is what iproute2 said. */
export class HostCommandError extends Error {
  constructor(
    readonly command: string,
    readonly stderr: string,
  ) {
    super(`${command}: ${stderr.trim() || "failed"}`);
  }
}

function run(args: readonly string[]): string {
  try {
    return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    const e = err as { stderr?: string | Buffer; message?: string };
    const stderr = e.stderr !== undefined ? String(e.stderr) : String(e.message ?? "");
    throw new HostCommandError(`ip ${args.join(" ")}`, stderr);
  }
}

/** Runs `ip` inside namespace `netns` (or the current one when null). */
export function ipIn(netns: string | null, args: readonly string[]): string {
  return run(netns === null ? args : ["-n", netns, ...args]);
}

export function netnsExists(name: string): boolean {
  return existsSync(`/var/run/netns/${name}`);
}

/** Creates namespace `name` and brings its loopback up. Returns false if it already existed. */
export function createNetns(name: string): boolean {
  if (netnsExists(name)) return false;
  try {
    run(["netns", "add", name]);
  } catch (err) {
    // Another walnut (a board on the same --lan) made it at the same moment: then it is theirs.
    if (netnsExists(name)) return false;
    throw err;
  }
  run(["-n", name, "link", "set", "lo", "up"]);
  return true;
}

export function deleteNetns(name: string): void {
  if (netnsExists(name)) run(["netns", "del", name]);
}

/** Moves link `dev` into namespace `netns`. A TAP's file descriptor keeps working after the move. */
export function moveLinkToNetns(dev: string, netns: string): void {
  run(["link", "set", "dev", dev, "netns", netns]);
}

export function linkExists(netns: string | null, dev: string): boolean {
  try {
    ipIn(netns, ["link", "show", "dev", dev]);
    return true;
  } catch {
    return false;
  }
}

/** Assigns `cidr` (a.b.c.d/len) to `dev`, sets the MTU when given, and brings the link up. */
export function configureLink(netns: string | null, dev: string, cidr: string | null, mtu?: number): void {
  if (mtu !== undefined) ipIn(netns, ["link", "set", "dev", dev, "mtu", String(mtu)]);
  if (cidr !== null) ipIn(netns, ["addr", "replace", cidr, "dev", dev]);
  ipIn(netns, ["link", "set", "dev", dev, "up"]);
}

/** The argv prefix that runs a program inside `netns` (`ip netns exec NS …`), or nothing for the current one. */
export function netnsExecPrefix(netns: string | null): string[] {
  return netns === null ? [] : ["ip", "netns", "exec", netns];
}
