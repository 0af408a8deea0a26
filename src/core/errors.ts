/**
 * Baton's error catalogue. Every error that can reach a caller has a stable code, an HTTP status and a
 * message. The HTTP layer maps errors through this one table (see api/error-handler.ts); nothing else
 * decides status codes, so a bad request can never leak out as a 500.
 */
export const ERROR_CATALOGUE = {
  VALIDATION_FAILED: { status: 400 },
  INVALID_JSON: { status: 400 },
  WORKDIR_NOT_FOUND: { status: 400 },
  WORKDIR_NOT_ALLOWED: { status: 400 },
  WORKDIR_NOT_GIT: { status: 400 },
  RESERVED_TOPIC: { status: 400 },
  UNAUTHENTICATED: { status: 401 },
  FORBIDDEN: { status: 403 },
  ORIGIN_NOT_ALLOWED: { status: 403 },
  HOST_NOT_ALLOWED: { status: 421 },
  SESSION_NOT_FOUND: { status: 404 },
  ROUTE_NOT_FOUND: { status: 404 },
  PERMISSION_NOT_FOUND: { status: 404 },
  MESSAGE_NOT_FOUND: { status: 404 },
  PERMISSION_ANSWERED: { status: 409 },
  NAME_TAKEN: { status: 409 },
  KEY_TAKEN: { status: 409 },
  SESSION_ENDED: { status: 409 },
  SESSION_NOT_RUNNING: { status: 409 },
  SESSION_BUSY: { status: 409 },
  LOCK_HELD: { status: 409 },
  LOCK_CYCLE: { status: 409 },
  WORKTREE_FAILED: { status: 409 },
  TREE_BUDGET_EXHAUSTED: { status: 409 },
  LEASE_LOST: { status: 409 },
  CURSOR_EXPIRED: { status: 410 },
  CURSOR_AHEAD: { status: 410 },
  PAYLOAD_TOO_LARGE: { status: 413 },
  IDEMPOTENCY_KEY_REUSED: { status: 422 },
  QUEUE_FULL: { status: 429 },
  RATE_LIMITED: { status: 429 },
  SHUTTING_DOWN: { status: 503 },
  INTERNAL: { status: 500 },
} as const satisfies Record<string, { status: number }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** An error Baton raises on purpose: it crosses the wire as `{error: {code, message, details?}}`. */
export class BatonError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = "BatonError";
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return ERROR_CATALOGUE[this.code].status;
  }

  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details
      ? { code: this.code, message: this.message, details: this.details }
      : { code: this.code, message: this.message };
  }
}

export function isBatonError(error: unknown): error is BatonError {
  return error instanceof BatonError;
}

/** Readable text for anything thrown, for logs and `error` columns. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
