import type { Kysely } from "kysely";

/** `wait <session> <seconds>` registrations: the waiter gets a message when the target finishes or time runs out. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("waits")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("waiter_session_id", "text", (c) => c.notNull())
    .addColumn("target_session_id", "text", (c) => c.notNull())
    .addColumn("deadline", "text", (c) => c.notNull())
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("settled_at", "text")
    .execute();
  await db.schema.createIndex("waits_target").on("waits").columns(["target_session_id", "status"]).execute();
  await db.schema.createIndex("waits_deadline").on("waits").columns(["status", "deadline"]).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("waits").execute();
}
