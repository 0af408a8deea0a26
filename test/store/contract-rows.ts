import type { LockRow } from "../../src/store/lock-queries.ts";
import type { MessageRow } from "../../src/store/message-queries.ts";
import type { DeliveryRow } from "../../src/store/outbox-queries.ts";
import type { PermissionRow } from "../../src/store/permission-queries.ts";
import type { SessionRow } from "../../src/store/session-queries.ts";
import type { WaitRow } from "../../src/store/wait-queries.ts";

/** Complete rows for the store contract suite: each test names only the columns it is about. */
const T0 = "2030-01-01T00:00:00.000Z";

/** An ISO time `seconds` after a fixed origin, so orderings by time are explicit in the tests. */
export function at(seconds: number): string {
  return new Date(Date.parse(T0) + seconds * 1000).toISOString();
}

export function sessionRow(id: string, overrides: Partial<SessionRow> = {}): SessionRow {
  return {
    id,
    name: null,
    owner: "alice",
    status: "queued",
    config: JSON.stringify({ prompt: "hello", workDir: "/work/a" }),
    parent_session_id: null,
    run_identifier: null,
    agent_session_id: null,
    agent_fingerprint: null,
    result: null,
    cost_usd: 0,
    turns: 0,
    error: null,
    failure_reason: null,
    pid: null,
    pid_start_time: null,
    priority: 0,
    created_at: T0,
    updated_at: T0,
    started_at: null,
    ended_at: null,
    owner_node: null,
    lease_epoch: 0,
    interrupt_requested_at: null,
    ...overrides,
  };
}

export function messageRow(id: string, overrides: Partial<MessageRow> = {}): MessageRow {
  return {
    id,
    session_id: "ses_a",
    text: `text of ${id}`,
    mode: "queue",
    sender_session_id: null,
    idempotency_key: null,
    status: "pending",
    queued_seq: 1,
    created_at: T0,
    delivered_at: null,
    ...overrides,
  };
}

export function permissionRow(id: string, overrides: Partial<PermissionRow> = {}): PermissionRow {
  return {
    id,
    session_id: "ses_a",
    tool_name: "Bash",
    tool_use_id: null,
    input: JSON.stringify({ command: "ls" }),
    suggestions: null,
    status: "pending",
    message: null,
    updated_input: null,
    always_allow: 0,
    answered_by: null,
    created_at: T0,
    answered_at: null,
    consumed: 0,
    ...overrides,
  };
}

export function waitRow(id: string, overrides: Partial<WaitRow> = {}): WaitRow {
  return {
    id,
    waiter_session_id: "ses_waiter",
    target_session_id: "ses_target",
    deadline: at(60),
    status: "active",
    created_at: T0,
    settled_at: null,
    ...overrides,
  };
}

export function lockRow(resource: string, overrides: Partial<LockRow> = {}): LockRow {
  return { resource, session_id: "ses_a", kind: "auto", reason: null, acquired_at: T0, ...overrides };
}

export function deliveryRow(id: string, overrides: Partial<DeliveryRow> = {}): DeliveryRow {
  return {
    id,
    event_seq: 1,
    endpoint: "webhook:https://example.test/hook",
    channel: "webhook",
    target: "https://example.test/hook",
    session_id: "ses_a",
    topic: "session.completed",
    payload: JSON.stringify({ ok: true }),
    status: "pending",
    attempts: 0,
    next_attempt_at: T0,
    last_http_status: null,
    last_error: null,
    created_at: T0,
    updated_at: T0,
    delivered_at: null,
    ...overrides,
  };
}
