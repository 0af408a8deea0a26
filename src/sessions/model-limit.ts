/**
 * What the model API said when it refused a request for a limit or a credential, as the runner reports it.
 * Measured with claude 2.1.329 (docs/operations.md, "Usage and rate limits"): the CLI never passes response
 * headers on, so the reset time comes from what it does report:
 * - a subscription usage limit (OAuth): `rate_limit_event {status: "rejected", resetsAt}` and no retry;
 * - an API rate limit with `retry-after` ≤ 60 s: `system/api_retry {error_status: 429, retry_delay_ms}`
 *   (the header's wait plus up to ~1.2 s), then the CLI retries by itself;
 * - `retry-after` > 60 s, or retries used up: an error result with `api_error_status: 429` and no time;
 * - 401: `api_retry {error_status: 401, error: "authentication_failed"}`, retried 10 times over ~3 min.
 */
export interface ModelLimit {
  kind: "usage_limit" | "auth";
  /** The HTTP status (429, 401), when known. */
  status: number | null;
  /** When the limit resets, when the API said so (ISO). */
  resetAt?: string;
  /** The CLI will retry by itself after this long (it read `retry-after`); the turn is still running. */
  retryInMs?: number;
  /** The readable reason (the API's or the CLI's text). */
  message: string;
}

/** The legacy CLI text "Claude AI usage limit reached|<epoch seconds>" carries the reset time. */
export function resetAtFromText(text: string): string | undefined {
  const epoch = /usage limit reached\|(\d{9,11})/i.exec(text)?.[1];
  return epoch ? new Date(Number(epoch) * 1000).toISOString() : undefined;
}

/** Auth failures the CLI reports in a result's text without a status (an expired OAuth token). */
export function isAuthFailureText(text: string): boolean {
  return /invalid api key|oauth token (has )?expired|authentication_error/i.test(text);
}
