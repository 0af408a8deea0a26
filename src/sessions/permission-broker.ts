import { BatonError } from "../core/errors.ts";
import { newRequestId } from "../core/ids.ts";
import { maskSecretValues } from "../core/mask.ts";
import type { KeyedSerial } from "../core/serial.ts";
import type { EventLog } from "../events/event-log.ts";
import type { Store } from "../store/open-store.ts";
import {
  insertPermission,
  type PermissionRow,
  selectPermission,
  selectPermissions,
  selectReusablePermission,
  updatePermission,
} from "../store/permission-queries.ts";
import type { NodeMailbox } from "./node-mailbox.ts";
import type { PermissionAnswer, PermissionRequest } from "./permission-schema.ts";
import type { PermissionAsk, PermissionDecision } from "./runner-port.ts";
import type { SessionLifecycle } from "./session-lifecycle.ts";

/**
 * Turns a tool call the CLI will not run on its own into a durable permission request and back.
 *
 * The request is stored and announced (`session.permission_requested`), the session turns `waiting`, and
 * the CLI's canUseTool call waits here until someone answers through the API, the CLI, Telegram or MCP.
 * Requests outlive a restart: a pending one stays answerable, and when the resumed agent asks for the same
 * tool call again the stored request (and any answer given meanwhile) is reused instead of asking twice.
 */
export class PermissionBroker {
  private readonly waiters = new Map<
    string,
    { sessionId: string; settle: (decision: PermissionDecision) => void }
  >();
  private readonly store: Store;
  private readonly log: EventLog;
  private readonly serial: KeyedSerial;
  private readonly lifecycle: SessionLifecycle;
  /** In a cluster: the waiting call may be on the node that runs the session. */
  private readonly mailbox: NodeMailbox | undefined;

  constructor(deps: {
    store: Store;
    log: EventLog;
    serial: KeyedSerial;
    lifecycle: SessionLifecycle;
    mailbox?: NodeMailbox | undefined;
  }) {
    this.store = deps.store;
    this.log = deps.log;
    this.serial = deps.serial;
    this.lifecycle = deps.lifecycle;
    this.mailbox = deps.mailbox;
  }

  async ask(
    sessionId: string,
    ask: PermissionAsk,
    timeoutMs: number | undefined,
  ): Promise<PermissionDecision> {
    const input = JSON.stringify(ask.input);
    const opened = await this.serial.run(sessionId, () => this.open(sessionId, ask, input));
    if ("decision" in opened) return opened.decision;
    const { requestId } = opened;
    return new Promise<PermissionDecision>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const settle = (decision: PermissionDecision) => {
        if (timer) clearTimeout(timer);
        this.waiters.delete(requestId);
        resolve(decision);
      };
      this.waiters.set(requestId, { sessionId, settle });
      if (timeoutMs) {
        timer = setTimeout(() => {
          const message = `No one answered this permission request within ${timeoutMs} ms (permissionTimeoutMs), so it was denied.`;
          void this.answer(sessionId, requestId, { decision: "deny", message, by: "baton:timeout" }).catch(
            () => undefined,
          );
        }, timeoutMs);
        timer.unref();
      }
      ask.signal.addEventListener(
        "abort",
        () => void this.cancel(sessionId, requestId, "the turn was interrupted").catch(() => undefined),
        { once: true },
      );
    });
  }

  /** Records a decision; the waiting tool call (if this process has one) proceeds at once. */
  async answer(sessionId: string, requestId: string, answer: PermissionAnswer): Promise<PermissionRequest> {
    return this.serial.run(sessionId, async () => {
      const row = await selectPermission(this.store.db, requestId);
      if (!row || row.session_id !== sessionId) {
        throw new BatonError(
          "PERMISSION_NOT_FOUND",
          `session ${sessionId} has no permission request ${requestId}`,
        );
      }
      if (row.status !== "pending") {
        throw new BatonError(
          "PERMISSION_ANSWERED",
          `permission request ${requestId} is already ${row.status} (by ${row.answered_by ?? "?"})`,
        );
      }
      const waiter = this.waiters.get(requestId);
      const now = new Date().toISOString();
      const by = answer.by ?? "anonymous";
      const changes: Partial<PermissionRow> = {
        status: answer.decision === "allow" ? "allowed" : "denied",
        message: answer.message ?? null,
        updated_input: answer.updatedInput ? JSON.stringify(answer.updatedInput) : null,
        always_allow: answer.alwaysAllow ? 1 : 0,
        answered_by: by,
        answered_at: now,
        consumed: waiter ? 1 : 0,
      };
      await this.log.write(async ({ tx, emit }) => {
        await updatePermission(tx, requestId, changes);
        await emit("session.permission_resolved", sessionId, {
          requestId,
          toolName: row.tool_name,
          decision: answer.decision,
          by,
          ...(answer.message ? { message: answer.message } : {}),
          ...(answer.alwaysAllow ? { alwaysAllow: true } : {}),
          ...(answer.updatedInput ? { inputEdited: true } : {}),
        });
      });
      const updated = { ...row, ...changes };
      // The call waits on the node that runs the session: that node settles it and unblocks the session
      // (its lock waits, which keep the session waiting, are known there alone).
      const command = { kind: "permission_answered", sessionId, requestId } as const;
      if (!waiter && (await this.mailbox?.forward(command))) return toPermissionRequest(updated);
      await this.lifecycle.unblock(sessionId);
      waiter?.settle(toDecision(updated));
      return toPermissionRequest(updated);
    });
  }

  /**
   * Another node recorded an answer for a session this node runs: the session leaves `waiting` (unless
   * something else still holds it) and the call waiting here, if any, proceeds with the answer. A no-op while
   * the request is still pending.
   */
  async settleAnswered(sessionId: string, requestId: string): Promise<void> {
    await this.serial.run(sessionId, async () => {
      const row = await selectPermission(this.store.db, requestId);
      if (!row || row.session_id !== sessionId || row.status === "pending") return;
      const waiter = this.waiters.get(requestId);
      if (waiter) await updatePermission(this.store.db, requestId, { consumed: 1 });
      await this.lifecycle.unblock(sessionId);
      waiter?.settle(toDecision(row));
    });
  }

  /** The heartbeat's catch-up: the requests that calls here wait for, answered meanwhile (to settle). */
  async answeredElsewhere(): Promise<Array<{ sessionId: string; requestId: string }>> {
    const answered: Array<{ sessionId: string; requestId: string }> = [];
    for (const [requestId, waiter] of [...this.waiters]) {
      const row = await selectPermission(this.store.db, requestId);
      if (row && row.status !== "pending") answered.push({ sessionId: waiter.sessionId, requestId });
    }
    return answered;
  }

  async list(filter: {
    status?: string | undefined;
    sessionId?: string | undefined;
    limit: number;
  }): Promise<PermissionRequest[]> {
    return (await selectPermissions(this.store.db, filter)).map(toPermissionRequest);
  }

  /**
   * The process is closing or gone: forget its waiting calls without answering them (an answer now would
   * be written into the transcript as a denial). Stored requests stay pending and answerable.
   */
  dropWaiters(sessionId: string): void {
    for (const [requestId, waiter] of [...this.waiters]) {
      if (waiter.sessionId === sessionId) this.waiters.delete(requestId);
    }
  }

  /** Kill: pending requests of the session are cancelled for good. Call inside the session's serial queue. */
  async cancelAll(sessionId: string): Promise<void> {
    const pending = await selectPermissions(this.store.db, { status: "pending", sessionId, limit: 1000 });
    await this.log.write(async ({ tx }) => {
      for (const row of pending)
        await updatePermission(tx, row.id, {
          status: "cancelled",
          answered_at: new Date().toISOString(),
          answered_by: "baton:kill",
        });
    });
    this.dropWaiters(sessionId);
  }

  private async open(
    sessionId: string,
    ask: PermissionAsk,
    input: string,
  ): Promise<{ decision: PermissionDecision } | { requestId: string }> {
    const reusable = await selectReusablePermission(this.store.db, sessionId, ask.toolName, input);
    if (reusable && reusable.status !== "pending") {
      await updatePermission(this.store.db, reusable.id, { consumed: 1 });
      return { decision: toDecision(reusable) };
    }
    const requestId = reusable?.id ?? newRequestId("perm");
    const now = new Date().toISOString();
    const moved = await this.lifecycle.block(
      sessionId,
      [
        [
          "session.permission_requested",
          {
            requestId,
            toolName: ask.toolName,
            toolUseId: ask.toolUseId,
            input: maskSecretValues(ask.input),
            ...(ask.suggestions ? { suggestions: ask.suggestions } : {}),
            ...(reusable ? { repeated: true } : {}),
          },
        ],
      ],
      async ({ tx }) => {
        if (reusable) return;
        await insertPermission(tx, {
          id: requestId,
          session_id: sessionId,
          tool_name: ask.toolName,
          tool_use_id: ask.toolUseId,
          input,
          suggestions: ask.suggestions ? JSON.stringify(ask.suggestions) : null,
          status: "pending",
          message: null,
          updated_input: null,
          always_allow: 0,
          answered_by: null,
          created_at: now,
          answered_at: null,
          consumed: 0,
        });
      },
    );
    if (!moved) return { decision: { behavior: "deny", message: "the session is not running" } };
    return { requestId };
  }

  private async cancel(sessionId: string, requestId: string, why: string): Promise<void> {
    await this.serial.run(sessionId, async () => {
      const waiter = this.waiters.get(requestId);
      if (!waiter) return;
      await updatePermission(this.store.db, requestId, {
        status: "cancelled",
        consumed: 1,
        answered_at: new Date().toISOString(),
        answered_by: "baton:interrupt",
      });
      await this.lifecycle.unblock(sessionId);
      waiter.settle({ behavior: "deny", message: why });
    });
  }
}

function toDecision(row: PermissionRow): PermissionDecision {
  if (row.status === "allowed") {
    return {
      behavior: "allow",
      updatedInput: row.updated_input
        ? (JSON.parse(row.updated_input) as Record<string, unknown>)
        : undefined,
      alwaysAllow: row.always_allow === 1,
    };
  }
  return { behavior: "deny", message: row.message ?? `Denied by ${row.answered_by ?? "a human"}.` };
}

export function toPermissionRequest(row: PermissionRow): PermissionRequest {
  return {
    id: row.id,
    sessionId: row.session_id,
    toolName: row.tool_name,
    toolUseId: row.tool_use_id,
    input: maskSecretValues(JSON.parse(row.input)),
    suggestions: row.suggestions ? (JSON.parse(row.suggestions) as unknown) : null,
    status: row.status as PermissionRequest["status"],
    message: row.message,
    answeredBy: row.answered_by,
    createdAt: row.created_at,
    answeredAt: row.answered_at,
  };
}
