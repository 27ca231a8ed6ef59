// A whole stack on one device: netif (Ethernet, ARP) → IPv4 (+ reassembly) → ICMP, IGMP, raw IP, UDP and
// TCP, with the DNS resolver (apps/dns) on UDP, sharing one scheduler and one entropy source; each protocol
// registers on `ip` by number. This is what a Board, the CLI and the whole-stack tests build; it holds no
// host resources besides the device it is given.

import type { Device } from "../link/device.js";
import type { Scheduler } from "../core/scheduler.js";
import type { MacAddr } from "../core/addr.js";
import { CryptoRandom, type Random } from "../core/random.js";
import { Prng } from "../core/prng.js";
import { Netif } from "../eth/netif.js";
import type { NeighborOptions } from "../eth/neighbor.js";
import type { AcdOptions } from "../eth/acd.js";
import { IpLayer } from "../ip/ip.js";
import type { ReassemblyOptions } from "../ip/reassembly.js";
import { Icmp, type IcmpOptions } from "../ip/icmp.js";
import { RawLayer } from "../ip/raw.js";
import { Igmp } from "../ip/igmp.js";
import { TcpLayer, type TcpConfig } from "../tcp/tcp.js";
import { UdpLayer } from "../udp/udp.js";
import { DnsResolver, type DnsResolverOptions } from "../apps/dns.js";

export interface StackConfig {
  mac: MacAddr;
  ip: number;
  netmask: number;
  gateway: number;
  mtu: number;
  neighbor?: Partial<NeighborOptions>;
  /** RFC 5227 conflict handling for the netif's address (defence off unless asked). */
  acd?: Partial<AcdOptions>;
  reassembly?: Partial<ReassemblyOptions>;
  icmp?: Partial<IcmpOptions>;
  tcp?: Partial<TcpConfig>;
  /** DNS servers and resolver limits (RFC 1035); servers may also be set later (DHCP). */
  dns?: DnsResolverOptions;
  /**
   * Where every random choice of the stack comes from: a seed (a `Prng`, so runs replay exactly) or any
   * `Random`. By default the OS CSPRNG, which ISNs, SYN cookies, ephemeral ports and DNS IDs need to stay
   * unguessable to off-path attackers (RFC 6528, RFC 4987 §3.6, RFC 6056, RFC 5452).
   */
  random?: number | Random;
}

export class Stack {
  readonly netif: Netif;
  readonly ip: IpLayer;
  readonly icmp: Icmp;
  readonly tcp: TcpLayer;
  readonly udp: UdpLayer;
  readonly raw: RawLayer;
  readonly igmp: Igmp;
  readonly dns: DnsResolver;
  /** The stack's one entropy source (StackConfig.random); applications on the stack (DHCP, ping) draw from it too. */
  readonly random: Random;
  private running = false;

  constructor(
    device: Device,
    config: StackConfig,
    readonly scheduler: Scheduler,
  ) {
    const random = config.random ?? new CryptoRandom();
    this.random = typeof random === "number" ? new Prng(random) : random;
    this.netif = new Netif(device, config, scheduler, this.random, config.neighbor, config.acd);
    this.ip = new IpLayer(this.netif, scheduler, this.random, config.reassembly);
    // The time of day for ICMP timestamp replies is the host's (a board's RTC is set from it); tests pass their own.
    this.icmp = new Icmp(this.ip, scheduler, { utcMs: () => Date.now(), ...config.icmp });
    this.tcp = new TcpLayer(this.ip, scheduler, this.random, config.tcp);
    this.udp = new UdpLayer(this.ip, this.icmp, this.random);
    this.dns = new DnsResolver(this.udp, scheduler, this.random, config.dns, this.tcp);
    // After Icmp: RawLayer takes over ip.onUnknownProtocol.
    this.raw = new RawLayer(this.ip, this.icmp);
    this.igmp = new Igmp(this.ip, scheduler, this.random);
  }

  /** Attaches to the device and announces the address. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.netif.up();
  }

  /** Releases the device and every timer this stack armed. Idempotent. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.tcp.shutdown();
    // Lookups in flight hold a deadline and a PCB: end them before the UDP PCBs go.
    this.dns.shutdown();
    for (const pcb of this.udp.allPcbs()) this.udp.close(pcb);
    for (const pcb of this.raw.allPcbs()) this.raw.close(pcb);
    this.igmp.shutdown();
    this.ip.shutdown();
    this.netif.down();
  }

  /** Every counter of every layer, by layer. */
  stats(): Record<string, Readonly<Record<string, number>>> {
    return {
      netif: this.netif.stats,
      arp: this.netif.neighbors.stats,
      acd: this.netif.acd.stats,
      ip: this.ip.stats,
      reassembly: this.ip.reassembler.stats,
      icmp: this.icmp.stats,
      tcp: this.tcp.stats,
      udp: this.udp.stats,
      raw: this.raw.stats,
      igmp: this.igmp.stats,
    };
  }
}
