// The DHCP lease a board remembers between runs (`walnut up --dhcp --dhcp-lease FILE`): the MAC it was leased
// to, the address, the server and when it expires on the wall clock. Board writes it at every bind and removes
// it when the lease is lost; the next start reads it and, if still unexpired, asks for the address back by
// INIT-REBOOT (RFC 2131 §4.4.2, apps/dhcp). A small JSON object, written to a temporary file then renamed, so a
// board killed mid-write leaves the old lease or the new one.

import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { formatIpv4, formatMac, parseIpv4, parseMac, type MacAddr } from "../core/addr.js";

export interface RememberedLease {
  /** The client the server knows: chaddr and option 61 are the MAC (apps/dhcp). */
  readonly mac: MacAddr;
  readonly ip: number;
  readonly serverId: number;
  /** Wall-clock expiry (ms since the Unix epoch); null for an infinite lease. */
  readonly expiresAtUnixMs: number | null;
}

/** A lease file that exists but cannot be read or is not one (the message names the file). */
export class LeaseFileError extends Error {}

/** The remembered lease, or null when the file does not exist yet (the first run). */
export function readLeaseFile(path: string): RememberedLease | null {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    if (code === "EISDIR") throw new LeaseFileError(`--dhcp-lease: '${path}' is a directory, not a lease file`);
    throw new LeaseFileError(`--dhcp-lease: cannot read '${path}' (${code ?? "error"})`);
  }
  const bad = new LeaseFileError(`--dhcp-lease: '${path}' is not a walnut lease file (remove it to start afresh)`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw bad;
  }
  if (typeof json !== "object" || json === null) throw bad;
  const o = json as Record<string, unknown>;
  const { mac, ip, server, expires } = o;
  if (typeof mac !== "string" || typeof ip !== "string" || typeof server !== "string") throw bad;
  if (expires !== null && typeof expires !== "string") throw bad;
  try {
    const expiresAtUnixMs = expires === null ? null : Date.parse(expires);
    if (expiresAtUnixMs !== null && Number.isNaN(expiresAtUnixMs)) throw bad;
    return { mac: parseMac(mac), ip: parseIpv4(ip), serverId: parseIpv4(server), expiresAtUnixMs };
  } catch {
    throw bad;
  }
}

/** Writes the lease (replacing the file atomically). */
export function writeLeaseFile(path: string, lease: RememberedLease): void {
  const json = {
    mac: formatMac(lease.mac),
    ip: formatIpv4(lease.ip),
    server: formatIpv4(lease.serverId),
    expires: lease.expiresAtUnixMs === null ? null : new Date(lease.expiresAtUnixMs).toISOString(),
  };
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(json)}\n`);
  renameSync(tmp, path);
}

export function removeLeaseFile(path: string): void {
  rmSync(path, { force: true });
}

/** Whether the remembered lease can be asked for again: leased to this MAC and not yet expired. */
export function isReusable(lease: RememberedLease, mac: MacAddr, nowUnixMs: number): boolean {
  if (formatMac(lease.mac) !== formatMac(mac)) return false;
  return lease.expiresAtUnixMs === null || lease.expiresAtUnixMs > nowUnixMs;
}
