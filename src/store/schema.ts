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
  /** JSON AgentFingerprint of the conversation's first start: every resume is checked against it. */
  agent_fingerprint: string | null;
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

/** One model's share of one finished turn (migration 007-usage); a turn using two models has two rows. */
export interface UsageTurnsTable {
  id: string;
  turn_id: string;
  session_id: string;
  owner: string;
  root_session_id: string;
  model: string;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  cost_usd: number;
  /** Model requests the turn made (the SDK's num_turns), for the per-request cost estimate. */
  requests: number;
  /** 1 on the first row of its turn: `sum(first_of_turn)` counts turns without a DISTINCT. */
  first_of_turn: number;
  ended_at: string;
}

/** Per-owner running sums of `usage_turns` (the Prometheus counters' source). */
export interface UsageTotalsTable {
  owner: string;
  cost_usd: number;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
}

export interface ToolCallCountsTable {
  tool: string;
  calls: number;
}

export interface Database extends NotifyTables {
  usage_turns: UsageTurnsTable;
  usage_totals: UsageTotalsTable;
  tool_call_counts: ToolCallCountsTable;
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
