// `walnut run [options] script.py [args…]` (or `walnut run --fs DIR`, which boots boot.py then main.py from
// the folder) on a board that is up: the script's output on walnut's stdout, its console (sys.stdin,
// input()) on walnut's stdin, Ctrl-C as KeyboardInterrupt — a script that does not end within a second
// (a pure-Python loop the interpreter cannot break into) is stopped — and the traceback of an uncaught
// exception on stderr → the script's exit status (0, sys.exit's code, or 1 after an uncaught exception).

import { readFileSync } from "node:fs";
import { createInterface, type Interface } from "node:readline";
import { LineConsole, pinLogger, runScript, type BoardNetwork, type WifiNetwork } from "./runtime.js";

export interface RunFileOptions {
  /** sys.argv[1:]. */
  argv?: readonly string[];
  /** Log machine.Pin changes on stderr. */
  tracePins?: boolean;
  /** The board's flash (--fs DIR). */
  fsDir?: string;
  /** The one access point WLAN.connect() accepts (--wifi); null or absent: every SSID and key join. */
  wifi?: WifiNetwork | null;
}

/** How long a Ctrl-C may take to end the script before the interpreter is stopped. */
const INTERRUPT_GRACE_MS = 1000;

export async function runScriptFile(board: BoardNetwork, path: string | null, options: RunFileOptions = {}): Promise<number> {
  const source = path === null ? null : readFileSync(path, "utf8");
  let rl: Interface | null = null;
  const console = new LineConsole(() => {
    rl = createInterface({ input: process.stdin, terminal: false });
    rl.on("line", (l) => console.push(l));
    rl.on("close", () => console.end());
  });
  const start = (softResets: number): ReturnType<typeof runScript> =>
    runScript(board, source, {
      console,
      softResets,
      tracePins: options.tracePins === true,
      pinChanged: pinLogger(),
      wifi: options.wifi ?? null,
      ...(path !== null ? { scriptPath: path } : {}),
      ...(options.argv !== undefined ? { argv: options.argv } : {}),
      ...(options.fsDir !== undefined ? { fsDir: options.fsDir } : {}),
    });
  let run = await start(0);
  let stopTimer: NodeJS.Timeout | null = null;
  let stoppedByUs = false;
  const onSigint = (): void => {
    run.interrupt();
    if (stopTimer !== null) return;
    stopTimer = setTimeout(() => {
      stoppedByUs = true;
      void run.terminate();
    }, INTERRUPT_GRACE_MS);
  };
  process.on("SIGINT", onSigint);
  try {
    let r = await run.done;
    // machine.reset(): the script starts again in a fresh interpreter on the same board, as after a board's
    // soft reset (its console and files stay; its sockets were closed).
    for (let resets = 1; r.reset === true; resets++) {
      process.stderr.write("MPY: soft reboot\n");
      run = await start(resets);
      r = await run.done;
    }
    if (stoppedByUs) {
      process.stderr.write("KeyboardInterrupt: (the script did not stop; its interpreter was ended)\n");
      return 1;
    }
    if (!r.ok && r.traceback !== null) process.stderr.write(r.traceback);
    return r.exitCode;
  } finally {
    if (stopTimer !== null) clearTimeout(stopTimer);
    process.off("SIGINT", onSigint);
    (rl as Interface | null)?.close();
    process.stdin.unref?.();
  }
}
