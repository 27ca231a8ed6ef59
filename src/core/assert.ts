// Broken invariants are bugs, not input errors: they throw an InternalError that tests catch. Never used for
// conditions a peer can cause (those are counted drops).

export class InternalError extends Error {
  override readonly name = "InternalError";
}

export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new InternalError(message);
}
