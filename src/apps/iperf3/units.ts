// iperf3's way of printing amounts: bytes in binary units (KBytes = 1024) and bit rates in decimal ones
// (Mbits/sec = 10^6), three significant digits. Used by the server's log line and the client's report.

function scaled(value: number, base: number, units: readonly string[]): string {
  let v = value;
  let i = 0;
  while (v >= base && i < units.length - 1) {
    v /= base;
    i++;
  }
  const digits = v < 9.995 ? 2 : v < 99.95 ? 1 : 0;
  return `${v.toFixed(digits)} ${units[i] ?? ""}`;
}

/** "1.23 GBytes". */
export function formatBytes(bytes: number): string {
  return scaled(bytes, 1024, ["Bytes", "KBytes", "MBytes", "GBytes", "TBytes"]);
}

/** "4.37 Gbits/sec". */
export function formatBitrate(bitsPerSec: number): string {
  return scaled(bitsPerSec, 1000, ["bits/sec", "Kbits/sec", "Mbits/sec", "Gbits/sec", "Tbits/sec"]);
}

/**
 * A rate or size as iperf3 options take it: a number with an optional K, M, G or T suffix. Rates (`-b`)
 * are decimal (10M = 10 000 000 bits/s); sizes (`-l`, `-n`) binary (128K = 131 072 bytes), as iperf3 reads them.
 */
export function parseAmount(text: string, kind: "rate" | "size"): number | null {
  const m = /^(\d+(?:\.\d+)?)([kKmMgGtT]?)$/.exec(text.trim());
  if (m === null) return null;
  const base = kind === "rate" ? 1000 : 1024;
  const power = { "": 0, k: 1, m: 2, g: 3, t: 4 }[(m[2] ?? "").toLowerCase()] ?? 0;
  return Math.floor(Number(m[1]) * base ** power);
}
