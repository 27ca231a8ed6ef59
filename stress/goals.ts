// Issue 11's goals beside what each stress section measured: one row per goal, "met" or "NOT met", for the
// one table stress/run.ts prints. The goal figures are the issue's; where the issue says "near baseline"
// the reading is NEAR_BASELINE's.

import type { FuzzResult } from "./fuzz.js";
import type { FloodResult } from "./flood.js";
import type { ScaleResult } from "./scale.js";
import type { SoakResult } from "./soak.js";
import type { PingHealth } from "./env.js";

export interface GoalRow {
  test: string;
  measured: string;
  goal: string;
  /** null: nothing to judge (the section failed before measuring, or the row only informs). */
  met: boolean | null;
}

/** "Back near baseline": at most 16 MiB or 10 % above it, whichever is more. */
export const NEAR_BASELINE = { slackBytes: 16 * 2 ** 20, slackFraction: 0.1 } as const;

export function isNearBaseline(baseline: number, after: number): boolean {
  return after <= baseline + Math.max(NEAR_BASELINE.slackBytes, baseline * NEAR_BASELINE.slackFraction);
}

const NEAR_TEXT = "RSS back near baseline (≤ +16 MiB or +10 %)";

/**
 * How long the memory sections wait, after their settle, for the RSS to come back: freed memory returns when
 * V8 collects the old generation, which on an idle process comes some tens of seconds later.
 */
export const RSS_RETURN_SECONDS = 60;
const RETURN_TEXT = `, within ${RSS_RETURN_SECONDS} s`;

/** " → X MiB N s later" when the section waited for the RSS to come back; "" when it was back at once. */
function returnedText(readFirst: number, returned: number, seconds: number): string {
  return seconds < 0.5 && returned === readFirst ? "" : ` → ${mib(returned)} ${seconds.toFixed(0)} s later`;
}

/** 1234567 → "1 234 567". */
export function grouped(n: number): string {
  return Math.round(n)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, " ");
}

/** 12345 → "12.3 k". */
function rate(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return n.toFixed(0);
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

function ms(v: number): string {
  if (v < 0) return "—";
  if (v >= 1000) return `${(v / 1000).toFixed(2)} s`;
  return v >= 10 ? `${v.toFixed(0)} ms` : `${v.toFixed(2)} ms`;
}

function pingText(p: PingHealth): string {
  return `ping ${p.answered}/${p.sent} answered (max ${ms(p.maxRttMs)})`;
}

function isHealthy(p: PingHealth): boolean {
  return p.sent > 0 && p.answered === p.sent && p.maxRttMs < 1000;
}

function failuresText(f: Record<string, number>): string {
  const parts = Object.entries(f).map(([k, v]) => `${k} ${v}`);
  return parts.length === 0 ? "" : ` (failed: ${parts.join(", ")})`;
}

export function fuzzRows(r: FuzzResult): GoalRow[] {
  return [
    {
      test: `fuzz: ${grouped(r.frames)} frames`,
      measured:
        `${grouped(r.sent)} written in ${r.seconds.toFixed(0)} s (${rate(r.framesPerSecond)}/s), ${grouped(r.refused)} refused by the kernel; ` +
        `board read ${grouped(r.boardRead)}, TAP queue drops ${grouped(r.tapDrops)}; ${pingText(r.ping)}; TCP echo after: ${r.echoAfter ? "ok" : "FAILED"}`,
      goal: "board healthy throughout (a ping a second, all answered)",
      met: isHealthy(r.ping) && r.echoAfter,
    },
    {
      test: "fuzz: memory",
      measured: `RSS ${mib(r.rssBefore)} → ${mib(r.rssAfter)} (peak ${mib(r.rssPeak)})`,
      goal: NEAR_TEXT,
      met: isNearBaseline(r.rssBefore, r.rssAfter),
    },
  ];
}

export function floodRows(r: FloodResult, transferBytes: number): GoalRow[] {
  const offered = r.offeredPerSecond;
  const dropShare = r.tapDrops / Math.max(1, r.tapDrops + r.boardReadPerSecond * r.seconds);
  const p = r.probe.rttMs;
  const c = r.connects;
  return [
    {
      test: `flood: ${r.seconds.toFixed(0)} s SYN flood, 10 sources`,
      measured:
        `SYNs offered ${rate(offered)}/s; board read ${rate(r.boardReadPerSecond)} frames/s (TAP queue dropped ${(dropShare * 100).toFixed(0)} %); ` +
        `SYNs handled ${rate(r.synsHandledPerSecond)}/s: answered ${rate(r.synsAnsweredPerSecond)}/s ` +
        `(by cookie ${rate(r.synsByCookiePerSecond)}/s), dropped ${rate(r.synsDroppedPerSecond)}/s`,
      // The precondition: the flood outruns what reaches the board through the TAP (its queue overflows).
      goal: "a flood of at least the TAP's frame rate (its queue overflows); SYNs handled per second",
      met: r.tapDrops > 0 && r.offeredPerSecond > r.boardReadPerSecond,
    },
    {
      test: `flood: ${transferBytes >> 20} MiB echo under it`,
      measured: r.transfer.intact === 1 ? `intact in ${r.transfer.seconds.toFixed(1)} s` : `NOT intact${failuresText(r.transfer.failures)}`,
      goal: "established transfers intact",
      met: r.transfer.intact === 1,
    },
    {
      test: "flood: 1-byte echo latency",
      measured:
        `p50 ${ms(p.p50)}, p99 ${ms(p.p99)}, max ${ms(p.max)} (${p.n} echoes on 10 connections` +
        `${r.probe.lost > 0 ? `; ${r.probe.lost} not back after 10 s` : ""}${r.probe.error !== undefined ? `; ${r.probe.error}` : ""})`,
      goal: "p99 ≤ 50 ms, max ≤ 1 s",
      met: r.probe.error === undefined && r.probe.lost === 0 && p.n > 0 && p.p99 <= 50 && p.max <= 1000,
    },
    {
      test: "flood: new connections",
      measured: `${c.intact}/${c.count} accepted and echoed (connect p50 ${ms(c.connectMs.p50)}, max ${ms(c.connectMs.max)})${failuresText(c.failures)}`,
      goal: "new legitimate connections still accepted (all)",
      met: c.intact === c.count,
    },
  ];
}

export function scaleRows(r: ScaleResult, busyBytes: number): GoalRow[] {
  const b = r.busy;
  const i = r.idle;
  return [
    {
      test: `scale: ${grouped(b.count)} concurrent × ${busyBytes >> 10} KiB echo`,
      measured: `${grouped(b.intact)}/${grouped(b.count)} intact in ${b.seconds.toFixed(1)} s${failuresText(b.failures)}`,
      goal: `${grouped(b.count)}/${grouped(b.count)}`,
      met: b.intact === b.count,
    },
    {
      test: `scale: ${grouped(i.count)} idle, then 1-byte echo each`,
      measured:
        `${grouped(r.idleHeld)} held (board: ${grouped(r.boardPcbsHeld)} PCBs) after ${r.idleOpenSeconds.toFixed(1)} s; ` +
        `${grouped(i.intact)}/${grouped(i.count)} echoed${failuresText(i.failures)}`,
      goal: `${grouped(i.count)}/${grouped(i.count)} held and echo`,
      met: r.idleHeld === i.count && i.intact === i.count,
    },
    {
      test: "scale: RSS per idle connection",
      measured: `${(r.rssPerIdleConnection / 1024).toFixed(0)} KiB (RSS ${mib(r.rssBeforeIdle)} → ${mib(r.rssIdleHeld)})`,
      goal: "≤ 32 KiB",
      met: r.rssPerIdleConnection <= 32 * 1024,
    },
    {
      test: "scale: memory after the connections closed",
      measured:
        `RSS ${mib(r.rssBefore)} → ${mib(r.rssAfterBusy)} after the busy ones → ${mib(r.rssAfter)} after the idle ones` +
        returnedText(r.rssAfter, r.rssReturned, r.returnSeconds),
      goal: `memory returned after a burst: ${NEAR_TEXT}${RETURN_TEXT}`,
      met: isNearBaseline(r.rssBefore, r.rssReturned),
    },
  ];
}

export function soakRows(r: SoakResult): GoalRow[] {
  const isIntact = r.churn.intact === r.churn.count && r.transfers.intact === r.transfers.runs && r.bursts.intact === r.bursts.runs;
  return [
    {
      test: `soak: ${r.seconds.toFixed(0)} s mixed load`,
      measured:
        `${pingText(r.ping)}; 1-byte echo p99 ${ms(r.probe.rttMs.p99)}, max ${ms(r.probe.rttMs.max)}; ` +
        `${grouped(r.churn.intact)}/${grouped(r.churn.count)} short connections, ${r.transfers.intact}/${r.transfers.runs} × 16 MiB transfers, ` +
        `${grouped(r.bursts.intact)}/${grouped(r.bursts.runs)} burst connections intact`,
      goal: "board healthy throughout, every transfer intact",
      met: isHealthy(r.ping) && isIntact && r.probe.error === undefined && r.probe.lost === 0,
    },
    {
      test: "soak: memory",
      measured: `RSS ${mib(r.rssStart)} → peak ${mib(r.rssPeak)} → ${mib(r.rssEnd)}${returnedText(r.rssEnd, r.rssReturned, r.returnSeconds)}`,
      goal: `${NEAR_TEXT}${RETURN_TEXT}`,
      met: isNearBaseline(r.rssStart, r.rssReturned),
    },
  ];
}

/** A row for a section that could not finish. */
export function failedRow(section: string, err: unknown): GoalRow {
  const message = err instanceof Error ? err.message : String(err);
  return { test: section, measured: `FAILED: ${message.split("\n")[0] ?? ""}`, goal: "the section runs to the end", met: false };
}

export function metText(met: boolean | null): string {
  return met === null ? "—" : met ? "met" : "NOT met";
}
