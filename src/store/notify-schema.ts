/**
 * Tables of the notification outbox (migration 002-notify). Kept apart from schema.ts so the outbox can
 * grow without touching the session tables; `Database` in schema.ts extends this.
 *
 * Glossary:
 *   delivery  - one message to one endpoint, with a stable id (the `webhook-id` a receiver dedupes on)
 *   endpoint  - the dedupe key of a destination: `<channel>:<target>` (e.g. `webhook:https://…`)
 *   attempt   - one try at sending a delivery; every try is recorded
 */
export interface OutboxTable {
  id: string;
  /** The event this delivery reports; unique with `endpoint`, so replaying the log never duplicates. */
  event_seq: number | null;
  endpoint: string;
  channel: string;
  target: string;
  session_id: string | null;
  topic: string;
  /** JSON: the body (webhooks, callbacks) or the rendered message (Slack, Telegram). */
  payload: string;
  status: string;
  attempts: number;
  /** When the worker may (re)try it; while an attempt is in flight, the end of the claim's lease. */
  next_attempt_at: string;
  last_http_status: number | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  delivered_at: string | null;
}

export interface OutboxAttemptsTable {
  delivery_id: string;
  attempt: number;
  started_at: string;
  duration_ms: number;
  outcome: string;
  http_status: number | null;
  error: string | null;
}

/** URLs that answered 410 Gone: nothing more is sent to them. */
export interface DisabledEndpointsTable {
  url: string;
  disabled_at: string;
  reason: string;
}

/** Which session a Telegram message Baton sent belongs to, so a reply to it reaches that session. */
export interface TelegramMessagesTable {
  chat_id: string;
  message_id: number;
  session_id: string;
  created_at: string;
}

export interface NotifyTables {
  outbox: OutboxTable;
  outbox_attempts: OutboxAttemptsTable;
  disabled_endpoints: DisabledEndpointsTable;
  telegram_messages: TelegramMessagesTable;
}
