// A netstat-like snapshot of a running board, printed by `walnut up` on SIGUSR1: TCP connections with their
// RFC 9293 variables and congestion state, listeners, UDP PCBs, the ARP neighbour cache, and every non-zero
// counter (drops included) — the packet-level debugger's view of what the stack holds right now.

import type { Stack } from "../stack/stack.js";
import { formatIpv4, formatMac } from "../core/addr.js";
import { formatCounters } from "../core/stats.js";

function endpoint(ip: number, port: number): string {
  return `${ip === 0 ? "*" : formatIpv4(ip)}:${port === 0 ? "*" : port}`;
}

/** The snapshot as lines of text. */
export function netstatLines(stack: Stack): string[] {
  const out: string[] = [];
  const tcp = stack.tcp;
  out.push("TCP connections:");
  const pcbs = tcp.allPcbs();
  if (pcbs.length === 0) out.push("  (none)");
  for (const pcb of pcbs) {
    const i = tcp.info(pcb);
    out.push(
      `  ${i.local.padEnd(21)} ${i.remote.padEnd(21)} ${i.state.padEnd(12)} snd una=${i.sndUna} nxt=${i.sndNxt} max=${i.sndMax} wnd=${i.sndWnd}` +
        ` rcv nxt=${i.rcvNxt} wnd=${i.rcvWnd} mss=${i.mss}${i.pathMtu > 0 ? ` pmtu=${i.pathMtu}` : ""} cwnd=${i.cwnd} ssthresh=${i.ssthresh >= Number.MAX_SAFE_INTEGER ? "inf" : i.ssthresh}` +
        ` srtt=${i.srttMs.toFixed(1)}ms rttvar=${i.rttvarMs.toFixed(1)}ms rto=${Math.round(i.rtoMs)}ms rtx=${i.retransmits}` +
        `${i.inRecovery ? " recovery" : ""}${i.sackBlocks.length > 0 ? ` sack=${JSON.stringify(i.sackBlocks)}` : ""}` +
        ` queued snd=${i.sendQueued} rcv=${i.recvQueued} [${i.options}]`,
    );
  }
  out.push("TCP listeners:");
  const listeners = tcp.activeListeners;
  if (listeners.length === 0) out.push("  (none)");
  for (const l of listeners) {
    out.push(`  ${endpoint(l.localIp, l.localPort).padEnd(21)} backlog=${l.backlog} accept-queue=${l.acceptQueue.length} syn-queue=${l.synQueueLength}`);
  }
  out.push("UDP:");
  const udp = stack.udp.allPcbs();
  if (udp.length === 0) out.push("  (none)");
  for (const pcb of udp) {
    const peer = pcb.remoteIp !== 0 ? ` peer ${endpoint(pcb.remoteIp, pcb.remotePort)}` : "";
    out.push(`  ${endpoint(pcb.localIp, pcb.localPort).padEnd(21)}${peer} queued=${pcb.queue.length} dropped=${pcb.dropped}`);
  }
  out.push("ARP neighbours:");
  const neighbors = stack.netif.neighbors.list(stack.scheduler.now());
  if (neighbors.length === 0) out.push("  (none)");
  for (const n of neighbors) {
    const mac = n.mac === null ? "(incomplete)" : formatMac(n.mac);
    out.push(`  ${formatIpv4(n.ip).padEnd(15)} ${mac.padEnd(17)} ${n.state} expires in ${Math.round(n.expiresInMs / 1000)} s, ${n.pendingFrames} frames waiting`);
  }
  out.push("counters:");
  for (const [layer, counters] of Object.entries(stack.stats())) {
    const line = formatCounters(counters);
    if (line.length > 0) out.push(`  ${layer}: ${line}`);
  }
  return out;
}
