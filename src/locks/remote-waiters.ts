import { SESSION_EVENT_PAYLOADS } from "../events/catalogue.ts";
import { waitingOnOf } from "../sessions/waiting-on.ts";
import type { Store } from "../store/open-store.ts";
import { selectLatestSessionEvent } from "../store/recent-event-queries.ts";
import type { Db } from "../store/schema.ts";
import { selectWaitingOwnedElsewhere } from "../store/session-queries.ts";
import type { LockWaiter } from "./lock-schema.ts";

/**
 * The lock waiters of sessions another node of the cluster runs. A waiter lives in the memory of the node
 * whose agent asked (its tool call is held there), so this node reads them from the store instead: each
 * session that is `waiting` on a lock (waiting-on.ts) with what its latest `session.lock_waiting`
 * announced. The holder is the one announced when the wait began.
 */
export async function remoteLockWaiters(db: Db, node: string): Promise<LockWaiter[]> {
  const rows = await selectWaitingOwnedElsewhere(db, node);
  const waits = await waitingOnOf(db, rows);
  const waiters: LockWaiter[] = [];
  for (const row of rows) {
    if (waits.get(row.id)?.kind !== "lock") continue;
    const event = await selectLatestSessionEvent(db, row.id, "session.lock_waiting");
    const data = event && SESSION_EVENT_PAYLOADS["session.lock_waiting"].safeParse(JSON.parse(event.data));
    if (!event || !data?.success) continue;
    const { resource, holder, holderName, timeoutMs, kind } = data.data;
    waiters.push({
      sessionId: row.id,
      resource,
      // Announcements from before `kind` was recorded: a file lock is most likely an edit's automatic one.
      kind: kind ?? (resource.startsWith("file:") ? "auto" : "explicit"),
      holder,
      holderName: holderName ?? null,
      since: event.ts,
      timeoutMs,
    });
  }
  return waiters;
}

/** This node's waiters and, in a cluster (`node` set), every other node's, in the order they began. */
export async function withRemoteWaiters(
  deps: { store: Store; node?: string | undefined },
  local: LockWaiter[],
): Promise<LockWaiter[]> {
  if (!deps.node) return local;
  const elsewhere = await remoteLockWaiters(deps.store.db, deps.node);
  return [...local, ...elsewhere].sort((a, b) => a.since.localeCompare(b.since));
}
