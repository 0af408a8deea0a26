import { BatonError } from "../core/errors.ts";
import type { SessionStatus } from "../core/session-status-names.ts";

/**
 * The session state machine. Legal transitions:
 *
 *   queued    -> running    a slot was free; the SDK query starts
 *   queued    -> failed     queue timeout, or the start itself failed
 *   running   -> waiting    blocked on a human (permission) or a workspace lock
 *   waiting   -> running    unblocked
 *   running   -> completed  the turn finished (result holds its text)
 *   running   -> failed     error, budget or turn limit, lost process
 *   waiting   -> completed | failed   as from running
 *   completed -> running    a follow-up was delivered (session.resumed)
 *   failed    -> running    a follow-up resumed it
 *   completed -> queued     a follow-up arrived but no slot was free
 *   failed    -> queued     likewise
 *   any but killed -> killed    kill on request; terminal
 */
export { SESSION_STATUS, SESSION_STATUSES, type SessionStatus } from "../core/session-status-names.ts";

const TRANSITIONS: Record<SessionStatus, readonly SessionStatus[]> = {
  queued: ["running", "failed", "killed"],
  running: ["waiting", "completed", "failed", "killed"],
  waiting: ["running", "completed", "failed", "killed"],
  completed: ["running", "queued", "killed"],
  failed: ["running", "queued", "killed"],
  killed: [],
};

export function canTransition(from: SessionStatus, to: SessionStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Throws when a transition is not in the table above: such a bug must surface, not corrupt the store. */
export function assertTransition(sessionId: string, from: SessionStatus, to: SessionStatus): void {
  if (canTransition(from, to)) return;
  if (from === "killed")
    throw new BatonError("SESSION_ENDED", `session ${sessionId} was killed; it takes no more work`);
  throw new BatonError("INTERNAL", `illegal session transition ${from} -> ${to} for ${sessionId}`);
}

/*
 * Named sets of statuses. Every "is it working?" question in Baton asks one of these, so a new status is
 * placed once, here, next to the table it moves through.
 */

/** A turn is in progress: the session holds one of the `maxConcurrent` slots (and its locks count). */
export const WORKING: readonly SessionStatus[] = ["running", "waiting"];
/** Accepted work not yet finished: queued for a slot, or working. A session here is "busy". */
export const UNFINISHED: readonly SessionStatus[] = ["queued", ...WORKING];
/** Between turns: a message resumes it. */
export const BETWEEN_TURNS: readonly SessionStatus[] = ["completed", "failed"];
/** Every status a session can leave: all but `killed`. */
export const NOT_KILLED: readonly SessionStatus[] = [...UNFINISHED, ...BETWEEN_TURNS];

export function isWorking(status: string): boolean {
  return (WORKING as readonly string[]).includes(status);
}

export function isUnfinished(status: string): boolean {
  return (UNFINISHED as readonly string[]).includes(status);
}

/** Why a session failed; `error` carries the human-readable detail. */
export const FAILURE_REASONS = [
  "error",
  "api_error",
  "max_budget",
  "max_turns",
  "queue_timeout",
  "process_exited",
  "start_failed",
  "interrupted",
  "resume_failed",
  /** A resumed process reported another session id, permission mode, cwd, model or tools than stored. */
  "resume_mismatch",
  "idle",
  "tree_budget",
  /** Its process stalled or failed with retryable errors more than maxRestarts times in a row. */
  "unhealthy",
] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];
