import type { Kysely, Transaction } from "kysely";
import type { SessionStatus } from "../core/session-status-names.ts";
import type {
  DisabledEndpointsTable,
  OutboxAttemptsTable,
  OutboxTable,
  SlackInboundTable,
  TelegramMessagesTable,
} from "./schema-notify.ts";
import type { TranscriptEntriesTable } from "./schema-transcripts.ts";

export type * from "./schema-notify.ts";
export type * from "./schema-transcripts.ts";

/** Every table as Kysely sees it. JSON and timestamps (ISO-8601) are text on both backends, so rows read alike. */
export interface SessionsTable {
  id: string;
  name: string | null;
  owner: string;
  status: SessionStatus;
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
  /** The node that last started a turn of it (a cluster on PostgreSQL; null on SQLite). Optional: a new
   * row leaves it to the database default. */
  owner_node?: string | null;
  /** Grows each time the session moves to another node: the fencing token of its owner's writes. */
  lease_epoch?: number;
  /** When an interrupt of its current turn was asked for (cleared when the turn ends); optional as above. */
  interrupt_requested_at?: string | null;
}

/** One running `baton serve` of a cluster on PostgreSQL (src/cluster). */
export interface NodesTable {
  id: string;
  url: string;
  started_at: string;
  last_seen_at: string;
  /** Past this instant the node counts as dead and another node adopts its sessions. */
  lease_expires_at: string;
  live_sessions: number;
  /** Memory left for one more agent process at its last heartbeat, in MB (may be < 0); null: unreadable. */
  free_memory_mb: number | null;
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

/** A credential the model API refused (migration 010; src/sessions/credential-limits.ts). */
export interface CredentialLimitsTable {
  credential: string;
  /** usage_limit | auth */
  kind: string;
  since: string;
  /** When turns may start again (jitter included); null for auth (until a new credential). */
  resume_at: string | null;
  reason: string;
  strikes: number;
}

/** A session parked until its credential may be used again. */
export interface ParkedSessionsTable {
  session_id: string;
  credential: string;
  kind: string;
  since: string;
  resume_at: string | null;
  reason: string;
}

/** Per-day sums of usage_turns (migration 011; usage-rollup-queries.ts). */
export interface UsageDailyTable {
  day: string;
  owner: string;
  root_session_id: string;
  model: string;
  cost_usd: number;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  /** Turns counted once (their first row); `model_turns` counts a turn once per model it used. */
  turns: number;
  model_turns: number;
}

/** The sessions with usage on a day, per model: distinct counts cannot be summed from usage_daily. */
export interface UsageDailySessionsTable {
  day: string;
  session_id: string;
  model: string;
  owner: string;
  root_session_id: string;
}

export interface Database {
  transcript_entries: TranscriptEntriesTable;
  nodes: NodesTable;
  usage_daily: UsageDailyTable;
  usage_daily_sessions: UsageDailySessionsTable;
  credential_limits: CredentialLimitsTable;
  parked_sessions: ParkedSessionsTable;
  outbox: OutboxTable;
  outbox_attempts: OutboxAttemptsTable;
  disabled_endpoints: DisabledEndpointsTable;
  telegram_messages: TelegramMessagesTable;
  slack_inbound: SlackInboundTable;
  usage_turns: UsageTurnsTable;
  usage_totals: UsageTotalsTable;
  tool_call_counts: ToolCallCountsTable;
  permission_requests: PermissionRequestsTable;
  agent_tokens: AgentTokensTable;
  logins: LoginsTable;
  session_keys: SessionKeysTable;
  idempotency_keys: IdempotencyKeysTable;
  locks: LocksTable;
  waits: WaitsTable;
  sessions: SessionsTable;
  events: EventsTable;
  messages: MessagesTable;
  counters: CountersTable;
}

export interface LoginsTable {
  secret_sha256: string;
  /** cookie (a browser's login) | link (a one-time login link's code) */
  kind: string;
  token_sha256: string;
  created_at: string;
  expires_at: string;
}

export interface AgentTokensTable {
  token_sha256: string;
  session_id: string;
  created_at: string;
}

export interface SessionKeysTable {
  key: string;
  session_id: string;
  created_at: string;
}

export interface IdempotencyKeysTable {
  /** `<principal>:<Idempotency-Key>`: one caller's keys never collide with another's. */
  scoped_key: string;
  request_sha256: string;
  session_id: string;
  created_at: string;
}

export interface LocksTable {
  /** `file:<absolute path>` or `workdir:<absolute path>`. */
  resource: string;
  session_id: string;
  /** taken by the PreToolUse hook for a file edit, or on request */
  kind: "auto" | "explicit";
  reason: string | null;
  acquired_at: string;
}

export interface PermissionRequestsTable {
  id: string;
  session_id: string;
  tool_name: string;
  tool_use_id: string | null;
  input: string;
  suggestions: string | null;
  /** pending | allowed | denied | cancelled */
  status: string;
  message: string | null;
  updated_input: string | null;
  always_allow: number;
  answered_by: string | null;
  created_at: string;
  answered_at: string | null;
  /** 1 once the decision was handed to a waiting tool call. */
  consumed: number;
}

export interface WaitsTable {
  id: string;
  waiter_session_id: string;
  target_session_id: string;
  deadline: string;
  /** active | fired | expired */
  status: string;
  created_at: string;
  settled_at: string | null;
}

/** A connection or an open transaction: every query function takes either. */
export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;
export type Executor = Db | Tx;
