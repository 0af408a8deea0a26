import { selectPendingPermissionsOf } from "../store/permission-queries.ts";
import { selectLatestSessionEvent } from "../store/recent-event-queries.ts";
import type { Db } from "../store/schema.ts";
import type { SessionRow } from "../store/session-queries.ts";
import type { WaitingOn } from "./session-schema.ts";

/**
 * Why each `waiting` or `queued` session of `rows` is not working, read from the store: a pending
 * permission request (the oldest), else the lock named by its latest `session.lock_waiting`; a queued
 * session waits for a slot since it entered the queue (its `updated_at`, as the queue sweeper reads it).
 */
export async function waitingOnOf(db: Db, rows: readonly SessionRow[]): Promise<Map<string, WaitingOn>> {
  const found = new Map<string, WaitingOn>();
  for (const row of rows)
    if (row.status === "queued") found.set(row.id, { kind: "slot", since: row.updated_at });
  const waiting = rows.filter((row) => row.status === "waiting").map((row) => row.id);
  for (const request of await selectPendingPermissionsOf(db, waiting)) {
    if (!found.has(request.session_id))
      found.set(request.session_id, { kind: "permission", since: request.created_at, requestId: request.id });
  }
  for (const id of waiting.filter((candidate) => !found.has(candidate))) {
    const event = await selectLatestSessionEvent(db, id, "session.lock_waiting");
    if (!event) continue;
    const resource = String((JSON.parse(event.data) as { resource?: unknown }).resource ?? "");
    found.set(id, { kind: "lock", since: event.ts, path: resource.replace(/^(file|workdir):/, "") });
  }
  return found;
}
