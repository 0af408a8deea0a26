import type { EventData, SessionTopic } from "../events/catalogue.ts";
import type { EventLog, WriteContext } from "../events/event-log.ts";
import { type SessionRow, selectSessionById, updateSessionRow } from "../store/session-queries.ts";
import { sessionFenceOf } from "./session-fence.ts";
import { assertTransition, type SessionStatus, WORKING } from "./session-status.ts";

/** A session event to record: its topic and the payload that topic's schema types. */
export type EventSpec = { [T in SessionTopic]: readonly [topic: T, data: EventData<T>] }[SessionTopic];

export interface TransitionRequest {
  to: SessionStatus;
  /** Only act when the session is in one of these; otherwise nothing happens and undefined is returned.
   * Deferred callbacks (an SDK result arriving after a kill) use this to become no-ops. */
  from: readonly SessionStatus[];
  changes?: Partial<SessionRow>;
  events?: readonly EventSpec[];
  /**
   * A last check in the write's own transaction, before anything is written: false leaves the session as
   * it is and resolves undefined. The scheduler re-counts slots here under the cluster-wide slot lock.
   */
  admissible?: (tx: WriteContext["tx"], row: SessionRow) => Promise<boolean>;
  /** Extra writes in the same transaction (e.g. marking messages delivered). */
  also?: (context: WriteContext, row: SessionRow) => Promise<void>;
}

/** Changes a session's status, its columns and records its events in one transaction. */
export async function transitionSession(
  log: EventLog,
  sessionId: string,
  request: TransitionRequest,
): Promise<SessionRow | undefined> {
  const written = await log.write(async (context) => {
    const row = await selectSessionById(context.tx, sessionId);
    return row && transitionInWrite(log, context, row, request);
  });
  if (written) sessionFenceOf(log)?.committed(written);
  return written;
}

/**
 * The body of `transitionSession` for a write already open, on `row` as read (or just inserted) in it. The
 * caller tells the fence (`sessionFenceOf(log)?.committed`) once the write has committed.
 */
export async function transitionInWrite(
  log: EventLog,
  context: WriteContext,
  row: SessionRow,
  request: TransitionRequest,
): Promise<SessionRow | undefined> {
  if (!request.from.includes(row.status)) return undefined;
  if (request.admissible && !(await request.admissible(context.tx, row))) return undefined;
  const from = row.status;
  if (from !== request.to) assertTransition(row.id, from, request.to);
  // A node that lost the session (cluster) is refused here; one starting a turn becomes its owner.
  const claim = sessionFenceOf(log)?.check(row, request.to);
  const now = new Date().toISOString();
  const changes: Partial<SessionRow> = {
    ...request.changes,
    ...claim,
    // An interrupt asked for is of the current turn: a turn that ended (however) has answered it.
    ...(!WORKING.includes(request.to) && { interrupt_requested_at: null }),
    status: request.to,
    updated_at: now,
  };
  await updateSessionRow(context.tx, row.id, changes);
  const updated = { ...row, ...changes };
  for (const [topic, data] of request.events ?? []) await context.emit(topic, row.id, data);
  await request.also?.(context, updated);
  return updated;
}

/** Records events (and optional column changes) for a session without changing its status. */
export async function recordSessionEvents(
  log: EventLog,
  sessionId: string,
  events: readonly EventSpec[],
  changes?: Partial<SessionRow>,
): Promise<void> {
  await log.write(async (context) => {
    if (changes)
      await updateSessionRow(context.tx, sessionId, { ...changes, updated_at: new Date().toISOString() });
    for (const [topic, data] of events) await context.emit(topic, sessionId, data);
  });
}
