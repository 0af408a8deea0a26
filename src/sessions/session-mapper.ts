import { roundUsd } from "../core/money.ts";
import type { SessionRow } from "../store/session-queries.ts";
import type { Session, SessionConfig, WaitingOn } from "./session-schema.ts";
import type { SessionStatus } from "./session-status.ts";

export function toSession(row: SessionRow, queuePosition?: number, waitingOn?: WaitingOn): Session {
  const session: Session = {
    id: row.id,
    name: row.name,
    owner: row.owner,
    status: row.status as SessionStatus,
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
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    startedAt: row.started_at,
    endedAt: row.ended_at,
  };
  if (queuePosition !== undefined) session.queuePosition = queuePosition;
  if (waitingOn) session.waitingOn = waitingOn;
  return session;
}

export function configOf(row: SessionRow): SessionConfig {
  return JSON.parse(row.config) as SessionConfig;
}
