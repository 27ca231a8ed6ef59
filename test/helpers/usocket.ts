// Small helpers shared by the usocket tests: the errno an OSError carries, and bytes as text.

import { OSError } from "../../src/usocket/index.js";

/**
 * The errno of the OSError that `call` raises: a function is called (synchronous errors), a promise is
 * awaited — through `settle` when given, so simulated time runs until it settles. Fails if nothing is raised.
 */
export async function errnoRaised(
  call: Promise<unknown> | (() => unknown),
  settle?: (p: Promise<unknown>) => Promise<unknown>,
): Promise<number> {
  try {
    if (typeof call === "function") call();
    else await (settle !== undefined ? settle(call) : call);
  } catch (e) {
    if (e instanceof OSError) return e.errno;
    throw e;
  }
  throw new Error("no OSError raised");
}

/** UTF-8 text of received bytes (null, from a non-blocking stream method, reads as ""). */
export const text = (b: Uint8Array | null): string => new TextDecoder().decode(b ?? new Uint8Array(0));
