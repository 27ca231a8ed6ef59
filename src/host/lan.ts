// `--lan NAME`: several boards on one Linux bridge inside a namespace, as devices on one Wi-Fi network. The
// first board creates the bridge (and the namespace, if missing) and puts the kernel side's address on it;
// every board enslaves its TAP; the last one to leave removes the bridge, and the namespace too when a board
// created it (a marker file under /run/walnut remembers that, since the creator may leave first). Host set-up
// only, through iproute2; never on the frame path.

import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { deleteNetns, ipIn, linkExists } from "./iproute.js";

const MARKER_DIR = "/run/walnut";

function markerPath(netns: string): string {
  return join(MARKER_DIR, `lan-netns-${netns}`);
}

/** Joins TAP `tap` (already in `netns`) to bridge `lan` there, creating the bridge on first use. */
export function joinLan(netns: string, lan: string, tap: string, hostCidr: string | null, mtu: number, createdNetns: boolean): void {
  if (createdNetns) {
    mkdirSync(MARKER_DIR, { recursive: true });
    writeFileSync(markerPath(netns), `created by walnut --lan ${lan}\n`);
  }
  if (!linkExists(netns, lan)) {
    try {
      ipIn(netns, ["link", "add", lan, "type", "bridge"]);
    } catch (err) {
      // Another board made it at the same moment.
      if (!linkExists(netns, lan)) throw err;
    }
    ipIn(netns, ["link", "set", "dev", lan, "mtu", String(mtu)]);
  }
  if (hostCidr !== null) ipIn(netns, ["addr", "replace", hostCidr, "dev", lan]);
  ipIn(netns, ["link", "set", "dev", lan, "up"]);
  ipIn(netns, ["link", "set", "dev", tap, "mtu", String(mtu)]);
  ipIn(netns, ["link", "set", "dev", tap, "master", lan]);
  ipIn(netns, ["link", "set", "dev", tap, "up"]);
}

/** After this board's TAP is gone: the bridge goes when no port is left, the namespace when a board made it. */
export function leaveLan(netns: string, lan: string): void {
  if (!linkExists(netns, lan)) return;
  const ports: unknown = JSON.parse(ipIn(netns, ["-j", "link", "show", "master", lan]) || "[]");
  if (Array.isArray(ports) && ports.length > 0) return;
  ipIn(netns, ["link", "del", lan]);
  const marker = markerPath(netns);
  if (existsSync(marker)) {
    rmSync(marker, { force: true });
    deleteNetns(netns);
  }
}
