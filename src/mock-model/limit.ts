// `@limit <seconds> [rate|usage]`: the model API refusing requests until a reset time, with the headers the
// real API sends, so a session manager's parking and resuming can be tested offline.

/** When each `@limit` step's limit resets (epoch ms), per conversation and script (kept by the server). */
export type LimitClocks = Map<string, number>;

export interface LimitAnswer {
  kind: "error";
  status: 429;
  errorType: "rate_limit_error";
  message: string;
  headers: Record<string, string>;
}

/**
 * The 429 for a request that reached a `@limit` step, or undefined once the limit has reset (the request
 * then gets the next step). The first request to reach the step starts its clock (if no one did yet).
 */
export function answerLimit(
  limit: { seconds: number; style: "rate" | "usage" },
  key: string,
  clocks: LimitClocks,
  now = Date.now(),
): LimitAnswer | undefined {
  const resetAt = clocks.get(key) ?? now + limit.seconds * 1000;
  clocks.set(key, resetAt);
  if (now >= resetAt) return undefined;
  const retryAfter = String(Math.max(1, Math.ceil((resetAt - now) / 1000)));
  if (limit.style === "usage") {
    // A subscription's usage window (Claude Pro/Max): the CLI reads these on an OAuth token and reports
    // "You've hit your 5-hour limit · resets …" plus a rate_limit_event with resetsAt.
    const resetEpoch = String(Math.ceil(resetAt / 1000));
    return {
      kind: "error",
      status: 429,
      errorType: "rate_limit_error",
      message: "Scripted usage limit reached",
      headers: {
        "anthropic-ratelimit-unified-status": "rejected",
        "anthropic-ratelimit-unified-reset": resetEpoch,
        "anthropic-ratelimit-unified-5h-status": "rejected",
        "anthropic-ratelimit-unified-5h-reset": resetEpoch,
        "anthropic-ratelimit-unified-representative-claim": "five_hour",
      },
    };
  }
  const resetIso = new Date(resetAt).toISOString();
  return {
    kind: "error",
    status: 429,
    errorType: "rate_limit_error",
    message: "Number of requests has exceeded your rate limit (scripted)",
    headers: {
      "retry-after": retryAfter,
      "anthropic-ratelimit-requests-limit": "50",
      "anthropic-ratelimit-requests-remaining": "0",
      "anthropic-ratelimit-requests-reset": resetIso,
      "anthropic-ratelimit-tokens-reset": resetIso,
    },
  };
}
