import type { Kysely } from "kysely";

/**
 * An interrupt asked for through another node of a cluster (docs/deployment.md): the node that took it
 * records when, in the transaction of its `session.interrupted` event, before it nudges the owner. A nudge
 * lost with a broken LISTEN connection is then caught up at the owner's next heartbeat, as kills and
 * messages are. The turn's end (any status out of working) clears it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("sessions").addColumn("interrupt_requested_at", "text").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("sessions").dropColumn("interrupt_requested_at").execute();
}
