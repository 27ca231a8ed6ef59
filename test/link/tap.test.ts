// TapDevice over the real TAP addon, against the Linux kernel in a namespace each test creates. Traffic only
// goes to 10.77.0.0/24 inside that namespace. Needs root, /dev/net/tun, ip and ping (else skipped, or red
// under CI). Frames are parsed by hand here; the ARP layout follows RFC 826, and the request built below was
// checked byte for byte against scapy's Ether()/ARP(op=1) for the same fields.

import { describe, it, expect, afterEach } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { canRunTapTests, uniqueName } from "../helpers/env.js";
import { createNetns, deleteNetns, moveLinkToNetns, configureLink, ipIn } from "../../src/host/iproute.js";
import { TapDevice, loadTapAddon } from "../../src/link/tap.js";
import type { FrameReceiver } from "../../src/link/device.js";

const run = canRunTapTests("tap.test.ts", ["ping"]);

const KERNEL_IP = [10, 77, 0, 1] as const;
const BOARD_IP = [10, 77, 0, 2] as const;
const BOARD_MAC = [0x02, 0, 0, 0, 0, 0x02] as const;
const ETHERTYPE_ARP = 0x0806;
const ARP_REQUEST = 1;
const ARP_REPLY = 2;

/** Copies every frame it is handed (the device reuses its slab) and counts batches. */
class Collector implements FrameReceiver {
  readonly frames: Uint8Array[] = [];
  batches = 0;
  onFrame: (() => void) | null = null;
  frame(bytes: Uint8Array, offset: number, length: number): void {
    this.frames.push(bytes.slice(offset, offset + length));
    this.onFrame?.();
  }
  endBatch(): void {
    this.batches++;
  }
}

interface Arp {
  op: number;
  senderMac: string;
  senderIp: string;
  targetMac: string;
  targetIp: string;
  dstMac: string;
}

const mac = (f: Uint8Array, at: number): string =>
  Array.from(f.subarray(at, at + 6), (b) => b.toString(16).padStart(2, "0")).join(":");
const ip = (f: Uint8Array, at: number): string => Array.from(f.subarray(at, at + 4)).join(".");

/** The ARP fields of an Ethernet frame, or null if it is not Ethernet/IPv4 ARP. */
function parseArp(f: Uint8Array): Arp | null {
  if (f.length < 42 || ((f[12]! << 8) | f[13]!) !== ETHERTYPE_ARP) return null;
  if (((f[14]! << 8) | f[15]!) !== 1 || ((f[16]! << 8) | f[17]!) !== 0x0800) return null;
  return {
    dstMac: mac(f, 0),
    op: (f[20]! << 8) | f[21]!,
    senderMac: mac(f, 22),
    senderIp: ip(f, 28),
    targetMac: mac(f, 32),
    targetIp: ip(f, 38),
  };
}

/** An ARP request "who has 10.77.0.1? tell 10.77.0.2 (02:00:00:00:00:02)", broadcast. */
function arpRequestFromBoard(): Uint8Array {
  const f = new Uint8Array(42).fill(0xa5);
  f.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 0); // Ethernet destination: broadcast
  f.set(BOARD_MAC, 6); // Ethernet source
  f.set([0x08, 0x06], 12); // EtherType ARP
  f.set([0x00, 0x01], 14); // hardware type Ethernet
  f.set([0x08, 0x00], 16); // protocol type IPv4
  f[18] = 6; // hardware address length
  f[19] = 4; // protocol address length
  f.set([0x00, ARP_REQUEST], 20); // operation: request
  f.set(BOARD_MAC, 22); // sender hardware address
  f.set(BOARD_IP, 28); // sender protocol address
  f.set([0, 0, 0, 0, 0, 0], 32); // target hardware address: unknown
  f.set(KERNEL_IP, 38); // target protocol address
  return f;
}

/** Resolves when `cond()` holds (checked every 10 ms), rejects after `timeoutMs`. */
async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.runIf(run)("TapDevice on a real TAP", () => {
  const devices: TapDevice[] = [];
  const namespaces: string[] = [];
  const children: ChildProcess[] = [];

  afterEach(async () => {
    for (const c of children.splice(0)) {
      if (c.exitCode === null && c.signalCode === null) {
        c.kill("SIGKILL");
        await new Promise((r) => c.once("exit", r));
      }
    }
    for (const d of devices.splice(0)) d.close();
    for (const ns of namespaces.splice(0)) deleteNetns(ns);
  });

  /** A TAP moved into a fresh namespace whose kernel side is 10.77.0.1/24 and up. */
  function tapInNamespace(vnetHdr = false): { tap: TapDevice; ns: string } {
    const ns = uniqueName("wtns");
    createNetns(ns);
    namespaces.push(ns);
    const tap = TapDevice.open({ name: uniqueName("wtap"), vnetHdr });
    devices.push(tap);
    moveLinkToNetns(tap.name, ns);
    configureLink(ns, tap.name, "10.77.0.1/24");
    return { tap, ns };
  }

  /** `ping -c 1 10.77.0.2` inside `ns`: nobody answers, but the kernel ARPs for it through the TAP. */
  function pingBoard(ns: string): ChildProcess {
    const child = spawn("ip", ["netns", "exec", ns, "ping", "-c", "1", "-W", "1", BOARD_IP.join(".")], {
      stdio: "ignore",
    });
    children.push(child);
    return child;
  }

  for (const vnetHdr of [false, true]) {
    it(`receives the kernel's ARP request for 10.77.0.2 (vnetHdr ${vnetHdr})`, async () => {
      const { tap, ns } = tapInNamespace(vnetHdr);
      const rx = new Collector();
      tap.attach(rx);
      pingBoard(ns);
      const isArpForBoard = (f: Uint8Array): boolean => {
        const arp = parseArp(f);
        return arp !== null && arp.op === ARP_REQUEST && arp.targetIp === "10.77.0.2";
      };
      await waitFor(() => rx.frames.some(isArpForBoard), 3000, "an ARP request for 10.77.0.2");
      const arp = parseArp(rx.frames.find(isArpForBoard)!)!;
      expect(arp.senderIp).toBe("10.77.0.1");
      expect(arp.dstMac).toBe("ff:ff:ff:ff:ff:ff");
      expect(rx.batches).toBeGreaterThan(0);
      expect(tap.stats.rxFrames).toBeGreaterThanOrEqual(rx.frames.length);
      expect(tap.stats.rxErrors).toBe(0);
    });
  }

  for (const vnetHdr of [false, true]) {
    it(`sends an ARP request the kernel answers and learns the board's MAC from (vnetHdr ${vnetHdr})`, async () => {
      const { tap, ns } = tapInNamespace(vnetHdr);
      const rx = new Collector();
      tap.attach(rx);
      // Offset the frame inside a larger buffer to check that transmit honours offset and length.
      const frame = arpRequestFromBoard();
      const buf = new Uint8Array(100).fill(0xa5);
      buf.set(frame, 7);
      expect(tap.transmit(buf, 7, frame.length)).toBe(true);
      const isReply = (f: Uint8Array): boolean => parseArp(f)?.op === ARP_REPLY;
      await waitFor(() => rx.frames.some(isReply), 3000, "the kernel's ARP reply");
      const reply = parseArp(rx.frames.find(isReply)!)!;
      expect(reply.dstMac).toBe("02:00:00:00:00:02");
      expect(reply.senderIp).toBe("10.77.0.1");
      expect(reply.targetIp).toBe("10.77.0.2");
      expect(reply.targetMac).toBe("02:00:00:00:00:02");
      const linkJson = ipIn(ns, ["-j", "link", "show", "dev", tap.name]);
      expect(linkJson).toContain(reply.senderMac);
      expect(ipIn(ns, ["neigh", "show", "dev", tap.name])).toMatch(/10\.77\.0\.2 lladdr 02:00:00:00:00:02/);
      expect(tap.stats.txFrames).toBe(1);
    });
  }

  it("rejects a name longer than 15 bytes with EINVAL and says the limit", () => {
    const open = (): TapDevice => TapDevice.open({ name: "walnut-too-long-0" });
    expect(open).toThrow(/at most 15 bytes/);
    expect(open).toThrow(expect.objectContaining({ code: "EINVAL" }));
  });

  it("refuses a second open of a TAP in use with EBUSY", () => {
    // Stays in this namespace, down and unaddressed: no traffic is sent on it.
    const first = TapDevice.open({ name: uniqueName("wtbusy") });
    devices.push(first);
    let caught: unknown = null;
    try {
      devices.push(TapDevice.open({ name: first.name }));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(Error);
    expect((caught as Error & { code?: string }).code).toBe("EBUSY");
    expect((caught as Error).message).toContain("in use");
    expect((caught as Error).message).toContain(first.name);
  });

  it("close() is idempotent and transmit afterwards returns false", () => {
    const { tap } = tapInNamespace();
    tap.attach(new Collector());
    tap.close();
    tap.close();
    expect(tap.transmit(arpRequestFromBoard(), 0, 42)).toBe(false);
    expect(tap.stats.txFrames).toBe(0);
  });

  it("the addon's write returns -1 after close and counts the drop", () => {
    const handle = loadTapAddon().open(uniqueName("wtcl"), { vnetHdr: false });
    handle.close();
    handle.close();
    expect(handle.write(new Uint8Array(60), 0, 60)).toBe(-1);
    expect(handle.stats().txDropped).toBe(1);
  });

  it("survives close() from inside a batch", async () => {
    const { tap, ns } = tapInNamespace();
    const rx = new Collector();
    rx.onFrame = () => tap.close();
    tap.attach(rx);
    pingBoard(ns);
    await waitFor(() => rx.frames.length > 0, 3000, "a first frame");
    // Give the event loop a few turns: no frame may arrive after close, and nothing may crash.
    await new Promise((r) => setTimeout(r, 100));
    expect(rx.frames.length).toBe(1);
    expect(rx.batches).toBe(0);
    expect(tap.transmit(arpRequestFromBoard(), 0, 42)).toBe(false);
  });

  it("a closed reader does not keep the process alive", async () => {
    const addonPath = builtAddonPath();
    // The child opens a TAP in this namespace (down, no traffic), reads, closes, and must then exit by itself.
    const script = `
      import { createRequire } from "node:module";
      const addon = createRequire(import.meta.url)(${JSON.stringify(addonPath)});
      const h = addon.open("", { vnetHdr: false });
      h.startReading(new Uint8Array(4096), new Uint32Array(2), 2048, 2, () => {});
      setTimeout(() => h.close(), 50);
    `;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: "ignore" });
    children.push(child);
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => resolve(-1), 3000);
      child.once("exit", (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    expect(code).toBe(0);
  });
});

/** The addon path TapDevice uses, for the child process. */
function builtAddonPath(): string {
  return new URL("../../native/build/Release/walnut_tap.node", import.meta.url).pathname;
}
