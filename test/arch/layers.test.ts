// DESIGN.md: imports point down the layers only; upcalls go through interfaces handed over at construction.
// This test reads every import in src/ and fails on one that points up or sideways.

import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve, dirname } from "node:path";
import { describe, expect, it } from "vitest";

/** Rank of each folder under src/: a file may import only from lower ranks or its own folder. */
const RANK: Readonly<Record<string, number>> = {
  core: 0,
  link: 1,
  eth: 2,
  host: 2,
  ip: 3,
  udp: 4,
  tcp: 4,
  // Applications on the transports (DHCP, DNS, ping, the built-in services), as lwIP's apps/ and smoltcp's
  // dhcpv4/dns sockets sit on UDP; the Stack assembles them, so it ranks above.
  apps: 5,
  debug: 5,
  stack: 6,
  usocket: 7,
  board: 8,
  cli: 9,
};

const SRC = resolve(__dirname, "../../src");

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : p.endsWith(".ts") ? [p] : [];
  });
}

function folderOf(path: string): string {
  return relative(SRC, path).split("/")[0] ?? "";
}

describe("layering", () => {
  const files = filesUnder(SRC);

  it("knows every folder in src/", () => {
    const folders = new Set(files.map(folderOf));
    for (const f of folders) expect(RANK[f], `src/${f} needs a rank in test/arch/layers.test.ts`).toBeDefined();
  });

  it("has no import pointing up or sideways", () => {
    const violations: string[] = [];
    for (const file of files) {
      const from = folderOf(file);
      const text = readFileSync(file, "utf8");
      for (const m of text.matchAll(/^\s*(?:import|export)[^'"]*from\s+["'](\.[^"']+)["']/gm)) {
        const target = resolve(dirname(file), m[1] ?? "");
        const to = folderOf(target);
        if (to === from) continue;
        if ((RANK[to] ?? 99) >= (RANK[from] ?? -1)) violations.push(`${relative(SRC, file)} imports ${m[1]} (${from} → ${to})`);
      }
    }
    expect(violations).toEqual([]);
  });
});
