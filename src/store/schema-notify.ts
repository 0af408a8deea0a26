/* The notification tables (outbox, chats); part of `Database` in schema.ts, which every query imports. */

/**
 * The outbox (002-notify): a delivery is one message to one endpoint (`<channel>:<target>`) with a stable id
 * (the `webhook-id` a receiver dedupes on); every attempt at sending it is recorded.
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

/** A message from Slack's Events API, stored before Slack is answered (migration 012). */
export interface SlackInboundTable {
  /** `<channel>:<ts>`: Slack's retries and the twin `message`/`app_mention` events share it. */
  message_key: string;
  event_id: string;
  channel: string;
  /** Set when the message was posted in a thread (not the thread's parent). */
  thread_ts: string | null;
  user_id: string | null;
  text: string;
  received_at: string;
  handled_at: string | null;
}
