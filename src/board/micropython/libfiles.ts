// The board's Python modules, real .py files under src/board/micropython/lib/ (usocket, socket, select,
// uselect, network, the start-up module _walnutboot, the asyncio package and uasyncio), read from disk and
// mapped to the interpreter's /lib (worker.ts writes them there before the script starts; runtime.ts adds
// the generated _walnutconst.py). The folder is found from the package root, so the same
// lookup serves the TypeScript source under vitest and the build in dist/ (which holds no .py files).

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const LIB_IN_PACKAGE = join("src", "board", "micropython", "lib");

/** src/board/micropython/lib of the package this file belongs to (from src/… or dist/src/…). */
export function boardLibDir(): string {
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    const lib = join(dir, LIB_IN_PACKAGE);
    if (existsSync(lib)) return lib;
    if (dirname(dir) === dir) throw new Error(`walnut: the board's Python library (${LIB_IN_PACKAGE}) is missing above ${start}`);
  }
}

/** Every .py file under the board's lib folder → { "/lib/<relative path>": source }. */
export function boardLibFiles(libDir: string = boardLibDir()): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (dir: string, rel: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path, `${rel}${entry.name}/`);
      else if (entry.name.endsWith(".py")) files[`/lib/${rel}${entry.name}`] = readFileSync(path, "utf8");
    }
  };
  walk(libDir, "");
  return files;
}
