import type { Kysely } from "kysely";

/** Workspace locks: one row per locked resource (`file:<path>` or `workdir:<path>`) and the session holding it. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("locks")
    .addColumn("resource", "text", (c) => c.primaryKey())
    .addColumn("session_id", "text", (c) => c.notNull())
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("reason", "text")
    .addColumn("acquired_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("locks_session").on("locks").columns(["session_id"]).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("locks").execute();
}
