import type { MessageRow } from "../store/message-queries.ts";
import type { DeliveryMode, MessageReceipt } from "./session-schema.ts";

/**
 * A stored message as its sender sees it. Stored statuses: `pending` (accepted, not yet in a turn),
 * `delivered` (pushed into the agent's input), `cancelled` (the session was killed before it was delivered), `refused` (the resume it was for failed its check:
 * `resume_mismatch`).
 */
export function toReceipt(message: MessageRow): MessageReceipt {
  const base = {
    messageId: message.id,
    sessionId: message.session_id,
    mode: message.mode as DeliveryMode,
    from: message.sender_session_id,
    acceptedAt: message.created_at,
  };
  if (message.status === "delivered") {
    return {
      ...base,
      status: "delivered",
      ...(message.delivered_at ? { deliveredAt: message.delivered_at } : {}),
    };
  }
  if (message.status === "cancelled") {
    return { ...base, status: "refused", reason: "the session was killed before the message was delivered" };
  }
  if (message.status === "refused") {
    return { ...base, status: "refused", reason: "the session could not be resumed (resume_mismatch)" };
  }
  return { ...base, status: "queued" };
}
