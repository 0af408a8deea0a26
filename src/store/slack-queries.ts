import type { Executor, SlackInboundTable } from "./schema.ts";

export type SlackInboundRow = SlackInboundTable;

/** Stores a message from Slack unless it is already stored (a retry, or its twin event); true when new. */
export async function insertSlackInbound(db: Executor, row: SlackInboundRow): Promise<boolean> {
  const result = await db
    .insertInto("slack_inbound")
    .values(row)
    .onConflict((conflict) => conflict.column("message_key").doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
}

/** Messages not yet handed to a session, in the order they arrived. */
export async function selectPendingSlackInbound(db: Executor, limit: number): Promise<SlackInboundRow[]> {
  return db
    .selectFrom("slack_inbound")
    .selectAll()
    .where("handled_at", "is", null)
    .orderBy("received_at")
    .orderBy("message_key")
    .limit(limit)
    .execute();
}

export async function markSlackInboundHandled(db: Executor, messageKey: string, at: string): Promise<void> {
  await db
    .updateTable("slack_inbound")
    .set({ handled_at: at })
    .where("message_key", "=", messageKey)
    .execute();
}

/** Forgets handled messages received before `before` (ISO): Slack retries within the hour, not days. */
export async function deleteSlackInboundBefore(db: Executor, before: string): Promise<void> {
  await db
    .deleteFrom("slack_inbound")
    .where("handled_at", "is not", null)
    .where("received_at", "<", before)
    .execute();
}
