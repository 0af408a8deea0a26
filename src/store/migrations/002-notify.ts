import { type Kysely, sql } from "kysely";

/** The notification outbox, its attempt history, endpoints disabled by 410, and Telegram reply routing. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("outbox")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("event_seq", "bigint")
    .addColumn("endpoint", "text", (c) => c.notNull())
    .addColumn("channel", "text", (c) => c.notNull())
    .addColumn("target", "text", (c) => c.notNull())
    .addColumn("session_id", "text")
    .addColumn("topic", "text", (c) => c.notNull())
    .addColumn("payload", "text", (c) => c.notNull())
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("next_attempt_at", "text", (c) => c.notNull())
    .addColumn("last_http_status", "integer")
    .addColumn("last_error", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .addColumn("delivered_at", "text")
    .execute();
  // The dispatcher may replay an event after a crash; this makes the replay a no-op.
  await db.schema
    .createIndex("outbox_event_endpoint")
    .on("outbox")
    .columns(["event_seq", "endpoint"])
    .unique()
    .execute();
  await db.schema.createIndex("outbox_due").on("outbox").columns(["status", "next_attempt_at"]).execute();
  await db.schema.createIndex("outbox_session").on("outbox").columns(["session_id"]).execute();

  await db.schema
    .createTable("outbox_attempts")
    .addColumn("delivery_id", "text", (c) => c.notNull())
    .addColumn("attempt", "integer", (c) => c.notNull())
    .addColumn("started_at", "text", (c) => c.notNull())
    .addColumn("duration_ms", "integer", (c) => c.notNull())
    .addColumn("outcome", "text", (c) => c.notNull())
    .addColumn("http_status", "integer")
    .addColumn("error", "text")
    .addPrimaryKeyConstraint("outbox_attempts_pk", ["delivery_id", "attempt"])
    .execute();

  await db.schema
    .createTable("disabled_endpoints")
    .addColumn("url", "text", (c) => c.primaryKey())
    .addColumn("disabled_at", "text", (c) => c.notNull())
    .addColumn("reason", "text", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("telegram_messages")
    .addColumn("chat_id", "text", (c) => c.notNull())
    .addColumn("message_id", "bigint", (c) => c.notNull())
    .addColumn("session_id", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("telegram_messages_pk", ["chat_id", "message_id"])
    .execute();

  // The dispatcher's cursor starts at the current end of the log: upgrading a database that already holds
  // history must not send a notification for every session that ever finished.
  await sql`insert into counters (name, value) select 'notify_cursor', coalesce(max(seq), 0) from events`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`delete from counters where name = 'notify_cursor'`.execute(db);
  for (const table of ["telegram_messages", "disabled_endpoints", "outbox_attempts", "outbox"]) {
    await db.schema.dropTable(table).execute();
  }
}
