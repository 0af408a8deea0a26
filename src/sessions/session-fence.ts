import type { EventLog } from "../events/event-log.ts";
import type { SessionRow } from "../store/session-queries.ts";
import type { SessionStatus } from "./session-status.ts";

/**
 * Fencing for a cluster of nodes on one database (src/cluster implements it; on SQLite none is installed).
 * `transitionSession`, the one writer of statuses, asks the log's fence before each write:
 * - `check` throws (LEASE_LOST) when this node runs the session but the row says it moved to another
 *   node or epoch since (this node's lease lapsed and someone adopted it): the stale run must not write.
 *   It returns the columns that make this node the owner when the write starts a turn here.
 * - `committed` learns the owner and epoch the write left behind.
 */
export interface SessionFence {
  check(row: SessionRow, to: SessionStatus): Partial<SessionRow>;
  committed(row: SessionRow): void;
}

/** One fence per event log (per Baton): several Batons may share a process in tests and benchmarks. */
const fences = new WeakMap<EventLog, SessionFence>();

export function installSessionFence(log: EventLog, fence: SessionFence): void {
  fences.set(log, fence);
}

export function sessionFenceOf(log: EventLog): SessionFence | undefined {
  return fences.get(log);
}
