// The board's console input: lines of walnut's standard input (or of the REPL's terminal while a statement
// reads) queued for the interpreter's fd 0 — sys.stdin.readline()/read(n), input() — and polled by
// select.poll(sys.stdin). The CLI pushes lines in (script.ts, repl.ts); the bridge reads them (runtime.ts).

export interface ConsoleInput {
  /** The next line without its newline; null at end of input. Waits for one. */
  readLine(): Promise<string | null>;
  /** A line or the end of input is waiting (select.poll reports sys.stdin readable). */
  isReady(): boolean;
  /** Calls `f` when isReady() may have become true; → a function that cancels the call. */
  onReady(f: () => void): () => void;
}

/** A queue of console lines with end of input. */
export class LineConsole implements ConsoleInput {
  private readonly lines: string[] = [];
  private readonly readers: ((line: string | null) => void)[] = [];
  private readonly watchers = new Set<() => void>();
  private ended = false;
  private started = false;

  /** `start`, called once when the console is first read or polled, begins feeding it (e.g. reading stdin). */
  constructor(private readonly start?: () => void) {}

  private use(): void {
    if (this.started) return;
    this.started = true;
    this.start?.();
  }

  /** One line of input (without its newline). */
  push(line: string): void {
    if (this.ended) return;
    const reader = this.readers.shift();
    if (reader !== undefined) reader(line);
    else {
      this.lines.push(line);
      this.notify();
    }
  }

  /** End of input: waiting and later reads get null. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const r of this.readers.splice(0)) r(null);
    this.notify();
  }

  /** Someone is waiting for a line (the REPL routes typed lines here then, not to the prompt). */
  get isWaited(): boolean {
    return this.readers.length > 0;
  }

  readLine(): Promise<string | null> {
    this.use();
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve) => this.readers.push(resolve));
  }

  isReady(): boolean {
    this.use();
    return this.lines.length > 0 || this.ended;
  }

  onReady(f: () => void): () => void {
    this.use();
    this.watchers.add(f);
    return () => this.watchers.delete(f);
  }

  private notify(): void {
    for (const w of [...this.watchers]) w();
  }
}
