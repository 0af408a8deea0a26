import { randomUUID } from "node:crypto";
import type { WriteContext } from "../events/event-log.ts";
import type { SessionRow } from "../store/session-queries.ts";
import { incrementToolCalls, insertUsageTurns, type UsageTurnRow } from "../store/usage-queries.ts";
import type { TurnOutcome } from "./runner-port.ts";
import { configOf } from "./session-mapper.ts";
import { findRoot } from "./tree-budget.ts";

/**
 * Records a finished turn's usage, one row per model, in the transaction that counts its cost on the
 * session. The rows' costs add up to exactly what the session was charged for the turn (`costDeltaUsd`),
 * split across models in proportion to the SDK's per-model cost, so roll-ups and session costs agree.
 */
export async function recordTurnUsage(
  context: WriteContext,
  session: SessionRow,
  outcome: TurnOutcome,
  costDeltaUsd: number,
): Promise<void> {
  const usage = outcome.usage ?? [];
  const costDelta = Math.max(0, costDeltaUsd);
  if (costDelta === 0 && usage.length === 0) return;
  const root = await findRoot(context.tx, session);
  const turnId = randomUUID();
  const endedAt = new Date().toISOString();
  const perModel =
    usage.length > 0
      ? usage
      : [
          {
            model: configOf(session).model ?? "unknown",
            inputTokens: 0,
            outputTokens: 0,
            cacheReadTokens: 0,
            cacheWriteTokens: 0,
            costUsd: costDelta,
          },
        ];
  const modelCost = perModel.reduce((sum, entry) => sum + entry.costUsd, 0);
  const rows: UsageTurnRow[] = perModel.map((entry, index) => ({
    id: `${turnId}:${index}`,
    turn_id: turnId,
    session_id: session.id,
    owner: session.owner,
    root_session_id: root.id,
    model: entry.model,
    input_tokens: entry.inputTokens,
    output_tokens: entry.outputTokens,
    cache_read_tokens: entry.cacheReadTokens,
    cache_write_tokens: entry.cacheWriteTokens,
    cost_usd: modelCost > 0 ? (costDelta * entry.costUsd) / modelCost : costDelta / perModel.length,
    requests: Math.max(0, outcome.turns),
    first_of_turn: index === 0 ? 1 : 0,
    ended_at: endedAt,
  }));
  await insertUsageTurns(context.tx, rows);
}

/** Counts a tool call where the `baton_tool_calls_total` counter reads it (survives restarts and retention). */
export async function recordToolCall(context: WriteContext, tool: string): Promise<void> {
  await incrementToolCalls(context.tx, tool);
}
