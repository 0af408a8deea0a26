import { selectLatestSessionEvent } from "../store/recent-event-queries.ts";
import type { Db } from "../store/schema.ts";

/**
 * How a session's conversation begins, after `clear` started a new one inside the same session. Both facts
 * must survive a restart, so they come from the durable `session.cleared` event, not from memory:
 * - a cleared conversation starts from the messages sent after the clear; repeating the spawn prompt would
 *   hand a reused standby agent its first task again;
 * - the SDK reports cost per conversation (carried across resume), so the session's total is the cost at the
 *   clear plus the new conversation's own total. Without the offset the session's cost would stall until the
 *   new conversation outspent the old one.
 */
export interface ConversationStart {
  cleared: boolean;
  costOffsetUsd: number;
}

export async function readConversationStart(db: Db, sessionId: string): Promise<ConversationStart> {
  const cleared = await selectLatestSessionEvent(db, sessionId, "session.cleared");
  if (!cleared) return { cleared: false, costOffsetUsd: 0 };
  const data = JSON.parse(cleared.data) as { costUsd?: unknown };
  return { cleared: true, costOffsetUsd: typeof data.costUsd === "number" ? data.costUsd : 0 };
}
