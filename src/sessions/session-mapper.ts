import { BatonError } from "../core/errors.ts";
import { roundUsd } from "../core/money.ts";
import type { SessionRow } from "../store/session-queries.ts";
import {
  type Session,
  type SessionConfig,
  StoredSessionConfigSchema,
  type WaitingOn,
} from "./session-schema.ts";

export function toSession(row: SessionRow, queuePosition?: number, waitingOn?: WaitingOn): Session {
  const session: Session = {
    id: row.id,
    name: row.name,
    owner: row.owner,
    status: row.status,
    config: JSON.parse(row.config) as Record<string, unknown>,
    parentSessionId: row.parent_session_id,
    runIdentifier: row.run_identifier,
    agentSessionId: row.agent_session_id,
    result: row.result,
    costUsd: roundUsd(Number(row.cost_usd)),
    turns: Number(row.turns),
    error: row.error,
    failureReason: row.failure_reason,
    pid: row.pid,
    nodeId: row.owner_node ?? null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    startedAt: row.started_at,
    endedAt: row.ended_at,
  };
  if (queuePosition !== undefined) session.queuePosition = queuePosition;
  if (waitingOn) session.waitingOn = waitingOn;
  return session;
}

/**
 * A session's stored config, parsed with its schema: what was validated at spawn is checked again when
 * read, so a row written by another version (or by hand) fails here, naming the field, not deep inside a run.
 */
export function configOf(row: SessionRow): SessionConfig {
  const parsed = StoredSessionConfigSchema.safeParse(JSON.parse(row.config));
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new BatonError(
    "INTERNAL",
    `stored config of session ${row.id} is invalid: ${issue?.path.join(".") || "config"}: ${issue?.message}`,
  );
}
