import type { HeldLockRow } from "../store/lock-queries.ts";
import type { LockKind } from "./lock-resource.ts";
import { resourcesConflict } from "./lock-resource.ts";
import type { Lock, LockList } from "./lock-schema.ts";

/** A session asking for a lock: by a file edit (`auto`) or on request (`explicit`). */
export interface AcquireRequest {
  sessionId: string;
  resource: string;
  kind: LockKind;
  reason: string | null;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

export type Outcome =
  | { granted: true }
  | { granted: false; why: "held" | "timeout" | "cycle" | "cancelled"; message: string };

export interface Waiter extends AcquireRequest {
  since: Date;
  holder: HeldLockRow;
  timer: NodeJS.Timeout | undefined;
  settle(outcome: Outcome): void;
}

/** Why a settled session let go: a turn that settles while the session still counts as working lost its process. */
export function releaseReason(status: string | undefined): string {
  if (status === "killed" || status === "failed") return status;
  if (status === "completed") return "turn_end";
  return "process_exited";
}

export function blockerOf(request: AcquireRequest, locks: readonly HeldLockRow[]): HeldLockRow | undefined {
  return locks.find(
    (lock) => lock.session_id !== request.sessionId && resourcesConflict(lock.resource, request.resource),
  );
}

export function toLock(row: HeldLockRow): Lock {
  return {
    resource: row.resource,
    sessionId: row.session_id,
    sessionName: row.holder_name,
    kind: row.kind === "explicit" ? "explicit" : "auto",
    reason: row.reason,
    acquiredAt: row.acquired_at,
  };
}

export function toLockWaiter(waiter: Waiter): LockList["waiters"][number] {
  return {
    sessionId: waiter.sessionId,
    resource: waiter.resource,
    kind: waiter.kind,
    holder: waiter.holder.session_id,
    holderName: waiter.holder.holder_name,
    since: waiter.since.toISOString(),
    timeoutMs: waiter.timeoutMs,
  };
}
