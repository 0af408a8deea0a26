import type { Kysely } from "kysely";

/**
 * Slack's Events API, inbound: each message Baton accepted from Slack, stored before Slack hears 200 and
 * handed to its keyed session afterwards. The primary key is the message itself (channel and Slack's `ts`),
 * so Slack's retries of an event, and the `message` and `app_mention` events one mention causes, are one
 * row. Handled rows are kept a day for that check, then deleted.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("slack_inbound")
    .addColumn("message_key", "text", (c) => c.primaryKey())
    .addColumn("event_id", "text", (c) => c.notNull())
    .addColumn("channel", "text", (c) => c.notNull())
    .addColumn("thread_ts", "text")
    .addColumn("user_id", "text")
    .addColumn("text", "text", (c) => c.notNull())
    .addColumn("received_at", "text", (c) => c.notNull())
    .addColumn("handled_at", "text")
    .execute();
  await db.schema
    .createIndex("slack_inbound_pending")
    .on("slack_inbound")
    .columns(["handled_at", "received_at"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("slack_inbound").execute();
}
