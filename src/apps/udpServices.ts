// Built-in UDP services of the board: echo (RFC 862, port 7) answers every datagram with itself, discard
// (RFC 863, port 9) drops them. Queues are deep enough for benchmarks (the board's default of 4 would drop).

import { UDP_MAX_DATA, type UdpLayer, type UdpPcb } from "../udp/udp.js";
import { Err, type ErrCode } from "../core/errors.js";
import { SERVICE_PORTS } from "./services.js";

export class UdpServices {
  private readonly pcbs: UdpPcb[] = [];
  private readonly scratch = new Uint8Array(UDP_MAX_DATA);

  constructor(private readonly udp: UdpLayer) {}

  start(localIp = 0): ErrCode {
    const udp = this.udp;
    const echo = udp.open({ maxQueuedDatagrams: 256, maxQueuedBytes: 1024 * 1024 });
    const discard = udp.open({ maxQueuedDatagrams: 256, maxQueuedBytes: 1024 * 1024 });
    for (const [pcb, port] of [
      [echo, SERVICE_PORTS.echo],
      [discard, SERVICE_PORTS.discard],
    ] as const) {
      const err = udp.bind(pcb, localIp, port);
      if (err !== Err.OK) {
        this.stop();
        udp.close(echo);
        udp.close(discard);
        return err;
      }
      this.pcbs.push(pcb);
    }
    echo.events = {
      readable: (pcb) => {
        while (!pcb.queue.isEmpty) {
          const src = pcb.queue.nextSrcIp;
          const port = pcb.queue.nextSrcPort;
          const n = udp.receive(pcb, this.scratch, 0, this.scratch.length);
          udp.sendTo(pcb, this.scratch, 0, n, src, port);
        }
      },
    };
    discard.events = {
      readable: (pcb) => {
        while (udp.receive(pcb, this.scratch, 0, 0) >= 0) {
          /* drained */
        }
      },
    };
    return Err.OK;
  }

  stop(): void {
    for (const pcb of this.pcbs.splice(0)) this.udp.close(pcb);
  }
}
