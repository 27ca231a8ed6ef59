// The remembered DHCP lease (src/board/leaseFile.ts): written and read back, a missing file is "none yet",
// a directory or a file that is not a lease says so naming --dhcp-lease, and a lease is reused only for the
// MAC it was leased to and before it expires.

import { afterEach, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isReusable, LeaseFileError, readLeaseFile, removeLeaseFile, writeLeaseFile } from "../../src/board/leaseFile.js";
import { parseIpv4, parseMac } from "../../src/core/addr.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "walnut-lease-"));
  dirs.push(d);
  return d;
}

const MAC = parseMac("02:57:44:48:00:01");
const LEASE = { mac: MAC, ip: parseIpv4("10.55.1.57"), serverId: parseIpv4("10.55.1.1"), expiresAtUnixMs: Date.parse("2030-01-02T03:04:05.000Z") };

describe("the DHCP lease file", () => {
  it("round-trips as one JSON line; a missing file is null; removing twice is fine", () => {
    const path = join(tempDir(), "board.lease");
    expect(readLeaseFile(path)).toBeNull();
    writeLeaseFile(path, LEASE);
    expect(readFileSync(path, "utf8")).toBe('{"mac":"02:57:44:48:00:01","ip":"10.55.1.57","server":"10.55.1.1","expires":"2030-01-02T03:04:05.000Z"}\n');
    expect(readLeaseFile(path)).toEqual(LEASE);
    writeLeaseFile(path, { ...LEASE, expiresAtUnixMs: null });
    expect(readLeaseFile(path)?.expiresAtUnixMs).toBeNull();
    removeLeaseFile(path);
    removeLeaseFile(path);
    expect(readLeaseFile(path)).toBeNull();
  });

  it.each([
    ["not json", "hello"],
    ["an array", "[1]"],
    ["a bad address", '{"mac":"02:57:44:48:00:01","ip":"10.55.1","server":"10.55.1.1","expires":null}'],
    ["a bad MAC", '{"mac":"02:57","ip":"10.55.1.57","server":"10.55.1.1","expires":null}'],
    ["a bad date", '{"mac":"02:57:44:48:00:01","ip":"10.55.1.57","server":"10.55.1.1","expires":"soon"}'],
    ["a missing field", '{"mac":"02:57:44:48:00:01","ip":"10.55.1.57","expires":null}'],
  ])("a file with %s is refused, naming --dhcp-lease", (_what, text) => {
    const path = join(tempDir(), "board.lease");
    writeFileSync(path, text);
    expect(() => readLeaseFile(path)).toThrow(LeaseFileError);
    expect(() => readLeaseFile(path)).toThrow(`--dhcp-lease: '${path}' is not a walnut lease file`);
  });

  it("a directory is refused, naming --dhcp-lease", () => {
    const d = tempDir();
    expect(() => readLeaseFile(d)).toThrow(`--dhcp-lease: '${d}' is a directory, not a lease file`);
  });

  it("is reusable only by the MAC it was leased to, and only before it expires (an infinite lease always)", () => {
    const now = LEASE.expiresAtUnixMs - 1000;
    expect(isReusable(LEASE, MAC, now)).toBe(true);
    expect(isReusable(LEASE, parseMac("02:57:44:48:00:02"), now)).toBe(false);
    expect(isReusable(LEASE, MAC, LEASE.expiresAtUnixMs)).toBe(false);
    expect(isReusable({ ...LEASE, expiresAtUnixMs: null }, MAC, Number.MAX_SAFE_INTEGER)).toBe(true);
  });
});
