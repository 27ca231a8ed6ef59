// The virtual board: a Stack on a device chain (TAP → fault injection → capture → trace → netif) with the
// host side set up by HostLink, serving the built-in services: TCP echo 7, discard 9, chargen 19; UDP echo 7, discard 9.
// `walnut up` and `walnut demo` build one; the MicroPython runtime joins it later.

import { RealClock } from "../core/clock.js";
import { Scheduler } from "../core/scheduler.js";
import { formatIpv4, formatMac, maskToPrefix, type MacAddr } from "../core/addr.js";
import type { Device } from "../link/device.js";
import { FaultInjector, type FaultOptions } from "../link/fault.js";
import { PcapWriter, wallClockMicros } from "../link/pcap.js";
import { Tracer } from "../link/tracer.js";
import { describeFrame } from "../debug/describe.js";
import { HostLink } from "../host/hostLink.js";
import { Stack } from "../stack/stack.js";
import { TcpServices } from "../stack/services.js";
import { UdpServices } from "../stack/udpServices.js";

export interface BoardOptions {
  mac: MacAddr;
  ip: number;
  netmask: number;
  gateway: number;
  mtu: number;
  tapName: string;
  netns: string | null;
  hostCidr: string | null;
  pcapPath: string | null;
  /** Receives one decoded line per frame; null turns tracing off. */
  trace: ((line: string) => void) | null;
  faults: Partial<FaultOptions> | null;
}

export class Board {
  readonly scheduler = new Scheduler(new RealClock());
  readonly stack: Stack;
  readonly pcap: PcapWriter | null;
  readonly services: TcpServices;
  readonly udpServices: UdpServices;
  private stopped = false;

  private constructor(
    readonly host: HostLink,
    readonly options: BoardOptions,
  ) {
    // Order matters: faults act on the wire; capture and trace show what the stack itself sees and sends.
    let device: Device = host.device;
    if (options.faults !== null) device = new FaultInjector(device, this.scheduler, options.faults);
    this.pcap = options.pcapPath !== null ? new PcapWriter(device, options.pcapPath) : null;
    if (this.pcap !== null) device = this.pcap;
    if (options.trace !== null) device = new Tracer(device, describeFrame, options.trace, wallClockMicros);
    this.stack = new Stack(
      device,
      { mac: options.mac, ip: options.ip, netmask: options.netmask, gateway: options.gateway, mtu: options.mtu },
      this.scheduler,
    );
    this.services = new TcpServices(this.stack.tcp);
    this.udpServices = new UdpServices(this.stack.udp);
  }

  /** Sets up the host side, then brings the stack up. Throws with a user-facing message on failure. */
  static start(options: BoardOptions): Board {
    const host = HostLink.open({
      tapName: options.tapName,
      netns: options.netns,
      hostCidr: options.hostCidr,
      mtu: options.mtu,
    });
    try {
      const board = new Board(host, options);
      board.stack.start();
      board.services.start();
      board.udpServices.start();
      return board;
    } catch (err) {
      host.close();
      throw err;
    }
  }

  /** One line describing the board, as `walnut up` prints it. */
  describe(): string {
    const o = this.options;
    const where = this.host.netns !== null ? `netns ${this.host.netns}` : "current netns";
    const hostSide = o.hostCidr !== null ? `, kernel side ${o.hostCidr}` : "";
    const gw = o.gateway !== 0 ? ` gw ${formatIpv4(o.gateway)}` : "";
    return `board up: ip ${formatIpv4(o.ip)}/${maskToPrefix(o.netmask)}${gw} mac ${formatMac(o.mac)} mtu ${o.mtu} tap ${this.host.tapName} (${where}${hostSide})`;
  }

  /** Stops the stack, flushes the capture, closes the TAP and removes what the host link created. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.services.stop();
    this.udpServices.stop();
    this.stack.stop();
    this.scheduler.stopHostTimer();
    this.host.close();
  }
}
