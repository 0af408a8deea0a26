import { newMessageId } from "../core/ids.ts";
import type { WriteContext } from "../events/event-log.ts";
import { insertMessage } from "../store/message-queries.ts";
import type { DeliveryMode } from "./session-schema.ts";

export interface NewMessage {
  sessionId: string;
  text: string;
  mode: DeliveryMode;
  /** The sending session, if a session sent it: the recipient is told whom to answer. */
  from?: string | undefined;
  idempotencyKey?: string | undefined;
}

/**
 * Accepts a message durably: the row and its `session.message_queued` event commit together, so an
 * accepted message is delivered even if Baton dies right after answering 202.
 */
export async function writeMessage(context: WriteContext, message: NewMessage): Promise<string> {
  const messageId = newMessageId();
  const event = await context.emit("session.message_queued", message.sessionId, {
    messageId,
    mode: message.mode,
    ...(message.from ? { from: message.from } : {}),
  });
  await insertMessage(context.tx, {
    id: messageId,
    session_id: message.sessionId,
    text: message.text,
    mode: message.mode,
    sender_session_id: message.from ?? null,
    idempotency_key: message.idempotencyKey ?? null,
    status: "pending",
    queued_seq: event.seq,
    created_at: event.ts,
    delivered_at: null,
  });
  return messageId;
}
