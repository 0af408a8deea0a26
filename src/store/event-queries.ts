import type { Db, EventsTable, Tx } from "./schema.ts";

export type EventRow = EventsTable;

/** Rows per INSERT: bounds the statement's parameters and the number of distinct statements cached. */
const INSERT_CHUNK = 100;

/**
 * Appends events with the next global seqs, in order. The counter row is updated in the caller's
 * transaction, so concurrent writers serialise on it (a row lock in PostgreSQL, the single writer in
 * SQLite) and a rolled back transaction gives its numbers back: the stored seq has no gaps. One counter
 * update and one multi-row INSERT per hundred events: a batch of publishes costs two statements, not two
 * per event (building and running them was a seventh of Baton's CPU at a thousand publishes a second).
 */
export async function insertEvents(
  tx: Tx,
  events: ReadonlyArray<Omit<EventRow, "seq">>,
): Promise<EventRow[]> {
  if (events.length === 0) return [];
  const counter = await tx
    .updateTable("counters")
    .set((eb) => ({ value: eb("value", "+", events.length) }))
    .where("name", "=", "event_seq")
    .returning("value")
    .executeTakeFirstOrThrow();
  const first = Number(counter.value) - events.length + 1;
  const rows: EventRow[] = events.map((event, index) => ({ seq: first + index, ...event }));
  for (let start = 0; start < rows.length; start += INSERT_CHUNK)
    await tx
      .insertInto("events")
      .values(rows.slice(start, start + INSERT_CHUNK))
      .execute();
  return rows;
}

/** Appends one event with the next global seq (see insertEvents). */
export async function insertEvent(tx: Tx, event: Omit<EventRow, "seq">): Promise<EventRow> {
  const [row] = await insertEvents(tx, [event]);
  return row as EventRow;
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
