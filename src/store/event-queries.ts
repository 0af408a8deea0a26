import type { Db, EventsTable, Tx } from "./schema.ts";

export type EventRow = EventsTable;

/**
 * Appends one event with the next global seq. The counter row is updated in the caller's transaction, so
 * concurrent writers serialise on it (a row lock in PostgreSQL, the single writer in SQLite) and a rolled
 * back transaction gives its number back: the stored seq has no gaps.
 */
export async function insertEvent(tx: Tx, event: Omit<EventRow, "seq">): Promise<EventRow> {
  const counter = await tx
    .updateTable("counters")
    .set((eb) => ({ value: eb("value", "+", 1) }))
    .where("name", "=", "event_seq")
    .returning("value")
    .executeTakeFirstOrThrow();
  const row: EventRow = { seq: Number(counter.value), ...event };
  await tx.insertInto("events").values(row).execute();
  return row;
}

export interface EventQuery {
  after: number;
  limit: number;
  sessionId?: string | undefined;
  /** SQL LIKE patterns; empty means every topic. */
  topicPatterns?: string[] | undefined;
}

export async function selectEventsAfter(db: Db, query: EventQuery): Promise<EventRow[]> {
  let select = db.selectFrom("events").selectAll().where("seq", ">", query.after);
  if (query.sessionId) select = select.where("session_id", "=", query.sessionId);
  const patterns = query.topicPatterns ?? [];
  if (patterns.length > 0) {
    select = select.where((eb) => eb.or(patterns.map((pattern) => eb("topic", "like", pattern))));
  }
  return select.orderBy("seq").limit(query.limit).execute();
}

export async function selectSeqBounds(db: Db): Promise<{ oldest: number; latest: number }> {
  const counter = await db
    .selectFrom("counters")
    .select("value")
    .where("name", "=", "event_seq")
    .executeTakeFirst();
  const oldest = await db
    .selectFrom("events")
    .select((eb) => eb.fn.min("seq").as("seq"))
    .executeTakeFirst();
  const latest = Number(counter?.value ?? 0);
  return { oldest: oldest?.seq == null ? latest + 1 : Number(oldest.seq), latest };
}

/** Seq and time of the events after `after`, oldest first: retention walks these to find where to cut. */
export async function selectEventTimesAfter(
  db: Db,
  after: number,
  limit: number,
): Promise<Array<{ seq: number; ts: string }>> {
  const rows = await db
    .selectFrom("events")
    .select(["seq", "ts"])
    .where("seq", ">", after)
    .orderBy("seq")
    .limit(limit)
    .execute();
  return rows.map((row) => ({ seq: Number(row.seq), ts: row.ts }));
}

/**
 * Deletes every event with seq <= `seq`. Retention only ever cuts a prefix: the log stays one contiguous run
 * of seqs, which is what lets a cursor below the oldest kept event be detected (and reset) instead of
 * silently skipping a hole.
 */
export async function deleteEventsThrough(db: Db, seq: number): Promise<number> {
  const result = await db.deleteFrom("events").where("seq", "<=", seq).executeTakeFirst();
  return Number(result.numDeletedRows);
}
