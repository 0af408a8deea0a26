import type { Executor } from "./schema.ts";

/** Remembers that a message Baton sent to a chat is about a session, so a reply to it reaches the session. */
export async function insertTelegramMessage(
  db: Executor,
  row: { chatId: string; messageId: number; sessionId: string },
): Promise<void> {
  await db
    .insertInto("telegram_messages")
    .values({
      chat_id: row.chatId,
      message_id: row.messageId,
      session_id: row.sessionId,
      created_at: new Date().toISOString(),
    })
    .onConflict((conflict) => conflict.columns(["chat_id", "message_id"]).doNothing())
    .execute();
}

export async function selectTelegramMessageSession(
  db: Executor,
  chatId: string,
  messageId: number,
): Promise<string | undefined> {
  const row = await db
    .selectFrom("telegram_messages")
    .select("session_id")
    .where("chat_id", "=", chatId)
    .where("message_id", "=", messageId)
    .executeTakeFirst();
  return row?.session_id;
}
