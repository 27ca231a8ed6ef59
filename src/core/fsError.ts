// Words for Node's file-system errors (ENOENT, EISDIR, …), so a path the user gave that cannot be opened is
// reported as a sentence they can act on, not as "EISDIR: illegal operation on a directory, open '/tmp'".
// Used at the edges (the CLI, the board opening its capture); the frame path never touches files.

const REASONS: Readonly<Record<string, string>> = {
  ENOENT: "its folder does not exist",
  ENOTDIR: "a part of the path is a file, not a folder",
  EISDIR: "it is a folder; give a file name inside it",
  EACCES: "permission denied",
  EPERM: "permission denied",
  EROFS: "the file system is read-only",
  ENOSPC: "the disk is full",
  EDQUOT: "the disk quota is used up",
  ENAMETOOLONG: "the name is too long",
  EMFILE: "too many files are open",
  EPIPE: "the program reading it has gone away",
};

/** A system error's code (ENOENT…), or null for anything else. */
export function errorCode(err: unknown): string | null {
  if (typeof err !== "object" || err === null) return null;
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" && /^E[A-Z]+$/.test(code) ? code : null;
}

/** Why `err` happened, as a short phrase ("its folder does not exist"), or its own first line. */
export function fsReason(err: unknown): string {
  const code = errorCode(err);
  if (code !== null && REASONS[code] !== undefined) return REASONS[code];
  const text = err instanceof Error ? err.message : String(err);
  return text.split("\n")[0] ?? text;
}
