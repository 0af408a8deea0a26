import type { Kysely } from "kysely";

/**
 * Agent tokens: each live run of a session gets a fresh bearer token; only its SHA-256 is stored, so a
 * copy of the database does not hand out working credentials.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("agent_tokens")
    .addColumn("token_sha256", "text", (c) => c.primaryKey())
    .addColumn("session_id", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("agent_tokens_session").on("agent_tokens").columns(["session_id"]).execute();
  // Dashboard logins: a cookie stands for the token it was obtained with (by digest), until it expires.
  // A login link is a one-time code for the same thing. Only hashes are stored.
  await db.schema
    .createTable("logins")
    .addColumn("secret_sha256", "text", (c) => c.primaryKey())
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("token_sha256", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("expires_at", "text", (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("logins").execute();
  await db.schema.dropTable("agent_tokens").execute();
}
