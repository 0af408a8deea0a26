import type { Kysely } from "kysely";

/**
 * `sessions.agent_fingerprint`: what the agent process reported when its conversation first started (the
 * SDK's `system/init`: permission mode, cwd, model, tools), as JSON. Every resume is checked against it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("sessions").addColumn("agent_fingerprint", "text").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("sessions").dropColumn("agent_fingerprint").execute();
}
