// The board's Python modules are real .py files (src/board/micropython/lib): every one compiles with CPython
// and with the board's own MicroPython compiler, and the constants they read come from the generated
// _walnutconst.py, whose values are the TypeScript sources' (nothing copied by hand).

import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { boardLibDir, boardLibFiles } from "../../src/board/micropython/libfiles.js";
import { walnutConstSource, WlanStatus } from "../../src/board/micropython/pyconst.js";
import { DATA_MAX, Op, Status } from "../../src/board/micropython/protocol.js";
import * as usocketConstants from "../../src/usocket/constants.js";
import { FS_ERRNO } from "../../src/board/micropython/hostfs.js";

interface MicroPython {
  runPython(code: string): unknown;
  FS: { mkdirTree(path: string): void; writeFile(path: string, data: string): void };
}

/** The interpreter, and what it printed since the last call of `printed`. */
async function loadMicroPython(): Promise<MicroPython & { printed(): string }> {
  const url = pathToFileURL(createRequire(import.meta.url).resolve("@micropython/micropython-webassembly-pyscript")).href;
  const mod = (await import(url)) as { loadMicroPython(o: { heapsize: number; stdout: (b: Uint8Array) => void; linebuffer: boolean }): Promise<MicroPython> };
  let out = "";
  const mp = await mod.loadMicroPython({ heapsize: 4 << 20, stdout: (b) => (out += new TextDecoder().decode(b)), linebuffer: false });
  return Object.assign(mp, {
    printed(): string {
      const t = out;
      out = "";
      return t;
    },
  });
}

describe("the board's Python files", () => {
  const files = boardLibFiles();

  it("include the board's modules and the asyncio package", () => {
    for (const name of ["usocket", "socket", "select", "uselect", "network", "_walnutboot", "uasyncio", "asyncio/__init__", "asyncio/core", "asyncio/stream"]) {
      expect(Object.keys(files)).toContain(`/lib/${name}.py`);
    }
  });

  it("compile with CPython (py_compile)", () => {
    const out = mkdtempSync(join(tmpdir(), "walnut-pyc-"));
    try {
      for (const path of Object.keys(files)) {
        const src = join(boardLibDir(), path.slice("/lib/".length));
        execFileSync("python3", ["-c", "import py_compile, sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True)", src, join(out, "x.pyc")]);
      }
      const consts = join(out, "_walnutconst.py");
      writeFileSync(consts, walnutConstSource({ hasFlash: true, pathFirst: ["/a b/c"], tracePins: true, softResets: 1 }));
      execFileSync("python3", ["-c", "import py_compile, sys; py_compile.compile(sys.argv[1], doraise=True)", consts]);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it("compile with the board's MicroPython", async () => {
    const mp = await loadMicroPython();
    for (const [path, text] of Object.entries(files)) {
      mp.FS.mkdirTree("/check");
      mp.FS.writeFile("/check/src.py", text);
      // compile() raises SyntaxError (a thrown PythonError) for anything MicroPython cannot parse.
      expect(() => mp.runPython(`compile(open('/check/src.py').read(), ${JSON.stringify(path)}, 'exec')`), path).not.toThrow();
    }
  });

  it("read constants generated from the TypeScript sources", async () => {
    const text = walnutConstSource({ hasFlash: false, pathFirst: ["/work/x"], tracePins: false, softResets: 0 });
    const mp = await loadMicroPython();
    mp.FS.mkdirTree("/lib");
    mp.FS.writeFile("/lib/_walnutconst.py", text);
    const expected: Record<string, unknown> = { DATA_MAX, HAS_FLASH: false, PATH_FIRST: ["/work/x"], TRACE_PINS: false, SOFT_RESETS: 0 };
    for (const [k, v] of Object.entries(usocketConstants)) expected[k] = v;
    for (const [k, v] of Object.entries(Op)) expected[`OP_${k}`] = v;
    for (const [k, v] of Object.entries(Status)) expected[`ST_${k}`] = v;
    for (const [k, v] of Object.entries(WlanStatus)) expected[k] = v;
    const names = Object.keys(expected);
    mp.runPython(`import _walnutconst as k, json\nprint(json.dumps([getattr(k, n) for n in ${JSON.stringify(names)}]))`);
    expect(JSON.parse(mp.printed())).toEqual(names.map((n) => expected[n]));
    mp.runPython("print(json.dumps(sorted(k.FS_ERRNO.items())))");
    expect(JSON.parse(mp.printed())).toEqual(Object.values(FS_ERRNO).map(([w, b]) => [w, b]).sort((a, b) => (a[0] as number) - (b[0] as number)));
  });
});
