// Counters. Every layer owns a plain object of named numbers (`stats.ip.badChecksum`), incremented in place
// on the frame path; every drop has a reason with its own counter. `Stats` gathers them for `walnut`'s
// statistics view and for tests.

export type Counters<Name extends string> = Record<Name, number>;

/** A zeroed counter object with exactly these names. */
export function makeCounters<const Name extends string>(names: readonly Name[]): Counters<Name> {
  const c = {} as Counters<Name>;
  for (const n of names) c[n] = 0;
  return c;
}

/** Resets every counter in `c` to zero. */
export function resetCounters(c: Record<string, number>): void {
  for (const k of Object.keys(c)) c[k] = 0;
}

/** The non-zero counters as `name=value` pairs, for one-line summaries. */
export function formatCounters(c: Readonly<Record<string, number>>): string {
  return Object.entries(c)
    .filter(([, v]) => v !== 0)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
}
