import type { Kysely } from "kysely";

/**
 * Several Baton nodes on one PostgreSQL database (src/cluster). `nodes`: each running `baton serve`, its
 * URL and its lease (renewed by heartbeat; another node adopts its sessions once it has expired).
 * `sessions.owner_node`: the node that last started a turn of the session; `lease_epoch` grows each time the
 * ownership moves, so a write from a node that lost the session is refused (fencing). On SQLite (one node)
 * both stay at their defaults.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("nodes")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("url", "text", (c) => c.notNull())
    .addColumn("started_at", "text", (c) => c.notNull())
    .addColumn("last_seen_at", "text", (c) => c.notNull())
    .addColumn("lease_expires_at", "text", (c) => c.notNull())
    .addColumn("live_sessions", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable("sessions").addColumn("owner_node", "text").execute();
  await db.schema
    .alterTable("sessions")
    .addColumn("lease_epoch", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("sessions").dropColumn("lease_epoch").execute();
  await db.schema.alterTable("sessions").dropColumn("owner_node").execute();
  await db.schema.dropTable("nodes").execute();
}
