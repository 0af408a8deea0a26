import type { Kysely } from "kysely";

/**
 * Placement by free memory (docs/deployment.md): each node's heartbeat records the memory it has left for
 * one more agent process (MemAvailable less the reserve, starts in flight and one footprint), in MB; null
 * when the node cannot read it. A queue drain leaves work to the live node with clearly the most.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("nodes").addColumn("free_memory_mb", "integer").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("nodes").dropColumn("free_memory_mb").execute();
}
