import type { Kysely } from "kysely";

/**
 * Sessions by key and idempotent spawns.
 * - `session_keys`: the live session that holds a key (a chat id, a phone number, a ticket). The primary key
 *   makes "one key, one live session" hold even when two first messages race; a kill deletes the row.
 * - `idempotency_keys`: what a spawn with an `Idempotency-Key` created, with a hash of its request, kept 24 h.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("session_keys")
    .addColumn("key", "text", (c) => c.primaryKey())
    .addColumn("session_id", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("session_keys_session").on("session_keys").columns(["session_id"]).execute();
  await db.schema
    .createTable("idempotency_keys")
    .addColumn("scoped_key", "text", (c) => c.primaryKey())
    .addColumn("request_sha256", "text", (c) => c.notNull())
    .addColumn("session_id", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("idempotency_keys_created")
    .on("idempotency_keys")
    .columns(["created_at"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("idempotency_keys").execute();
  await db.schema.dropTable("session_keys").execute();
}
