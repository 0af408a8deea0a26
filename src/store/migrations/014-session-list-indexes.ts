import { type Kysely, sql } from "kysely";
import { workDirOf } from "../session-workdir-filter.ts";

/**
 * Keyset paging for `GET /sessions` on every filter: each list is "newest first" (`id` descending, ids sort
 * by creation time), so each filter gets an index ending in `id`. Measured with 100,000 sessions on SQLite
 * (bench/listing.bench.ts): a `status=completed` page took ~590 ms through `sessions_status` (status,
 * priority, created_at), which sorts every row of that status; with (status, id) it reads one page.
 * `owner` and `parent_session_id` already had theirs (001); owner + status gets its own, and `workDir`
 * (inside the JSON config) an index on the extracted value (session-workdir-filter.ts).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex("sessions_status_id").on("sessions").columns(["status", "id"]).execute();
  await db.schema
    .createIndex("sessions_owner_status_id")
    .on("sessions")
    .columns(["owner", "status", "id"])
    .execute();
  await sql`create index sessions_workdir_id on sessions (${workDirOf(db)}, id)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex("sessions_workdir_id").execute();
  await db.schema.dropIndex("sessions_owner_status_id").execute();
  await db.schema.dropIndex("sessions_status_id").execute();
}
