import type { EventRow } from "./event-queries.ts";
import type { Db } from "./schema.ts";

/** A session's newest events, newest first: a summary reads the tail, never the whole history. */
export async function selectRecentSessionEvents(
  db: Db,
  sessionId: string,
  limit: number,
): Promise<EventRow[]> {
  return db
    .selectFrom("events")
    .selectAll()
    .where("session_id", "=", sessionId)
    .orderBy("seq", "desc")
    .limit(limit)
    .execute();
}

/** The newest event of one topic for a session, if any. */
export async function selectLatestSessionEvent(
  db: Db,
  sessionId: string,
  topic: string,
): Promise<EventRow | undefined> {
  return db
    .selectFrom("events")
    .selectAll()
    .where("session_id", "=", sessionId)
    .where("topic", "=", topic)
    .orderBy("seq", "desc")
    .limit(1)
    .executeTakeFirst();
}
