import type { SDKMessage, SDKResultMessage } from "@anthropic-ai/claude-agent-sdk";
import { isAuthFailureText, type ModelLimit, resetAtFromText } from "../sessions/model-limit.ts";

/** What one run remembers between messages: the reset time a rate-limit event announced. */
export interface LimitState {
  resetAt?: string | undefined;
}

/**
 * A limit or credential refusal the CLI reported in the middle of a turn (it may still be retrying), or
 * undefined. Also remembers a reset time for the turn's result (see model-limit.ts for what is reported).
 */
export function readMidTurnLimit(message: SDKMessage, state: LimitState): ModelLimit | undefined {
  if (message.type === "rate_limit_event") {
    const info = message.rate_limit_info;
    if (info.status === "rejected" && info.resetsAt) state.resetAt = epochToIso(info.resetsAt);
    return undefined;
  }
  if (message.type !== "system" || message.subtype !== "api_retry") return undefined;
  if (message.error_status === 401 || message.error === "authentication_failed")
    return {
      kind: "auth",
      status: message.error_status,
      message: "the model API refused the credential (401)",
    };
  if (message.error_status !== 429 && message.error !== "rate_limit") return undefined;
  return {
    kind: "usage_limit",
    status: message.error_status,
    retryInMs: message.retry_delay_ms,
    message: `the model API is rate limiting (429); the CLI retries in ${message.retry_delay_ms} ms`,
  };
}

/** The limit a turn's error result reports, if it is one. */
export function readResultLimit(result: SDKResultMessage, state: LimitState): ModelLimit | undefined {
  if (!result.is_error) return undefined;
  const text = result.subtype === "success" ? result.result : result.errors.join("; ");
  const status = result.subtype === "success" ? (result.api_error_status ?? null) : null;
  if (status === 401 || (status === null && isAuthFailureText(text)))
    return { kind: "auth", status, message: text };
  const resetAt = state.resetAt ?? resetAtFromText(text);
  if (status !== 429 && resetAt === undefined) return undefined;
  return { kind: "usage_limit", status, message: text, ...(resetAt && { resetAt }) };
}

function epochToIso(epoch: number): string {
  // resetsAt is in seconds (measured); tolerate milliseconds.
  return new Date(epoch < 1e12 ? epoch * 1000 : epoch).toISOString();
}
