// `npm run stress`'s command line (stress/run.ts), run from source with vite-node (which vitest ships): a bad
// option or value is one line naming it and exit 2, --help the usage and exit 0, a non-root run one line and
// exit 1 — all before anything is set up.

import { describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { runAsync } from "../helpers/board.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const VITE_NODE = fileURLToPath(new URL("../../node_modules/vite-node/vite-node.mjs", import.meta.url));
const RUN = fileURLToPath(new URL("../../stress/run.ts", import.meta.url));

function stress(args: readonly string[], asUser: readonly string[] = []): ReturnType<typeof runAsync> {
  return runAsync([...asUser, process.execPath, VITE_NODE, RUN, "--", ...args], { timeoutMs: 30_000, cwd: ROOT });
}

const lines = (text: string): string[] => text.split("\n").filter((l) => l.length > 0);

describe("npm run stress: options", () => {
  it.each([
    { args: ["--bogus"], names: "--bogus" },
    { args: ["--only", "fuzz,bogus"], names: "--only" },
    { args: ["--soak-seconds", "0"], names: "--soak-seconds" },
    { args: ["--soak-seconds", "1.5"], names: "--soak-seconds" },
    { args: ["--json", "/nonexistent-folder/x.json"], names: "--json" },
    { args: ["extra"], names: "extra" },
  ])("$args: one line naming $names, exit 2", async ({ args, names }) => {
    const r = await stress(args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toContain(names);
  });

  it("--help prints the usage and every section, exit 0", async () => {
    const r = await stress(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: node dist\/stress\/run\.js/);
    for (const word of ["fuzz", "flood", "scale", "soak", "--quick", "--only", "--soak-seconds", "--json"]) expect(r.stdout).toContain(word);
  });

  it.runIf(process.getuid?.() === 0)("without root: one line, exit 1, nothing set up", async () => {
    const r = await stress(["--quick"], ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]);
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toEqual(["stress: needs root (a TAP device and network namespaces need CAP_NET_ADMIN): run it with sudo"]);
  });
});
