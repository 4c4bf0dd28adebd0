import { Code, ConnectError } from "@floe/client";

/**
 * What went wrong with a call, in the terms the console shows:
 * - outage: the server or its stores could not answer (unavailable, deadline
 *   exceeded, the network failed, a proxy in front of Floe answered 502/503/504);
 * - invalid: the server rejected the request as malformed (invalid_argument);
 * - not_found: a named thing does not exist;
 * - other: anything else (internal, permission denied, unimplemented, ...).
 */
export type ErrorKind = "outage" | "invalid" | "not_found" | "other";

export interface ConsoleError {
  kind: ErrorKind;
  /** Connect code name, e.g. "unavailable", or "network" when no answer came. */
  code: string;
  /** The server's message (or the browser's, for a network failure). */
  message: string;
}

export function classifyError(err: unknown): ConsoleError {
  const ce = ConnectError.from(err);
  const cause = ce.cause as { name?: string } | undefined;
  // fetch rejects with a TypeError when no HTTP answer came at all.
  const network = ce.code === Code.Unknown && (cause?.name === "TypeError" || err instanceof TypeError);
  const code = network ? "network" : codeName(ce.code);
  let kind: ErrorKind = "other";
  if (network || ce.code === Code.Unavailable || ce.code === Code.DeadlineExceeded) kind = "outage";
  else if (ce.code === Code.InvalidArgument) kind = "invalid";
  else if (ce.code === Code.NotFound) kind = "not_found";
  return { kind, code, message: ce.rawMessage || ce.message };
}

/** Connect's wire name of a code: Code.InvalidArgument → "invalid_argument". */
export function codeName(code: Code): string {
  const name = Code[code] ?? String(code);
  return name.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}
