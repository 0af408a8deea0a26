import type { MessageRow } from "../store/message-queries.ts";
import type { TurnOutcome } from "./runner-port.ts";
import type { FailureReason } from "./session-status.ts";

export function toFailureReason(reason: TurnOutcome["reason"]): FailureReason {
  if (
    reason === "max_turns" ||
    reason === "max_budget" ||
    reason === "api_error" ||
    reason === "resume_mismatch"
  )
    return reason;
  return "error";
}

/** The cost and turn figures of a row change, as an event payload carries them. */
export function pickNumbers(changes: Record<string, unknown>): Record<string, number> {
  const picked: Record<string, number> = {};
  if (typeof changes.cost_usd === "number") picked.costUsd = changes.cost_usd;
  if (typeof changes.turns === "number") picked.turns = changes.turns;
  return picked;
}

/**
 * Messages from another session carry a header so the recipient knows whom to answer. A person's or a
 * service's message is stored with its principal label (`admin:token`, `user:alice`) as sender, for the
 * record: it is not a session to answer, so the agent reads the text as it was written.
 */
export function renderMessage(message: MessageRow): string {
  const sender = message.sender_session_id;
  if (!sender?.startsWith("ses_")) return message.text;
  return `[Message from Baton session ${sender}. Reply with the baton send tool or CLI.]\n\n${message.text}`;
}
