/** Socket-level failures on the way to the database. */
const NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/** PostgreSQL's own: class 08 (connection exception) and the server shutting down or starting up. */
const SERVER_GONE = new Set(["57P01", "57P02", "57P03"]);

/**
 * Whether `error` says the database was out of reach (restarting, the network cut), as opposed to refusing
 * the statement itself (a constraint, a missing table): only the first is worth a retry, the second fails
 * the same way every time.
 */
export function isConnectionLost(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && (NETWORK_CODES.has(code) || code.startsWith("08") || SERVER_GONE.has(code)))
    return true;
  // node-postgres reports a connection that ended under a query or a pooled client with these words only.
  return /connection terminated|connection error|terminating connection/i.test(error.message);
}
