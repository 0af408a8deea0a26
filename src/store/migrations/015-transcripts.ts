import { type Kysely, PostgresAdapter } from "kysely";

/**
 * Agent transcripts in the database (the Agent SDK's `sessionStore`, sessions/transcript-store.ts): one row
 * per transcript line, so a session resumes on any node of a cluster without the local file. A transcript
 * is (`project_key`, `session_id`, `subpath`): `subpath` is '' for the main conversation and e.g.
 * `subagents/agent-<id>` for a subagent's. `id` grows with every insert, so it gives the append order the
 * SDK replays. A line's `uuid` is unique within its transcript (NULLs never collide), so a retried batch is
 * not stored twice.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  await db.schema
    .createTable("transcript_entries")
    .addColumn("id", postgres ? "bigserial" : "integer", (c) =>
      postgres ? c.primaryKey() : c.primaryKey().autoIncrement(),
    )
    .addColumn("project_key", "text", (c) => c.notNull())
    .addColumn("session_id", "text", (c) => c.notNull())
    .addColumn("subpath", "text", (c) => c.notNull())
    .addColumn("uuid", "text")
    .addColumn("entry", "text", (c) => c.notNull())
    .addColumn("appended_at", "text", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("transcript_entries_key")
    .on("transcript_entries")
    .columns(["project_key", "session_id", "subpath", "id"])
    .execute();
  await db.schema
    .createIndex("transcript_entries_uuid")
    .on("transcript_entries")
    .columns(["project_key", "session_id", "subpath", "uuid"])
    .unique()
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("transcript_entries").execute();
}
