// docs/architecture.md "Folders and layers": imports point down only; upcalls go through interfaces handed over
// at construction. This test reads every import in src/ and fails on one that points up or sideways, and on an
// import circle (files that import each other, directly or round a loop). With imports across folders pointing
// down, a circle can only lie inside one folder; the search covers the whole graph all the same. The circle
// finder and the import reader check themselves on synthetic input.

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

/**
 * Import circles that exist today, each as the files in it (relative to src/): none. (tcp/input.ts and
 * tcp/tcp.ts formed one until tcp/context.ts put an interface between them.) Add nothing here: a new
 * circle is a design problem to fix, not to list.
 */
const KNOWN_CIRCLES: readonly (readonly string[])[] = [];

/** Relative specifiers a file's text imports or re-exports: type-only ones too (a circle of types is a circle). */
function importsOf(text: string): string[] {
  const specs: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\b[^'"]*?\bfrom\s+["'](\.[^"']+)["']/gm)) specs.push(m[1] ?? "");
  for (const m of text.matchAll(/^\s*import\s+["'](\.[^"']+)["']/gm)) specs.push(m[1] ?? "");
  return specs;
}

/** file → the files it imports, for every file under src/ (paths relative to src/, .js resolved to .ts). */
function importGraph(files: readonly string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const targets = importsOf(readFileSync(file, "utf8")).map((spec) => relative(SRC, resolve(dirname(file), spec)).replace(/\.js$/, ".ts"));
    graph.set(relative(SRC, file), targets);
  }
  return graph;
}

/**
 * The graph's circles: its strongly connected components with more than one file, or one file importing
 * itself (Tarjan's depth-first search). Each comes back sorted, the components in order of their first file.
 */
function circlesOf(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const circles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v) as number);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop() as string;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) circles.push(component.sort());
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return circles.sort((a, b) => (a[0] as string).localeCompare(b[0] as string));
}

/** One loop of imports from `start` back to it inside `circle` (breadth-first: a shortest one), as "a → b → a". */
function loopThrough(graph: ReadonlyMap<string, readonly string[]>, circle: readonly string[], start: string): string {
  const inside = new Set(circle);
  const cameFrom = new Map<string, string>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    const v = queue[i] as string;
    for (const w of graph.get(v) ?? []) {
      if (w === start) {
        const path = [start];
        for (let u: string | undefined = v; u !== undefined && u !== start; u = cameFrom.get(u)) path.splice(1, 0, u);
        return [...path, start].join(" → ");
      }
      if (inside.has(w) && !cameFrom.has(w)) {
        cameFrom.set(w, v);
        queue.push(w);
      }
    }
  }
  return `${start} (no loop: not a circle)`;
}

/** A circle is known when it is exactly one of KNOWN_CIRCLES; one that grew by a file is new. */
function isKnown(circle: readonly string[], known: readonly (readonly string[])[]): boolean {
  return known.some((k) => k.length === circle.length && [...k].sort().every((f, i) => f === circle[i]));
}

/** Known circles that no circle of the graph holds any more (one that grew is `newCircles`' business). */
function goneCircles(graph: ReadonlyMap<string, readonly string[]>, known: readonly (readonly string[])[]): (readonly string[])[] {
  const circles = circlesOf(graph);
  return known.filter((k) => !circles.some((c) => k.every((f) => c.includes(f))));
}

/** Each circle not in `known`, printed as a loop through a file the known circles do not hold. */
function newCircles(graph: ReadonlyMap<string, readonly string[]>, known: readonly (readonly string[])[]): string[] {
  const knownFiles = new Set(known.flat());
  return circlesOf(graph)
    .filter((c) => !isKnown(c, known))
    .map((c) => loopThrough(graph, c, c.find((f) => !knownFiles.has(f)) ?? (c[0] as string)));
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
      for (const spec of importsOf(text)) {
        const to = folderOf(resolve(dirname(file), spec));
        if (to === from) continue;
        if ((RANK[to] ?? 99) >= (RANK[from] ?? -1)) violations.push(`${relative(SRC, file)} imports ${spec} (${from} → ${to})`);
      }
    }
    expect(violations).toEqual([]);
  });

  it("has no import circle but the known ones", () => {
    const graph = importGraph(files);
    expect(newCircles(graph, KNOWN_CIRCLES), "new import circles (break them with an interface passed at construction)").toEqual([]);
  });

  it("lists only circles that still exist (drop an entry once its circle is gone)", () => {
    expect(goneCircles(importGraph(files), KNOWN_CIRCLES)).toEqual([]);
  });
});

describe("layering test, self-check", () => {
  const graphOf = (edges: Record<string, string[]>): Map<string, string[]> => new Map(Object.entries(edges));

  it("finds no circle in a graph without one, diamonds included", () => {
    const g = graphOf({ "a.ts": ["b.ts", "c.ts"], "b.ts": ["d.ts"], "c.ts": ["d.ts"], "d.ts": [] });
    expect(circlesOf(g)).toEqual([]);
    expect(newCircles(g, [])).toEqual([]);
  });

  it("finds a pair that imports each other, a longer loop with a tail into it, and a file importing itself", () => {
    const g = graphOf({
      "x/a.ts": ["x/b.ts"],
      "x/b.ts": ["x/a.ts", "core/z.ts"],
      "y/p.ts": ["y/q.ts"],
      "y/q.ts": ["y/r.ts"],
      "y/r.ts": ["y/p.ts"],
      "y/tail.ts": ["y/q.ts"],
      "s.ts": ["s.ts"],
      "core/z.ts": [],
    });
    expect(circlesOf(g)).toEqual([["s.ts"], ["x/a.ts", "x/b.ts"], ["y/p.ts", "y/q.ts", "y/r.ts"]]);
    expect(newCircles(g, [])).toEqual(["s.ts → s.ts", "x/a.ts → x/b.ts → x/a.ts", "y/p.ts → y/q.ts → y/r.ts → y/p.ts"]);
  });

  it("merges loops that share a file into one circle", () => {
    const g = graphOf({ "a.ts": ["b.ts"], "b.ts": ["a.ts", "c.ts"], "c.ts": ["b.ts"] });
    expect(circlesOf(g)).toEqual([["a.ts", "b.ts", "c.ts"]]);
  });

  it("lets a known circle pass, but not one that grew by a file, and prints the loop through the new file", () => {
    const known = [["x/b.ts", "x/a.ts"]];
    const same = graphOf({ "x/a.ts": ["x/b.ts"], "x/b.ts": ["x/a.ts"] });
    expect(newCircles(same, known)).toEqual([]);
    const grown = graphOf({ "x/a.ts": ["x/b.ts"], "x/b.ts": ["x/a.ts", "x/c.ts"], "x/c.ts": ["x/b.ts"] });
    expect(newCircles(grown, known)).toEqual(["x/c.ts → x/b.ts → x/c.ts"]);
    expect(goneCircles(grown, known)).toEqual([]);
  });

  it("reports a known circle that is gone, so the list keeps only circles that exist", () => {
    const known = [["x/a.ts", "x/b.ts"]];
    const broken = graphOf({ "x/a.ts": ["x/b.ts"], "x/b.ts": [] });
    expect(newCircles(broken, known)).toEqual([]);
    expect(goneCircles(broken, known)).toEqual([["x/a.ts", "x/b.ts"]]);
  });

  it("reads every form of relative import and re-export, and nothing else", () => {
    const text = [
      'import { a } from "./a.js";',
      'import type { B } from "../b/b.js";',
      "import {",
      "  c,",
      "  type C,",
      '} from "./c.js";',
      'export { d } from "./d.js";',
      'export * from "./e.js";',
      'export type { F } from "./f.js";',
      'import "./side-effect.js";',
      'import { readFileSync } from "node:fs";',
      'const notAnImport = "./g.js";',
      '// import { h } from "./h.js";',
      'export const label = "from ./i.js";',
    ].join("\n");
    expect(importsOf(text).sort()).toEqual(["../b/b.js", "./a.js", "./c.js", "./d.js", "./e.js", "./f.js", "./side-effect.js"]);
  });
});
