import type { Executor, MessagesTable, Tx } from "./schema.ts";

export type MessageRow = MessagesTable;

export async function insertMessage(tx: Tx, row: MessageRow): Promise<void> {
  await tx.insertInto("messages").values(row).execute();
}

export async function selectMessageByIdempotencyKey(
  db: Executor,
  sessionId: string,
  key: string,
): Promise<MessageRow | undefined> {
  return db
    .selectFrom("messages")
    .selectAll()
    .where("session_id", "=", sessionId)
    .where("idempotency_key", "=", key)
    .executeTakeFirst();
}

export async function selectMessageById(
  db: Executor,
  sessionId: string,
  messageId: string,
): Promise<MessageRow | undefined> {
  return db
    .selectFrom("messages")
    .selectAll()
    .where("session_id", "=", sessionId)
    .where("id", "=", messageId)
    .executeTakeFirst();
}

/** Accepted but not yet delivered, oldest first: the order `queue` mode promises. */
export async function selectPendingMessages(db: Executor, sessionId: string): Promise<MessageRow[]> {
  return db
    .selectFrom("messages")
    .selectAll()
    .where("session_id", "=", sessionId)
    .where("status", "=", "pending")
    .orderBy("queued_seq")
    .execute();
}

export async function markMessagesDelivered(tx: Tx, ids: string[], deliveredAt: string): Promise<void> {
  if (ids.length === 0) return;
  await tx
    .updateTable("messages")
    .set({ status: "delivered", delivered_at: deliveredAt })
    .where("id", "in", ids)
    .execute();
}

/** Messages a refused resume was for: they never reached the model (receipt status `refused`). */
export function refusePendingMessages(tx: Tx, sessionId: string): Promise<void> {
  return settlePendingMessages(tx, sessionId, "refused");
}

export function cancelPendingMessages(tx: Tx, sessionId: string): Promise<void> {
  return settlePendingMessages(tx, sessionId, "cancelled");
}

async function settlePendingMessages(tx: Tx, sessionId: string, status: string): Promise<void> {
  await tx
    .updateTable("messages")
    .set({ status })
    .where("session_id", "=", sessionId)
    .where("status", "=", "pending")
    .execute();
}

/** Sessions with at least one message not yet delivered. */
export async function selectSessionsWithPendingMessages(db: Executor): Promise<string[]> {
  const rows = await db
    .selectFrom("messages")
    .select("session_id")
    .distinct()
    .where("status", "=", "pending")
    .execute();
  return rows.map((row) => row.session_id);
}

/** When a message was delivered (null while pending). */
export async function selectDeliveredAt(db: Executor, messageId: string): Promise<string | null> {
  const row = await db
    .selectFrom("messages")
    .select("delivered_at")
    .where("id", "=", messageId)
    .executeTakeFirst();
  return row?.delivered_at ?? null;
}
