import { selectCredentialLimits, selectParkedSessionsOf } from "../store/credential-limit-queries.ts";
import { selectPendingPermissionsOf } from "../store/permission-queries.ts";
import { selectLatestSessionEvent } from "../store/recent-event-queries.ts";
import type { Db } from "../store/schema.ts";
import type { SessionRow } from "../store/session-queries.ts";
import type { WaitingOn } from "./session-schema.ts";

/**
 * Why each `waiting` or `queued` session of `rows` is not working, read from the store: parked at a usage
 * limit or a refused credential (credential-limits.ts), else a pending permission request (the oldest),
 * else the lock named by its latest `session.lock_waiting`; a queued session waits for the credential while
 * it is limited, else for a slot since it entered the queue (its `updated_at`, as the queue sweeper reads it).
 * A queued session admission found no room for waits for memory (`memoryWaits`, memory-admission.ts).
 */
export async function waitingOnOf(
  db: Db,
  rows: readonly SessionRow[],
  memoryWaits: ReadonlyMap<string, string> = new Map(),
): Promise<Map<string, WaitingOn>> {
  const found = new Map<string, WaitingOn>();
  const now = new Date().toISOString();
  const limited = rows.some((row) => row.status === "queued")
    ? (await selectCredentialLimits(db)).find(
        (limit) => limit.kind === "auth" || (limit.resume_at ?? "") > now,
      )
    : undefined;
  for (const row of rows) {
    if (row.status !== "queued") continue;
    const memorySince = memoryWaits.get(row.id);
    const forMemory = memorySince ? { kind: "memory" as const, since: memorySince } : undefined;
    found.set(row.id, limited ? parkedWait(limited) : (forMemory ?? { kind: "slot", since: row.updated_at }));
  }
  const waiting = rows.filter((row) => row.status === "waiting").map((row) => row.id);
  for (const parked of await selectParkedSessionsOf(db, waiting))
    found.set(parked.session_id, parkedWait(parked));
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

function parkedWait(parked: { kind: string; since: string; resume_at: string | null }): WaitingOn {
  const kind = parked.kind === "auth" ? "auth" : "usage_limit";
  return { kind, since: parked.since, ...(parked.resume_at && { resumeAt: parked.resume_at }) };
}
