/**
 * The names of a session's statuses: the domain of the `sessions.status` column. The state machine that
 * moves between them, and the named sets callers ask about, live in sessions/session-status.ts; the names
 * sit here so the store can type its column without importing the session domain.
 */
export const SESSION_STATUS = Object.freeze({
  queued: "queued",
  running: "running",
  waiting: "waiting",
  completed: "completed",
  failed: "failed",
  killed: "killed",
} as const);

export type SessionStatus = (typeof SESSION_STATUS)[keyof typeof SESSION_STATUS];
export const SESSION_STATUSES = Object.values(SESSION_STATUS) as [SessionStatus, ...SessionStatus[]];
