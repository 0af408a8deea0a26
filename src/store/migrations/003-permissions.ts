import type { Kysely } from "kysely";

/** Permission requests: a tool call waiting for a human decision, and the decision once given. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("permission_requests")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("session_id", "text", (c) => c.notNull())
    .addColumn("tool_name", "text", (c) => c.notNull())
    .addColumn("tool_use_id", "text")
    .addColumn("input", "text", (c) => c.notNull())
    .addColumn("suggestions", "text")
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("message", "text")
    .addColumn("updated_input", "text")
    .addColumn("always_allow", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("answered_by", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("answered_at", "text")
    .addColumn("consumed", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .createIndex("permission_requests_session")
    .on("permission_requests")
    .columns(["session_id", "status", "created_at"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("permission_requests").execute();
}
