import type { WriteContext } from "../events/event-log.ts";
import { type SessionRow, selectSessionById } from "../store/session-queries.ts";
import { selectActiveWaitsOn, settleWait, type WaitRow } from "../store/wait-queries.ts";
import { writeMessage } from "./message-writes.ts";
import { configOf } from "./session-mapper.ts";

const RESULT_CHARS = 2000;

/**
 * When a session finishes a turn (or is killed), the sessions that care are told by message, in the same
 * transaction as the status change: its parent (unless `notifyParent: false`) and every session that
 * registered a `wait` on it. The recipients' turns are over, so this is what wakes an idle orchestrator:
 * it burns no tokens while it waits. Returns the recipients, to dispatch after the commit.
 */
export async function queueWakeMessages(context: WriteContext, session: SessionRow): Promise<string[]> {
  const recipients = new Set<string>();
  const text = describeOutcome(session);
  const parentId = session.parent_session_id;
  if (parentId && configOf(session).notifyParent !== false) {
    const parent = await selectSessionById(context.tx, parentId);
    if (parent && parent.status !== "killed") {
      await writeMessage(context, {
        sessionId: parentId,
        text: `[Baton] Your child ${text}`,
        mode: "queue",
        from: session.id,
      });
      recipients.add(parentId);
    }
  }
  for (const wait of await selectActiveWaitsOn(context.tx, session.id)) {
    await settleWait(context.tx, wait.id, "fired", new Date().toISOString());
    if (wait.waiter_session_id === parentId && recipients.has(parentId)) continue; // told once is enough
    await writeMessage(context, {
      sessionId: wait.waiter_session_id,
      text: `[Baton] The session you waited for: ${text}`,
      mode: "queue",
      from: session.id,
    });
    recipients.add(wait.waiter_session_id);
  }
  return [...recipients];
}

/** The message a waiter gets when its wait runs out first. */
export async function queueWaitExpiry(
  context: WriteContext,
  wait: WaitRow,
  target: SessionRow | undefined,
): Promise<void> {
  await settleWait(context.tx, wait.id, "expired", new Date().toISOString());
  const seconds = Math.round((Date.parse(wait.deadline) - Date.parse(wait.created_at)) / 1000);
  const state = target
    ? `${label(target)} is still ${target.status}`
    : `session ${wait.target_session_id} no longer exists`;
  await writeMessage(context, {
    sessionId: wait.waiter_session_id,
    text: `[Baton] Your wait of ${seconds} s ran out: ${state}.`,
    mode: "queue",
    ...(target ? { from: target.id } : {}),
  });
}

export function describeOutcome(session: SessionRow): string {
  const numbers = `${session.turns} turn${session.turns === 1 ? "" : "s"}, $${session.cost_usd.toFixed(4)}`;
  if (session.status === "completed")
    return `${label(session)} completed (${numbers}). Result:\n${truncate(session.result ?? "")}`;
  if (session.status === "killed") return `${label(session)} was killed (${numbers}).`;
  return `${label(session)} failed [${session.failure_reason ?? "error"}] (${numbers}): ${truncate(session.error ?? "")}`;
}

function label(session: SessionRow): string {
  return session.name ? `session "${session.name}" (${session.id})` : `session ${session.id}`;
}

function truncate(text: string): string {
  return text.length > RESULT_CHARS ? `${text.slice(0, RESULT_CHARS)}… [truncated; see baton show]` : text;
}
