import { type Kysely, sql } from "kysely";

/** Sessions, the append-only event log, durable messages, and the counter that makes `seq` gap-free. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("sessions")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("name", "text")
    .addColumn("owner", "text", (c) => c.notNull())
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("config", "text", (c) => c.notNull())
    .addColumn("parent_session_id", "text")
    .addColumn("run_identifier", "text")
    .addColumn("agent_session_id", "text")
    .addColumn("result", "text")
    .addColumn("cost_usd", "double precision", (c) => c.notNull().defaultTo(0))
    .addColumn("turns", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("error", "text")
    .addColumn("failure_reason", "text")
    .addColumn("pid", "integer")
    .addColumn("pid_start_time", "text")
    .addColumn("priority", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .addColumn("started_at", "text")
    .addColumn("ended_at", "text")
    .execute();
  // A name is unique among sessions that can still act; a killed session gives its name back.
  await db.schema
    .createIndex("sessions_live_name")
    .on("sessions")
    .column("name")
    .unique()
    .where(sql.ref("status"), "<>", "killed")
    .execute();
  await db.schema
    .createIndex("sessions_status")
    .on("sessions")
    .columns(["status", "priority", "created_at"])
    .execute();
  await db.schema.createIndex("sessions_owner").on("sessions").columns(["owner", "id"]).execute();
  await db.schema
    .createIndex("sessions_parent")
    .on("sessions")
    .columns(["parent_session_id", "id"])
    .execute();

  await db.schema
    .createTable("events")
    .addColumn("seq", "bigint", (c) => c.primaryKey())
    .addColumn("topic", "text", (c) => c.notNull())
    .addColumn("session_id", "text")
    .addColumn("ts", "text", (c) => c.notNull())
    .addColumn("data", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("events_session").on("events").columns(["session_id", "seq"]).execute();

  await db.schema
    .createTable("messages")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("session_id", "text", (c) => c.notNull())
    .addColumn("text", "text", (c) => c.notNull())
    .addColumn("mode", "text", (c) => c.notNull())
    .addColumn("sender_session_id", "text")
    .addColumn("idempotency_key", "text")
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("queued_seq", "bigint", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("delivered_at", "text")
    .execute();
  await db.schema
    .createIndex("messages_idempotency")
    .on("messages")
    .columns(["session_id", "idempotency_key"])
    .unique()
    .execute();
  await db.schema
    .createIndex("messages_pending")
    .on("messages")
    .columns(["session_id", "status", "queued_seq"])
    .execute();

  await db.schema
    .createTable("counters")
    .addColumn("name", "text", (c) => c.primaryKey())
    .addColumn("value", "bigint", (c) => c.notNull())
    .execute();
  await db
    .insertInto("counters" as never)
    .values({ name: "event_seq", value: 0 } as never)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ["counters", "messages", "events", "sessions"]) {
    await db.schema.dropTable(table).execute();
  }
}
