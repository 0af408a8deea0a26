/**
 * When and whether to try a delivery again. Retried: 5xx, 408, 429, timeouts and network errors. Not
 * retried: other 4xx and 3xx (redirects are never followed: a webhook that moved must be reconfigured, and
 * following one would let a receiver point Baton at an internal address). 410 Gone also disables the URL.
 */
export interface RetrySettings {
  baseDelayMs: number;
  maxDelayMs: number;
  maxAttempts: number;
  jitter: boolean;
}

/** The delay after attempt `attempt` (1-based) failed: base · 2^(attempt-1), capped, plus optional jitter. */
export function backoffDelay(
  attempt: number,
  settings: RetrySettings,
  random: () => number = Math.random,
): number {
  const exponential = settings.baseDelayMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30);
  const capped = Math.min(exponential, settings.maxDelayMs);
  return settings.jitter ? Math.round(capped + capped * 0.2 * random()) : capped;
}

/** `Retry-After` as delay-seconds or an HTTP-date; undefined when absent or unreadable. */
export function parseRetryAfter(header: string | undefined, nowMs: number = Date.now()): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

export type HttpVerdict = "delivered" | "retry" | "gone" | "rejected";

export function classifyStatus(status: number): HttpVerdict {
  if (status >= 200 && status < 300) return "delivered";
  if (status === 410) return "gone";
  if (status >= 500 || status === 408 || status === 429) return "retry";
  return "rejected";
}
