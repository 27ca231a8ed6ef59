// The board's link to the host: a TAP whose kernel side lives in a network namespace (created here and
// removed at close if it did not exist) or, with `netns: null`, in the current namespace. With `lan`, the
// TAP joins a bridge in the namespace that other boards share (lan.ts: the first creates it, the last
// removes it, and the namespace with it when a board made it). Owns only what it created. Used by `walnut
// up`, `walnut demo`, the benchmarks and the interop tests.

import { TapDevice } from "../link/tap.js";
import { joinLan, leaveLan } from "./lan.js";
import {
  configureLink,
  createNetns,
  deleteNetns,
  HostCommandError,
  linkExists,
  moveLinkToNetns,
} from "./iproute.js";

export interface HostLinkOptions {
  /** TAP name, or a pattern with %d for the kernel to fill in. */
  tapName: string;
  /** Namespace for the TAP's kernel side; null keeps it in the current namespace. */
  netns: string | null;
  /** Address for the kernel side (a.b.c.d/len), or null to leave it unaddressed. */
  hostCidr: string | null;
  mtu: number;
  vnetHdr?: boolean;
  /** A bridge in `netns` shared by boards: the TAP joins it and `hostCidr` goes on the bridge. */
  lan?: string | null;
}

/** A host set-up failure, phrased for the user. */
export class HostSetupError extends Error {}

export class HostLink {
  private closed = false;

  private constructor(
    readonly device: TapDevice,
    readonly tapName: string,
    readonly netns: string | null,
    /** True when this link created the namespace (and so removes it). */
    readonly createdNetns: boolean,
    /** True when the TAP existed before (attached as it is, not moved or reconfigured unless asked). */
    readonly attachedExisting: boolean,
    /** The namespace bridge this TAP joined (--lan), or null. */
    readonly lan: string | null,
  ) {}

  static open(o: HostLinkOptions): HostLink {
    const existed = !o.tapName.includes("%") && linkExists(null, o.tapName);
    let createdNetns = false;
    if (o.netns !== null && !existed) {
      try {
        createdNetns = createNetns(o.netns);
      } catch (err) {
        throw explainHostError(err, `creating network namespace '${o.netns}'`);
      }
    }
    // An existing TAP is used as it is, where it is; a TAP we created goes into the namespace.
    const netns = existed ? null : o.netns;
    let device: TapDevice;
    try {
      device = netns === null ? TapDevice.open({ name: o.tapName, mtu: o.mtu, vnetHdr: o.vnetHdr ?? false }) : openAndMove(o, netns);
    } catch (err) {
      if (createdNetns && o.netns !== null) deleteNetns(o.netns);
      throw err;
    }
    const lan = o.lan ?? null;
    const link = new HostLink(device, device.name, netns, createdNetns, existed, lan);
    try {
      if (lan !== null && netns !== null) joinLan(netns, lan, device.name, o.hostCidr, o.mtu, createdNetns);
      else if (!existed || o.hostCidr !== null) configureLink(netns, device.name, o.hostCidr, existed ? undefined : o.mtu);
    } catch (err) {
      link.close();
      throw explainHostError(err, `configuring ${device.name}`);
    }
    return link;
  }

  /** Closes the TAP (a TAP we created disappears with it) and removes a namespace we created. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.device.close();
    if (this.lan !== null && this.netns !== null) {
      // The namespace may be shared: the last board on the LAN removes the bridge, and the namespace if a board made it.
      try {
        leaveLan(this.netns, this.lan);
      } catch {
        // Already gone.
      }
      return;
    }
    if (this.createdNetns && this.netns !== null) {
      try {
        deleteNetns(this.netns);
      } catch {
        // Already gone (someone removed it by hand): nothing left to clean.
      }
    }
  }
}

/**
 * Creates the TAP and moves it into `netns`. With a `%d` pattern the number is ours to pick: the kernel
 * fills `%d` from the names free in the current namespace only, and another board's TAP may already sit in
 * `netns` under that name (boards sharing a namespace, --lan), so take the first number free in both. Another
 * walnut starting at the same moment may pick the same number between our look and our open (its TAP is then
 * busy, EBUSY) or between our open and our move (the name then exists in `netns`): take the next number.
 */
function openAndMove(o: HostLinkOptions, netns: string): TapDevice {
  const options = { mtu: o.mtu, vnetHdr: o.vnetHdr ?? false };
  if (!o.tapName.includes("%d")) {
    const device = TapDevice.open({ name: o.tapName, ...options });
    moveOrClose(device, netns);
    return device;
  }
  let lastError: unknown = null;
  for (let n = 0, tries = 0; n < 1000 && tries < 20; n++) {
    const name = o.tapName.replace("%d", String(n));
    if (linkExists(null, name) || linkExists(netns, name)) continue;
    tries++;
    let device: TapDevice;
    try {
      device = TapDevice.open({ name, ...options });
    } catch (err) {
      if ((err as { code?: unknown }).code !== "EBUSY") throw err;
      lastError = err;
      continue; // taken by another walnut since we looked
    }
    try {
      moveOrClose(device, netns);
      return device;
    } catch (err) {
      if (!linkExists(netns, name)) throw err;
      lastError = err; // the name appeared in netns since we looked
    }
  }
  throw lastError ?? new Error(`no free TAP name for ${o.tapName} in the current namespace and in ${netns}`);
}

function moveOrClose(device: TapDevice, netns: string): void {
  try {
    moveLinkToNetns(device.name, netns);
  } catch (err) {
    device.close();
    throw explainHostError(err, `moving ${device.name} into ${netns}`);
  }
}

/** iproute2's complaints (RTNETLINK and friends) and what a user can do about each. */
const IPROUTE_REASONS: readonly [RegExp, string][] = [
  [/File exists/i, "it already exists: another board or interface holds that name or address (pick another --tap, --lan or --host-ip, or remove the old one)"],
  [/Cannot find device|does not exist/i, "the interface is gone (removed while walnut was setting it up?)"],
  [/Device or resource busy/i, "the interface is busy: another process holds it"],
  [/Numerical result out of range|mtu/i, "the kernel refused the MTU (--mtu)"],
  [/Invalid argument/i, "the kernel refused a value (--mtu, --host-ip or a name)"],
  [/No such file or directory/i, "the network namespace is gone (removed while walnut was setting it up?)"],
  [/Address already in use/i, "the address is already in use on the kernel side (pick another --host-ip)"],
  [/No space left on device|Cannot allocate memory/i, "the kernel is out of memory or interfaces"],
];

function explainHostError(err: unknown, what: string): Error {
  if (err instanceof HostCommandError) {
    const s = err.stderr;
    if (/Operation not permitted|Permission denied/i.test(s)) {
      return new HostSetupError(`${what} needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN): run walnut with sudo`);
    }
    if (/not found|ENOENT/i.test(err.message) && /spawn/.test(err.message)) {
      return new HostSetupError(`${what} needs the 'ip' command: install iproute2`);
    }
    const said = s.trim().split("\n")[0] ?? "";
    const reason = IPROUTE_REASONS.find(([pattern]) => pattern.test(said));
    // The command's own words stay at the end, for whoever debugs it.
    if (reason !== undefined) return new HostSetupError(`${what} failed: ${reason[1]} (${err.command}: ${said.replace(/^RTNETLINK answers: /, "")})`);
    return new HostSetupError(`${what} failed: ${err.command} said "${said}"`);
  }
  return err instanceof Error ? err : new Error(String(err));
}
