// The bench's progress line: one line on stderr, rewritten in place ("\r[tcp 12/40] board echo repeat 3/5 …"),
// only when stderr is a terminal; cleared at the end. Piped or redirected, it writes nothing, so logs and
// captured output stay clean. bench/run.ts owns one and hands each section a `Step` callback.

/** What a section is doing now: run `index` (1-based) of `total`, described by `what`. */
export interface Step {
  readonly index: number;
  readonly total: number;
  readonly what: string;
}

export type OnStep = (step: Step) => void;

/** The parts of a tty stream the line needs (process.stderr; a fake in tests). */
export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): boolean;
}

export class ProgressLine {
  /** Whether a line is on screen now (so a log line or clear() must erase it first). */
  private isShown = false;
  private lastText = "";
  private readonly isActive: boolean;

  constructor(
    private readonly out: ProgressStream,
    private readonly startedMs: number = Date.now(),
  ) {
    this.isActive = out.isTTY === true;
  }

  /** Shows `[section index/total] what · m:ss` (cut to the terminal's width). */
  step(section: string, s: Step): void {
    if (!this.isActive) return;
    const elapsedS = Math.floor((Date.now() - this.startedMs) / 1000);
    const clock = `${Math.floor(elapsedS / 60)}:${String(elapsedS % 60).padStart(2, "0")}`;
    this.show(`[${section} ${s.index}/${s.total}] ${s.what} · ${clock}`);
  }

  /** A log line (e.g. --verbose) above the progress line, which is redrawn under it. */
  log(line: string): void {
    if (!this.isActive) {
      this.out.write(`${line}\n`);
      return;
    }
    this.erase();
    this.out.write(`${line}\n`);
    if (this.lastText !== "") this.show(this.lastText);
  }

  /** Removes the line (at the end, or before the tables are printed). */
  clear(): void {
    if (!this.isActive) return;
    this.erase();
    this.lastText = "";
  }

  private show(text: string): void {
    // One column short of the width: a full-width line wraps on some terminals and \r then misses it.
    const columns = this.out.columns !== undefined && this.out.columns > 0 ? this.out.columns : 80;
    const width = Math.max(20, columns - 1);
    const shown = text.length > width ? `${text.slice(0, width - 1)}…` : text;
    this.lastText = text;
    this.out.write(`\r${shown}\x1b[K`);
    this.isShown = true;
  }

  private erase(): void {
    if (!this.isShown) return;
    this.out.write("\r\x1b[K");
    this.isShown = false;
  }
}
