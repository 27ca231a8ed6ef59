// `walnut repl` on a board that is up: MicroPython's interactive REPL on walnut's terminal. On a TTY stdin
// is put in raw mode and every key goes to the REPL's line editor (history, tab completion, auto-indent,
// Ctrl-C, Ctrl-D on an empty line to leave); piped stdin is fed line by line, and its end leaves the REPL
// (after running a statement still being entered). A statement that reads the console (input()) gets the
// next line typed. Ctrl-C while a statement runs raises KeyboardInterrupt in a blocked call or sleep; a
// statement still running a second later (a pure-Python loop the interpreter cannot break into) ends with a
// soft reset: a fresh interpreter at a new prompt, the board itself still up. → exit code 0 when the REPL
// was left (Ctrl-D, EOF, exit()), 1 otherwise.

import { createInterface } from "node:readline";
import { pinLogger, startRepl, type BoardNetwork, type WifiNetwork } from "./runtime.js";

/** How long a statement may take to stop after Ctrl-C before the REPL is soft-reset. */
const INTERRUPT_GRACE_MS = 1000;

export async function runRepl(board: BoardNetwork, options: { tracePins?: boolean; fsDir?: string; wifi?: WifiNetwork | null } = {}): Promise<number> {
  const repl = await startRepl(board, { ...options, stdout: (t) => void process.stdout.write(t), pinChanged: pinLogger("\r\n") });
  let resetTimer: NodeJS.Timeout | null = null;
  const ctrlC = (): void => {
    if (repl.ctrlC() === "line" || resetTimer !== null) return;
    resetTimer = setTimeout(() => {
      if (repl.isBusy()) {
        process.stderr.write("\r\nwalnut: the statement did not stop at Ctrl-C (a pure-Python loop): soft reset\r\n");
        void repl.softReset();
      }
      resetTimer = null;
    }, INTERRUPT_GRACE_MS);
  };
  process.on("SIGINT", ctrlC);
  const stdin = process.stdin;
  const tty = stdin.isTTY === true;
  const cleanup: (() => void)[] = [];
  if (tty) {
    stdin.setRawMode(true);
    stdin.setEncoding("utf8");
    const onData = (text: string): void => {
      // Ctrl-C is a character in raw mode; it may arrive with other keys (a paste).
      const parts = text.split("\x03");
      parts.forEach((part, i) => {
        if (i > 0) ctrlC();
        if (part.length > 0) repl.chars(part);
      });
    };
    stdin.on("data", onData);
    stdin.on("end", () => repl.eof());
    cleanup.push(() => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
    });
  } else {
    const rl = createInterface({ input: stdin, terminal: false });
    rl.on("line", (l) => repl.line(l));
    rl.on("close", () => repl.eof());
    cleanup.push(() => {
      rl.close();
      stdin.unref?.();
    });
  }
  try {
    const r = await repl.done;
    if (!r.ok && r.traceback !== null) process.stderr.write(r.traceback);
    else process.stdout.write("\n");
    return r.ok ? 0 : 1;
  } finally {
    if (resetTimer !== null) clearTimeout(resetTimer);
    process.off("SIGINT", ctrlC);
    for (const c of cleanup) c();
  }
}
