import type { Kysely } from "kysely";

/**
 * Parking at usage limits (src/sessions/credential-limits.ts). `credential_limits`: a credential the model
 * API refused (a usage or rate limit until `resume_at`, or an auth failure with no end), so no turn starts
 * against it meanwhile; `strikes` counts limits in a row without a known reset (the backoff grows).
 * `parked_sessions`: each session waiting for its credential, with the moment it resumes (jitter included,
 * chosen once), so both survive a restart.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("credential_limits")
    .addColumn("credential", "text", (c) => c.primaryKey())
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("since", "text", (c) => c.notNull())
    .addColumn("resume_at", "text")
    .addColumn("reason", "text", (c) => c.notNull())
    .addColumn("strikes", "integer", (c) => c.notNull())
    .execute();
  await db.schema
    .createTable("parked_sessions")
    .addColumn("session_id", "text", (c) => c.primaryKey())
    .addColumn("credential", "text", (c) => c.notNull())
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("since", "text", (c) => c.notNull())
    .addColumn("resume_at", "text")
    .addColumn("reason", "text", (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("parked_sessions").execute();
  await db.schema.dropTable("credential_limits").execute();
}
