// The board's link to the host: a TAP whose kernel side lives in a network namespace (created here and
// removed at close if it did not exist) or, with `netns: null`, in the current namespace. Owns only what it
// created. Used by `walnut up`, `walnut demo`, the benchmarks and the interop tests.

import { TapDevice } from "../link/tap.js";
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
    let device: TapDevice;
    try {
      device = TapDevice.open({ name: o.tapName, mtu: o.mtu, vnetHdr: o.vnetHdr ?? false });
    } catch (err) {
      if (createdNetns && o.netns !== null) deleteNetns(o.netns);
      throw err;
    }
    // An existing TAP is used as it is, where it is; a TAP we created goes into the namespace.
    const netns = existed ? null : o.netns;
    const link = new HostLink(device, device.name, netns, createdNetns, existed);
    try {
      if (netns !== null) moveLinkToNetns(device.name, netns);
      if (!existed || o.hostCidr !== null) configureLink(netns, device.name, o.hostCidr, existed ? undefined : o.mtu);
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
    if (this.createdNetns && this.netns !== null) {
      try {
        deleteNetns(this.netns);
      } catch {
        // Already gone (someone removed it by hand): nothing left to clean.
      }
    }
  }
}

function explainHostError(err: unknown, what: string): Error {
  if (err instanceof HostCommandError) {
    const s = err.stderr;
    if (/Operation not permitted|Permission denied/i.test(s)) {
      return new HostSetupError(`${what} needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN): run walnut with sudo`);
    }
    if (/not found|ENOENT/i.test(err.message) && /spawn/.test(err.message)) {
      return new HostSetupError(`${what} needs the 'ip' command: install iproute2`);
    }
    return new HostSetupError(`${what} failed: ${s.trim().split("\n")[0] ?? ""}`);
  }
  return err instanceof Error ? err : new Error(String(err));
}
