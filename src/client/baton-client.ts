import type { Whoami } from "../access/whoami-schema.ts";
import type { BatonNode } from "../cluster/node-schema.ts";
import type { EffectiveConfig } from "../core/effective-config.ts";
import type { BatonEvent } from "../events/catalogue.ts";
import type { EventPage } from "../events/event-query-schema.ts";
import type { Lock, LockList, LockRequest } from "../locks/lock-schema.ts";
import type { UsageReport } from "../ops/usage-schema.ts";
import type { SessionSummary, WaitBody, WaitReceipt } from "../sessions/coordination-schema.ts";
import type { PermissionAnswer, PermissionRequest } from "../sessions/permission-schema.ts";
import type {
  KeyMessageInput,
  KeyReceipt,
  ListSessionsParams,
  MessageReceipt,
  SendReceipt,
  Session,
  SessionConfigInput,
  SessionList,
} from "../sessions/session-schema.ts";
import { type EventQuery, eventParams, toQuery } from "./query-string.ts";

/** An error answer from Baton (4xx/5xx), or Baton not reachable at all (status 0). */
export class BatonApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;
  constructor(status: number, code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = "BatonApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export interface ClientOptions {
  url?: string;
  token?: string | undefined;
}

export type { EventPage } from "../events/event-query-schema.ts";

export type { EventQuery } from "./query-string.ts";

/** A typed client for Baton's HTTP API; the CLI and the tests use it. */
export class BatonClient {
  readonly url: string;
  private readonly token: string | undefined;

  constructor(options: ClientOptions = {}) {
    this.url = (options.url ?? envVar("BATON_URL") ?? "http://127.0.0.1:8420").replace(/\/$/, "");
    this.token = options.token ?? envVar("BATON_TOKEN");
  }

  /** Logs a browser in (the dashboard): Baton answers with its HttpOnly login cookie. */
  logIn(token: string): Promise<null> {
    return this.request("POST", "/login", { token });
  }

  /** Ends this browser's login. */
  logOut(): Promise<null> {
    return this.request("POST", "/logout");
  }

  /** A one-time login link to the dashboard, as this client's principal (what `baton open` prints). */
  loginLink(): Promise<{ url: string; expiresAt: string }> {
    return this.request("POST", "/login-links");
  }

  /** The principal this client's token names (role, owner, session for an agent). */
  whoami(): Promise<Whoami> {
    return this.request("GET", "/whoami");
  }

  /** With `idempotencyKey`, a retry (even after a restart) returns the session the first call created. */
  spawn(config: SessionConfigInput, options: { idempotencyKey?: string } = {}): Promise<Session> {
    const headers = options.idempotencyKey ? { "idempotency-key": options.idempotencyKey } : undefined;
    return this.request("POST", "/sessions", config, headers);
  }

  /** Send to the live session holding `key`, or spawn one for it (from `template` or keyTemplates). */
  sendToKey(key: string, message: KeyMessageInput): Promise<KeyReceipt> {
    return this.request("POST", `/keys/${encodeURIComponent(key)}/messages`, message);
  }

  /** The live session holding `key` (404 when none does). */
  getByKey(key: string): Promise<Session> {
    return this.request("GET", `/keys/${encodeURIComponent(key)}`);
  }

  /** A message's receipt: queued, delivered (when) or refused (why). */
  messageReceipt(idOrName: string, messageId: string): Promise<MessageReceipt> {
    return this.request(
      "GET",
      `/sessions/${encodeURIComponent(idOrName)}/messages/${encodeURIComponent(messageId)}`,
    );
  }

  list(query: ListSessionsParams = {}): Promise<SessionList> {
    return this.request("GET", `/sessions${toQuery(query)}`);
  }

  get(idOrName: string): Promise<Session> {
    return this.request("GET", `/sessions/${encodeURIComponent(idOrName)}`);
  }

  send(
    idOrName: string,
    message: { text: string; mode?: string; idempotencyKey?: string; from?: string },
  ): Promise<SendReceipt> {
    return this.request("POST", `/sessions/${encodeURIComponent(idOrName)}/messages`, message);
  }

  interrupt(idOrName: string): Promise<Session> {
    return this.request("POST", `/sessions/${encodeURIComponent(idOrName)}/interrupt`, {});
  }

  /** The audit names the caller's principal (its token), whatever the caller claims. */
  kill(idOrName: string): Promise<Session> {
    return this.request("POST", `/sessions/${encodeURIComponent(idOrName)}/kill`, {});
  }

  /** Gives a session a new friendly name (409 NAME_TAKEN when a live session has it). */
  rename(idOrName: string, name: string): Promise<Session> {
    return this.request("PATCH", `/sessions/${encodeURIComponent(idOrName)}`, { name });
  }

  /** Starts a fresh conversation in the same session (409 SESSION_BUSY while it works). */
  clear(idOrName: string): Promise<Session> {
    return this.request("POST", `/sessions/${encodeURIComponent(idOrName)}/clear`, {});
  }

  /** What the session is doing now, from its events: status, current tool, last output, cost. */
  what(idOrName: string): Promise<SessionSummary> {
    return this.request("GET", `/sessions/${encodeURIComponent(idOrName)}/what`);
  }

  /** `waiter` is sent a message when `target` finishes (or the time runs out); returns at once. */
  wait(waiter: string, request: WaitBody): Promise<WaitReceipt> {
    return this.request("POST", `/sessions/${encodeURIComponent(waiter)}/wait`, request);
  }

  sessionEvents(idOrName: string, query: Omit<EventQuery, "session"> = {}): Promise<EventPage> {
    return this.request(
      "GET",
      `/sessions/${encodeURIComponent(idOrName)}/events${toQuery(eventParams(query))}`,
    );
  }

  events(query: EventQuery = {}): Promise<EventPage> {
    return this.request("GET", `/events${toQuery(eventParams(query))}`);
  }

  publish(topic: string, data: Record<string, unknown>): Promise<BatonEvent> {
    return this.request("POST", "/events", { topic, data });
  }

  permissions(
    query: { status?: string; session?: string; limit?: number } = {},
  ): Promise<{ permissions: PermissionRequest[] }> {
    return this.request("GET", `/permissions${toQuery(query)}`);
  }

  answerPermission(
    idOrName: string,
    requestId: string,
    answer: PermissionAnswer,
  ): Promise<PermissionRequest> {
    return this.request(
      "POST",
      `/sessions/${encodeURIComponent(idOrName)}/permissions/${encodeURIComponent(requestId)}`,
      answer,
    );
  }

  /** Workspace locks: who holds what, who waits for whom (optionally for one session). */
  locks(query: { session?: string } = {}): Promise<LockList> {
    return this.request("GET", `/locks${toQuery(query)}`);
  }

  /** An explicit lock for the rest of the session's turn (409 LOCK_HELD / LOCK_CYCLE when refused). */
  lock(idOrName: string, request: LockRequest): Promise<Lock> {
    return this.request("POST", `/sessions/${encodeURIComponent(idOrName)}/lock`, request);
  }

  /** Releases one resource, or everything the session holds. */
  unlock(idOrName: string, request: { resource?: string } = {}): Promise<{ released: Lock[] }> {
    return this.request("POST", `/sessions/${encodeURIComponent(idOrName)}/unlock`, request);
  }

  health(): Promise<{
    ok: boolean;
    version: string;
    liveProcesses: number;
    warmPool: { size: number; ready: number };
    sessions: Record<string, number>;
    subscribers: { websocket: number; sse: number };
  }> {
    return this.request("GET", "/health");
  }

  /** The running server's configuration (secrets masked) and how its agents reach a model. */
  config(): Promise<EffectiveConfig> {
    return this.request("GET", "/config");
  }

  /** Tokens and cost summed per owner, tree, UTC day or model (`GET /usage`). */
  usage(query: { groupBy?: string; from?: string; to?: string; owner?: string } = {}): Promise<UsageReport> {
    return this.request("GET", `/usage${toQuery(query)}`);
  }

  /** The Baton nodes sharing this database (`GET /nodes`; one on SQLite). */
  nodes(): Promise<BatonNode[]> {
    return this.request("GET", "/nodes");
  }

  /** `GET /metrics`: the Prometheus exposition text. */
  async metrics(): Promise<string> {
    const response = await fetch(`${this.url}/metrics`, {
      headers: this.token ? { authorization: `Bearer ${this.token}` } : {},
    });
    const text = await response.text();
    if (!response.ok) throw new BatonApiError(response.status, `HTTP_${response.status}`, text);
    return text;
  }

  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    extraHeaders?: Record<string, string>,
  ): Promise<T> {
    const headers: Record<string, string> = { accept: "application/json", ...extraHeaders };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    let response: Response;
    try {
      response = await fetch(`${this.url}${path}`, {
        method,
        headers,
        body: body === undefined ? null : JSON.stringify(body),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
      throw new BatonApiError(
        0,
        "UNREACHABLE",
        `cannot reach Baton at ${this.url} (${cause}); is it running? Start it with: baton serve`,
      );
    }
    const text = await response.text();
    const parsed: unknown = text ? safeJson(text) : undefined;
    if (!response.ok) {
      const error = (
        parsed as
          | { error?: { code?: string; message?: string; details?: Record<string, unknown> } }
          | undefined
      )?.error;
      throw new BatonApiError(
        response.status,
        error?.code ?? `HTTP_${response.status}`,
        error?.message ?? (text || response.statusText),
        error?.details,
      );
    }
    return parsed as T;
  }
}

/** An environment variable where there is an environment (Node); the dashboard runs this in a browser. */
function envVar(name: string): string | undefined {
  return typeof process === "undefined" ? undefined : process.env[name];
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
