// The virtual board: a Stack on a device chain (TAP → fault injection → capture → trace → netif) with the
// host side set up by HostLink, serving the built-in services: TCP echo 7, discard 9, chargen 19; UDP echo 7,
// discard 9; and, when asked, iperf3 on 5201.
// Its address is static or taken by DHCP (apps/dhcp); the TAP may join a Linux bridge to reach a LAN.
// `walnut up` and `walnut demo` build one; the MicroPython runtime joins it later.

import { RealClock } from "../core/clock.js";
import { Scheduler } from "../core/scheduler.js";
import { formatIpv4, formatMac, maskToPrefix, type MacAddr } from "../core/addr.js";
import type { Device } from "../link/device.js";
import { FaultInjector, type FaultOptions } from "../link/fault.js";
import { PcapWriter, wallClockMicros, type PcapTarget } from "../link/pcap.js";
import { fsReason } from "../core/fsError.js";
import { fstatSync, openSync } from "node:fs";
import { Tracer } from "../link/tracer.js";
import { describeFrame } from "../debug/describe.js";
import { HostLink, HostSetupError } from "../host/hostLink.js";
import { Stack } from "../stack/stack.js";
import { TcpServices } from "../apps/services.js";
import { UdpServices } from "../apps/udpServices.js";
import { DhcpClient, type DhcpClientOptions, type DhcpLease } from "../apps/dhcp.js";
import { ipIn } from "../host/iproute.js";
import { Iperf3Server } from "../apps/iperf3/server.js";
import { isReusable, removeLeaseFile, writeLeaseFile, type RememberedLease } from "./leaseFile.js";

export interface BoardOptions {
  mac: MacAddr;
  ip: number;
  netmask: number;
  gateway: number;
  mtu: number;
  tapName: string;
  netns: string | null;
  hostCidr: string | null;
  /** Where to write the pcapng capture: a file, "-" for standard output, or null for none. */
  pcapPath: string | null;
  /** Receives one decoded line per frame; null turns tracing off. */
  trace: ((line: string) => void) | null;
  faults: Partial<FaultOptions> | null;
  /** Take the address by DHCP (RFC 2131); `ip`, `netmask` and `gateway` are then ignored. */
  dhcp?: boolean;
  dhcpOptions?: Partial<DhcpClientOptions>;
  /**
   * Remember the lease in this file (board/leaseFile): written at every bind, removed when the lease is lost,
   * and kept on the server's books at stop (no DHCPRELEASE), so the next start asks for it back by
   * INIT-REBOOT. Null: nothing remembered, the lease is released at stop.
   */
  dhcpLeaseFile?: string | null;
  /** The lease read from `dhcpLeaseFile` at start; used if leased to `mac` and unexpired. */
  rememberedLease?: RememberedLease | null;
  /** Attach the TAP (kept in the current namespace, unaddressed) to this existing Linux bridge. */
  bridge?: string | null;
  /** Join the TAP to bridge `lan` inside the namespace, shared with other boards (created by the first). */
  lan?: string | null;
  /** DNS servers for the board's resolver; without them the DHCP lease's servers are used. */
  dnsServers?: number[];
  /**
   * Open the TAP with the virtio-net header and use TCP segmentation and checksum offload both ways (64 KiB
   * super-frames, partial checksums). Default true; false (`--no-offload`) exchanges plain frames only.
   */
  offload?: boolean;
  /**
   * Serve the built-in services (TCP echo 7, discard 9, chargen 19; UDP echo 7, discard 9). Default true;
   * `walnut run`/`repl` leave them off unless asked, as a real board serves none and a script may bind those ports.
   */
  services?: boolean;
  /** Serve iperf3 on port 5201 (apps/iperf3), `log` receiving one line per test; null or absent: off. */
  iperf3?: { log?: (line: string) => void } | null;
  /** Most TCP connections in any state but LISTEN (TcpConfig.maxPcbs; `walnut up --max-connections`). */
  maxConnections?: number;
  /** Accept-queue length of the built-in TCP services (`walnut up --backlog`). */
  backlog?: number;
}

export class Board {
  readonly scheduler = new Scheduler(new RealClock());
  readonly stack: Stack;
  readonly pcap: PcapWriter | null;
  readonly services: TcpServices;
  readonly udpServices: UdpServices;
  /** The iperf3 server when BoardOptions.iperf3 asks for it, else null. */
  readonly iperf3: Iperf3Server | null;
  /** The DHCP client when the board takes its address by DHCP, else null. */
  readonly dhcp: DhcpClient | null;
  private stopped = false;
  /** Why the last write of the lease file failed (null: it did not); `walnut up` reports it. */
  leaseFileError: string | null = null;
  /** Pending waitForLease calls, settled at stop(). */
  private readonly stopWaiters = new Set<() => void>();

  private constructor(
    readonly host: HostLink,
    readonly options: BoardOptions,
  ) {
    // Order matters: faults act on the wire; capture and trace show what the stack itself sees and sends.
    let device: Device = host.device;
    if (options.faults !== null) device = new FaultInjector(device, this.scheduler, options.faults);
    this.pcap = options.pcapPath !== null ? openCapture(device, options.pcapPath) : null;
    if (this.pcap !== null) device = this.pcap;
    if (options.trace !== null) device = new Tracer(device, describeFrame, options.trace, wallClockMicros);
    // With DHCP the board starts without an address (0.0.0.0) until the lease is bound.
    const isDhcp = options.dhcp === true;
    this.stack = new Stack(
      device,
      {
        mac: options.mac,
        ip: isDhcp ? 0 : options.ip,
        netmask: isDhcp ? 0 : options.netmask,
        gateway: isDhcp ? 0 : options.gateway,
        mtu: options.mtu,
        dns: { servers: options.dnsServers ?? [] },
        ...(options.maxConnections !== undefined ? { tcp: { maxPcbs: options.maxConnections } } : {}),
      },
      this.scheduler,
    );
    this.services = new TcpServices(this.stack.tcp);
    this.udpServices = new UdpServices(this.stack.udp);
    this.iperf3 =
      options.iperf3 != null
        ? new Iperf3Server(this.stack, { wallClockMicros, cpuUsage: () => process.cpuUsage(), log: options.iperf3.log ?? null })
        : null;
    const remembered = options.rememberedLease ?? null;
    const previousAddress = remembered !== null && isReusable(remembered, options.mac, Date.now()) ? remembered.ip : 0;
    const dhcpOptions = previousAddress !== 0 ? { ...options.dhcpOptions, previousAddress } : options.dhcpOptions;
    this.dhcp = isDhcp ? new DhcpClient(this.stack.udp, this.stack.netif, this.scheduler, this.stack.random, dhcpOptions) : null;
    const leaseFile = options.dhcpLeaseFile ?? null;
    if (this.dhcp !== null && leaseFile !== null) this.dhcp.addListener(this.leaseFileKeeper(leaseFile));
    if (this.dhcp !== null && (options.dnsServers ?? []).length === 0) {
      // RFC 2132 §3.8: the lease names the DNS servers; each (re)bind may change them.
      this.dhcp.addListener({ bound: (lease) => this.stack.dns.setServers([...lease.dnsServers]) });
    }
  }

  /** Keeps `path` in step with the lease; runs on the frame path, so a failing write is noted, never thrown. */
  private leaseFileKeeper(path: string): { bound(lease: DhcpLease): void; lost(): void } {
    const keep = (what: () => void): void => {
      try {
        what();
        this.leaseFileError = null;
      } catch (err) {
        this.leaseFileError = `--dhcp-lease: cannot write '${path}' (${(err as NodeJS.ErrnoException).code ?? String(err)})`;
      }
    };
    return {
      bound: (lease) =>
        keep(() => {
          const infinite = lease.leaseSeconds === 0xffffffff;
          // The lease counts on the scheduler's clock; the file needs the wall clock's.
          const leftMs = lease.obtainedAtMs + lease.leaseSeconds * 1000 - this.scheduler.now();
          writeLeaseFile(path, { mac: this.options.mac, ip: lease.ip, serverId: lease.serverId, expiresAtUnixMs: infinite ? null : Date.now() + leftMs });
        }),
      lost: () => keep(() => removeLeaseFile(path)),
    };
  }

  /** Whether stop() gives the lease back (RFC 2131 §4.4.6) rather than remembering it. */
  private get releasesLease(): boolean {
    return (this.options.dhcpLeaseFile ?? null) === null;
  }

  /** Sets up the host side, then brings the stack up. Throws with a user-facing message on failure. */
  static start(options: BoardOptions): Board {
    const host = HostLink.open({
      tapName: options.tapName,
      netns: options.netns,
      hostCidr: options.hostCidr,
      mtu: options.mtu,
      lan: options.lan ?? null,
      vnetHdr: options.offload ?? true,
    });
    try {
      if (options.bridge != null) attachToBridge(host.tapName, options.bridge);
      const board = new Board(host, options);
      board.stack.start();
      if (options.services ?? true) {
        board.services.start(0, options.backlog);
        board.udpServices.start();
      }
      // A fresh stack has nothing on port 5201 yet, so this listen cannot find it taken.
      board.iperf3?.start();
      board.dhcp?.start();
      return board;
    } catch (err) {
      host.close();
      throw err;
    }
  }

  /** One line describing the board, as `walnut up` prints it (the current address, static or leased). */
  describe(): string {
    const o = this.options;
    const netif = this.stack.netif;
    const where = this.host.netns !== null ? `netns ${this.host.netns}` : "current netns";
    const hostSide = o.hostCidr !== null ? `, kernel side ${o.hostCidr}` : "";
    const bridge = o.bridge != null ? `, bridge ${o.bridge}` : o.lan != null ? `, lan ${o.lan}` : "";
    const gw = netif.gateway !== 0 ? ` gw ${formatIpv4(netif.gateway)}` : "";
    let dhcp = "";
    const staticDns = o.dnsServers ?? [];
    let dns = staticDns.length > 0 ? ` dns ${staticDns.map(formatIpv4).join(",")}` : "";
    if (this.dhcp !== null) {
      const lease = this.dhcp.lease;
      if (lease === null) dhcp = ` (dhcp: ${this.dhcp.state})`;
      else {
        dhcp = ` (dhcp, lease ${lease.leaseSeconds === 0xffffffff ? "infinite" : `${lease.leaseSeconds} s`})`;
        if (lease.dnsServers.length > 0 && staticDns.length === 0) dns = ` dns ${lease.dnsServers.map(formatIpv4).join(",")}`;
      }
    }
    const faults =
      o.faults !== null
        ? ` faults ${Object.entries(o.faults)
            .map(([k, v]) => `${k}=${String(v)}`)
            .join(",")}`
        : "";
    const offload = this.host.device.hasVnetHdr ? "" : " no-offload";
    return `board up: ip ${formatIpv4(netif.ip)}/${maskToPrefix(netif.netmask)}${dhcp}${gw}${dns} mac ${formatMac(o.mac)} mtu ${o.mtu} tap ${this.host.tapName} (${where}${hostSide}${bridge})${offload}${faults}`;
  }

  /**
   * Resolves with the DHCP lease once bound (the netif's address-changed event), or null after `timeoutMs`
   * (or at once without DHCP, or when the board stops first).
   */
  waitForLease(timeoutMs: number): Promise<DhcpLease | null> {
    const dhcp = this.dhcp;
    if (dhcp === null) return Promise.resolve(null);
    if (dhcp.lease !== null || this.stopped) return Promise.resolve(dhcp.lease);
    const netif = this.stack.netif;
    return new Promise((resolve) => {
      const settle = (): void => {
        clearTimeout(timer);
        netif.removeAddressListener(onAddress);
        this.stopWaiters.delete(settle);
        resolve(dhcp.lease);
      };
      const onAddress = (): void => {
        if (dhcp.lease !== null) settle();
      };
      const timer = setTimeout(settle, timeoutMs);
      netif.addAddressListener(onAddress);
      this.stopWaiters.add(settle);
    });
  }

  /**
   * stop(), but a held DHCP lease is released first and the TAP kept open for `lingerMs`: a server on the
   * TAP's kernel side (dnsmasq) reads the DHCPRELEASE after it arrived, and drops it if the interface it came
   * in on is gone by then.
   */
  async stopGracefully(lingerMs = 200): Promise<void> {
    if (this.stopped) return;
    if (this.dhcp?.lease != null && this.releasesLease) {
      this.dhcp.stop();
      await new Promise((resolve) => setTimeout(resolve, lingerMs));
    }
    this.stop();
  }

  /** Stops the stack, flushes the capture, closes the TAP and removes what the host link created. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const settle of [...this.stopWaiters]) settle();
    this.services.stop();
    this.udpServices.stop();
    this.iperf3?.stop();
    // RFC 2131 §4.4.6: give the lease back (DHCPRELEASE) while the link still works, unless it is remembered.
    this.dhcp?.stop({ release: this.releasesLease });
    this.stack.stop();
    this.scheduler.stopHostTimer();
    this.host.close();
  }
}

/**
 * The capture on `path`, or on standard output for "-". A pipe on stdout is opened afresh through
 * /proc/self/fd/1: that gives the capture its own blocking file description, whatever Node does to fd 1
 * (it makes a pipe non-blocking once stdout is used as a stream). A file or anything else is written as fd 1.
 */
function openCapture(device: Device, path: string): PcapWriter {
  let target: PcapTarget = path;
  if (path === "-") {
    target = { fd: 1 };
    try {
      if (fstatSync(1).isFIFO()) target = { fd: openSync("/proc/self/fd/1", "w"), owned: true };
    } catch {
      // No /proc: write fd 1 as it is (the writer waits out EAGAIN).
    }
  }
  try {
    return new PcapWriter(device, target);
  } catch (err) {
    throw new HostSetupError(`cannot write the capture to ${path}: ${fsReason(err)}`);
  }
}

/** `ip link set TAP master BR`, after checking that BR is a Linux bridge in the current namespace. */
function attachToBridge(tap: string, bridge: string): void {
  let kind = "";
  try {
    const info: unknown = JSON.parse(ipIn(null, ["-j", "-d", "link", "show", "dev", bridge]));
    const first: unknown = Array.isArray(info) ? info[0] : null;
    const linkinfo: unknown = typeof first === "object" && first !== null ? (first as Record<string, unknown>)["linkinfo"] : null;
    const k: unknown = typeof linkinfo === "object" && linkinfo !== null ? (linkinfo as Record<string, unknown>)["info_kind"] : null;
    kind = typeof k === "string" ? k : "";
  } catch {
    throw new HostSetupError(`bridge '${bridge}' does not exist in this network namespace (create it first: ip link add ${bridge} type bridge)`);
  }
  if (kind !== "bridge") throw new HostSetupError(`'${bridge}' is not a Linux bridge (its type is ${kind === "" ? "a plain link" : kind})`);
  try {
    ipIn(null, ["link", "set", "dev", tap, "master", bridge]);
  } catch (err) {
    const why = err instanceof Error ? err.message.split("\n")[0] : String(err);
    throw new HostSetupError(`attaching ${tap} to bridge ${bridge} failed: ${why}`);
  }
}
