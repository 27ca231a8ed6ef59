// `walnut run script.py` on a board that is up: runs the file, its output on walnut's stdout, input() from
// walnut's stdin, Ctrl-C as KeyboardInterrupt (a second Ctrl-C stops the interpreter at once), the
// traceback of an uncaught exception on stderr → exit code 0 (ended normally) or 1.

import { readFileSync } from "node:fs";
import { createInterface, type Interface } from "node:readline";
import { runScript, type BoardNetwork } from "./runtime.js";

export async function runScriptFile(board: BoardNetwork, path: string): Promise<number> {
  const source = readFileSync(path, "utf8");
  let rl: Interface | null = null;
  const lines: string[] = [];
  const waiting: ((line: string | null) => void)[] = [];
  let ended = false;
  const readLine = (prompt: string): Promise<string | null> => {
    if (prompt.length > 0) process.stdout.write(prompt);
    if (rl === null) {
      rl = createInterface({ input: process.stdin, terminal: false });
      rl.on("line", (l) => {
        const w = waiting.shift();
        if (w !== undefined) w(l);
        else lines.push(l);
      });
      rl.on("close", () => {
        ended = true;
        for (const w of waiting.splice(0)) w(null);
      });
    }
    const l = lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    if (ended) return Promise.resolve(null);
    return new Promise((resolve) => waiting.push(resolve));
  };
  const run = await runScript(board, source, { readLine });
  let interrupts = 0;
  const onSigint = (): void => {
    interrupts += 1;
    if (interrupts === 1) run.interrupt();
    else void run.terminate();
  };
  process.on("SIGINT", onSigint);
  try {
    const r = await run.done;
    // runPython names the script "<stdin>"; the user knows it by its path.
    if (!r.ok && r.traceback !== null) process.stderr.write(r.traceback.replaceAll('File "<stdin>"', `File ${JSON.stringify(path)}`));
    return r.ok ? 0 : 1;
  } finally {
    process.off("SIGINT", onSigint);
    (rl as Interface | null)?.close();
    process.stdin.unref?.();
  }
}
