import type { AgentTokenRow, LoginRow } from "./access-queries.ts";
import type { IdempotencyRow, SessionKeyRow } from "./key-queries.ts";
import type { LockRow } from "./lock-queries.ts";
import type { NotifyTables } from "./notify-schema.ts";
import type { PermissionRow } from "./permission-queries.ts";
import type { WaitRow } from "./wait-queries.ts";

/**
 * Table shapes as Kysely sees them. JSON columns are stored as text and timestamps as ISO-8601 text in both
 * SQLite and PostgreSQL, so rows read back identically from either backend.
 */
export interface SessionsTable {
  id: string;
  name: string | null;
  owner: string;
  status: string;
  config: string;
  parent_session_id: string | null;
  run_identifier: string | null;
  agent_session_id: string | null;
  result: string | null;
  cost_usd: number;
  turns: number;
  error: string | null;
  failure_reason: string | null;
  pid: number | null;
  pid_start_time: string | null;
  priority: number;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  ended_at: string | null;
}

export interface EventsTable {
  seq: number;
  topic: string;
  session_id: string | null;
  ts: string;
  data: string;
}

export interface MessagesTable {
  id: string;
  session_id: string;
  text: string;
  mode: string;
  sender_session_id: string | null;
  idempotency_key: string | null;
  status: string;
  /** The seq of its `session.message_queued` event: a strict order for messages accepted in the same ms. */
  queued_seq: number;
  created_at: string;
  delivered_at: string | null;
}

export interface CountersTable {
  name: string;
  value: number;
}

export interface Database extends NotifyTables {
  permission_requests: PermissionRow;
  agent_tokens: AgentTokenRow;
  logins: LoginRow;
  session_keys: SessionKeyRow;
  idempotency_keys: IdempotencyRow;
  locks: LockRow;
  waits: WaitRow;
  sessions: SessionsTable;
  events: EventsTable;
  messages: MessagesTable;
  counters: CountersTable;
}
