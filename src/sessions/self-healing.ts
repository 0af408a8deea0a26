import type { TurnOutcome } from "./runner-port.ts";

/**
 * Self-healing: a sick `claude` process is stopped and resumed in the same conversation, with backoff and a
 * cap (`maxRestarts`), instead of staying sick until someone notices. Two sicknesses are recognised:
 * - `stalled`: nothing from the process for `stallTimeoutMs` while Baton believes a model request is in
 *   flight (running, no tool open, no permission pending). The CLI itself would wait up to 600 s per attempt.
 * - `api_error`: a turn that ended in a retryable API error (5xx, overloaded, a timeout), after the CLI's
 *   own retries. 429 (rate limits) is not a sickness of the process and is not restarted.
 */
export type RestartReason = "stalled" | "api_error";

export interface HealthSettings {
  /** Restarts in a row (no successful turn between) before the session fails `unhealthy`; 0 = never. */
  maxRestarts: number;
  /** The wait before restart n is restartBackoffMs * 2^(n-1). */
  restartBackoffMs: number;
  stallTimeoutMs: number;
}

const RETRYABLE_API_ERROR = /\b(5\d\d)\b|overloaded|timed? ?out|ECONNRESET|socket hang up/i;

export function isRetryableFailure(outcome: TurnOutcome): boolean {
  return outcome.reason === "api_error" && RETRYABLE_API_ERROR.test(outcome.text);
}

export function restartDelayMs(settings: HealthSettings, attempt: number): number {
  return settings.restartBackoffMs * 2 ** Math.max(0, attempt - 1);
}

/**
 * What the resumed process is told. A `<system-reminder>` (the CLI's own wrapper for context that is not
 * the user speaking): the model reads it as a note, and the human instruction stays the latest one.
 */
export function restartNote(reason: RestartReason): string {
  const why =
    reason === "stalled"
      ? "its model request stopped responding"
      : "its last turn failed with a retryable API error";
  return (
    `<system-reminder>Baton restarted this session's agent process because ${why}. Your last step may not ` +
    "have finished: check the state of your work and continue the task where you left off.</system-reminder>"
  );
}
