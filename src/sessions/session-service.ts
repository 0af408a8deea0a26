import { realpath, stat } from "node:fs/promises";
import { resolve, sep } from "node:path";
import { BatonError } from "../core/errors.ts";
import { newRequestId, newSessionId } from "../core/ids.ts";
import type { EventLog } from "../events/event-log.ts";
import {
  deleteIdempotencyKeysBefore,
  deleteSessionKeys,
  insertIdempotencyKey,
  insertSessionKey,
  selectIdempotencyKey,
  selectSessionKey,
} from "../store/key-queries.ts";
import {
  cancelPendingMessages,
  selectDeliveredAt,
  selectMessageById,
  selectMessageByIdempotencyKey,
} from "../store/message-queries.ts";
import type { Store } from "../store/open-store.ts";
import {
  countSessionsByStatus,
  insertSession,
  type SessionRow,
  selectLiveSessionByName,
  selectQueue,
  selectSessionById,
  selectSessionByName,
  selectSessions,
} from "../store/session-queries.ts";
import { insertWait } from "../store/wait-queries.ts";
import { toReceipt } from "./message-receipt.ts";
import { writeMessage } from "./message-writes.ts";
import type { RunSupervisor } from "./run-supervisor.ts";
import { configOf, toSession } from "./session-mapper.ts";
import type {
  ListSessionsQuery,
  MessageReceipt,
  SendMessageInput,
  SendReceipt,
  Session,
  SessionConfig,
  SessionConfigInput,
} from "./session-schema.ts";
import { transitionSession } from "./session-writes.ts";
import { waitingOnOf } from "./waiting-on.ts";
import { describeOutcome, queueWakeMessages } from "./wake.ts";

export interface WaitReceipt {
  waitId: string;
  deadline: string;
  targetStatus: string;
}

/** Prepares a new session's workspace (worktree isolation) before its row is written; undone if spawn fails. */
export interface WorkspacePreparer {
  prepare(sessionId: string, config: SessionConfig): Promise<SessionConfig>;
  discard(config: SessionConfig): Promise<void>;
}

export interface SessionDefaults {
  maxBudgetUsd: number;
  maxTurns: number;
  idleTimeoutMs: number;
  permissionMode: SessionConfig["permissionMode"];
  allowedRoots: string[];
  maxQueue: number;
  /**
   * Why `bypassPermissions` cannot work here, if it cannot: the `claude` CLI exits at once when run as root
   * without IS_SANDBOX=1, so such a spawn is refused up front instead of failing opaquely.
   */
  bypassRefusal?: string | undefined;
}

export interface SpawnOptions {
  /** The spawning principal's own workDir roots (on top of allowedRoots). */
  roots?: readonly string[] | undefined;
  /**
   * An `Idempotency-Key`, scoped to the caller, with a hash of the request: a retry gets the session the
   * first call created instead of a second one; the same key with another request is 422.
   */
  idempotency?: { scopedKey: string; requestSha256: string } | undefined;
}

/** How long an `Idempotency-Key` is remembered. */
export const IDEMPOTENCY_TTL_MS = 24 * 3600_000;

/**
 * The commands callers have on sessions: spawn, send, interrupt, kill, get, list. Every command that
 * touches one session runs inside that session's serial queue, so it sees and writes a consistent row.
 */
export class SessionService {
  private readonly store: Store;
  private readonly log: EventLog;
  private readonly supervisor: RunSupervisor;
  private readonly defaults: SessionDefaults;
  private readonly workspace: WorkspacePreparer | undefined;

  constructor(deps: {
    store: Store;
    log: EventLog;
    supervisor: RunSupervisor;
    defaults: SessionDefaults;
    workspace?: WorkspacePreparer;
  }) {
    this.store = deps.store;
    this.log = deps.log;
    this.supervisor = deps.supervisor;
    this.defaults = deps.defaults;
    this.workspace = deps.workspace;
  }

  async spawn(input: SessionConfigInput, options: SpawnOptions = {}): Promise<Session> {
    return (await this.spawnOnce(input, options)).session;
  }

  /** Spawns, or with an idempotency key seen before, returns what that first spawn created (`created: false`). */
  async spawnOnce(
    input: SessionConfigInput,
    options: SpawnOptions = {},
  ): Promise<{ session: Session; created: boolean }> {
    const { idempotency } = options;
    if (idempotency) {
      const earlier = await this.earlierSpawn(idempotency);
      if (earlier) return { session: earlier, created: false };
    }
    try {
      return { session: await this.spawnNew(input, options), created: true };
    } catch (error) {
      // Two retries at once: the one whose key row did not commit returns the other's session.
      const earlier = idempotency ? await this.earlierSpawn(idempotency) : undefined;
      if (earlier) return { session: earlier, created: false };
      throw error;
    }
  }

  private async earlierSpawn(
    idempotency: NonNullable<SpawnOptions["idempotency"]>,
  ): Promise<Session | undefined> {
    const cutoff = new Date(Date.now() - IDEMPOTENCY_TTL_MS).toISOString();
    const row = await selectIdempotencyKey(this.store.db, idempotency.scopedKey);
    if (!row || row.created_at < cutoff) return undefined;
    if (row.request_sha256 !== idempotency.requestSha256) {
      throw new BatonError(
        "IDEMPOTENCY_KEY_REUSED",
        `Idempotency-Key was used for a different request (session ${row.session_id}); use a new key for a new spawn`,
        { field: "Idempotency-Key", sessionId: row.session_id },
      );
    }
    return this.getById(row.session_id);
  }

  private async spawnNew(input: SessionConfigInput, options: SpawnOptions): Promise<Session> {
    await this.assertWorkDir(input.workDir, options.roots);
    const mode = input.permissionMode ?? this.defaults.permissionMode;
    if (mode === "bypassPermissions" && this.defaults.bypassRefusal) {
      throw new BatonError("VALIDATION_FAILED", `permissionMode: ${this.defaults.bypassRefusal}`, {
        field: "permissionMode",
      });
    }
    const parent = input.parentSessionId
      ? await selectSessionById(this.store.db, input.parentSessionId)
      : undefined;
    if (input.parentSessionId && !parent) {
      throw new BatonError("VALIDATION_FAILED", `parentSessionId: no session ${input.parentSessionId}`, {
        field: "parentSessionId",
      });
    }
    const defaulted: SessionConfig = {
      ...input,
      owner: input.owner ?? "anonymous",
      maxBudgetUsd: input.maxBudgetUsd ?? this.defaults.maxBudgetUsd,
      maxTurns: input.maxTurns ?? this.defaults.maxTurns,
      idleTimeoutMs: input.idleTimeoutMs ?? this.defaults.idleTimeoutMs,
      permissionMode: input.permissionMode ?? this.defaults.permissionMode,
    };
    const id = newSessionId();
    const config = this.workspace ? await this.workspace.prepare(id, defaulted) : defaulted;
    // A child of a tree with a budget reserves its share before it exists, or is refused (tree-ledger.ts).
    if (parent)
      await this.supervisor.treeBudget
        .reserveForSpawn(id, parent, config.maxBudgetUsd)
        .catch(async (error: unknown) => {
          await this.workspace?.discard(config);
          throw error;
        });
    const now = new Date().toISOString();
    const row: SessionRow = {
      id,
      name: config.name ?? null,
      owner: config.owner,
      status: "queued",
      config: JSON.stringify(config),
      parent_session_id: config.parentSessionId ?? null,
      run_identifier: config.runIdentifier ?? null,
      agent_session_id: null,
      agent_fingerprint: null,
      result: null,
      cost_usd: 0,
      turns: 0,
      error: null,
      failure_reason: null,
      pid: null,
      pid_start_time: null,
      priority: config.priority ?? 0,
      created_at: now,
      updated_at: now,
      started_at: null,
      ended_at: null,
    };
    const created = this.log.write(async ({ tx, emit }) => {
      if (config.name && (await selectLiveSessionByName(tx, config.name))) {
        throw new BatonError("NAME_TAKEN", `a live session is already named "${config.name}"`, {
          field: "name",
        });
      }
      const queued = (await selectQueue(tx)).length;
      if (queued >= this.defaults.maxQueue) {
        throw new BatonError(
          "QUEUE_FULL",
          `the queue is full (${queued} sessions waiting, maxQueue ${this.defaults.maxQueue}); retry later`,
        );
      }
      if (config.key) {
        const holder = await selectSessionKey(tx, config.key);
        if (holder) {
          throw new BatonError(
            "KEY_TAKEN",
            `key "${config.key}" is held by live session ${holder.session_id}`,
            {
              field: "key",
              sessionId: holder.session_id,
            },
          );
        }
      }
      await insertSession(tx, row);
      if (config.key) await insertSessionKey(tx, { key: config.key, session_id: row.id, created_at: now });
      if (options.idempotency) {
        await deleteIdempotencyKeysBefore(tx, new Date(Date.now() - IDEMPOTENCY_TTL_MS).toISOString());
        await insertIdempotencyKey(tx, {
          scoped_key: options.idempotency.scopedKey,
          request_sha256: options.idempotency.requestSha256,
          session_id: row.id,
          created_at: now,
        });
      }
      await emit("session.created", row.id, { config });
    });
    await created.catch(async (error: unknown) => {
      this.supervisor.treeBudget.cancel(id);
      await this.workspace?.discard(config);
      throw error;
    });
    return this.supervisor.serial.run(row.id, async () => {
      const position = await this.supervisor.admit(row);
      if (position === undefined) await this.supervisor.startClaimed(row.id);
      else void this.supervisor.drainQueue();
      return this.getById(row.id);
    });
  }

  async send(idOrName: string, input: SendMessageInput): Promise<SendReceipt> {
    const session = await this.resolve(idOrName);
    return this.supervisor.serial.run(session.id, async () => {
      const row = await this.requireRow(session.id);
      if (input.idempotencyKey) {
        const existing = await selectMessageByIdempotencyKey(this.store.db, row.id, input.idempotencyKey);
        if (existing) return receipt(existing.id, existing.delivered_at, true);
      }
      if (row.status === "killed") throw endedError(row);
      const messageId = await this.log.write((context) =>
        writeMessage(context, {
          sessionId: row.id,
          text: input.text,
          mode: input.mode,
          from: input.from,
          idempotencyKey: input.idempotencyKey,
        }),
      );
      await this.supervisor.dispatch(row.id);
      return receipt(messageId, await selectDeliveredAt(this.store.db, messageId), false);
    });
  }

  async interrupt(idOrName: string, by?: string): Promise<Session> {
    const session = await this.resolve(idOrName);
    return this.supervisor.serial.run(session.id, async () => {
      const row = await this.requireRow(session.id);
      if (row.status === "killed") throw endedError(row);
      if (row.status !== "running" && row.status !== "waiting") {
        throw new BatonError(
          "SESSION_NOT_RUNNING",
          `session ${label(row)} is ${row.status}: there is no turn to interrupt`,
        );
      }
      await this.log.write(({ emit }) => emit("session.interrupted", row.id, by ? { by } : {}));
      await this.supervisor.interrupt(row.id);
      return this.getById(row.id);
    });
  }

  async kill(idOrName: string, by?: string): Promise<Session> {
    const session = await this.resolve(idOrName);
    return this.supervisor.serial.run(session.id, async () => {
      const row = await this.requireRow(session.id);
      if (row.status === "killed") throw endedError(row);
      let woken: string[] = [];
      await transitionSession(this.log, row.id, {
        to: "killed",
        from: ["queued", "running", "waiting", "completed", "failed"],
        changes: { ended_at: new Date().toISOString() },
        events: [["session.killed", by ? { by } : {}]],
        also: async (context, updated) => {
          await cancelPendingMessages(context.tx, row.id);
          await deleteSessionKeys(context.tx, row.id);
          woken = await queueWakeMessages(context, updated);
        },
      });
      this.supervisor.wake(woken);
      await this.supervisor.permissions.cancelAll(row.id);
      await this.supervisor.close(row.id, "force");
      void this.supervisor.drainQueue();
      return this.getById(row.id);
    });
  }

  /**
   * `wait`: the waiter will be sent a message when `target` finishes its current work (or at once if it is
   * not working now), or when `timeoutSeconds` run out. Returns at once: the waiter holds no turn open.
   */
  async registerWait(
    waiterIdOrName: string,
    targetIdOrName: string,
    timeoutSeconds: number,
  ): Promise<WaitReceipt> {
    const waiter = await this.resolve(waiterIdOrName);
    const target = await this.resolve(targetIdOrName);
    if (waiter.id === target.id) {
      throw new BatonError("VALIDATION_FAILED", "target: a session cannot wait for itself", {
        field: "target",
      });
    }
    const now = new Date();
    const deadline = new Date(now.getTime() + timeoutSeconds * 1000).toISOString();
    const waitId = newRequestId("wait");
    const busy = ["queued", "running", "waiting"].includes(target.status);
    await this.log.write(async (context) => {
      await insertWait(context.tx, {
        id: waitId,
        waiter_session_id: waiter.id,
        target_session_id: target.id,
        deadline,
        status: busy ? "active" : "fired",
        created_at: now.toISOString(),
        settled_at: busy ? null : now.toISOString(),
      });
      if (!busy) {
        await writeMessage(context, {
          sessionId: waiter.id,
          text: `[Baton] The session you waited for: ${describeOutcome(target)}`,
          mode: "queue",
          from: target.id,
        });
      }
    });
    if (!busy) this.supervisor.wake([waiter.id]);
    return { waitId, deadline, targetStatus: target.status };
  }

  /** What became of a message: queued, delivered, or refused (the session was killed first). */
  async messageReceipt(idOrName: string, messageId: string): Promise<MessageReceipt> {
    const session = await this.resolve(idOrName);
    const message = await selectMessageById(this.store.db, session.id, messageId);
    if (!message) {
      throw new BatonError("MESSAGE_NOT_FOUND", `session ${label(session)} has no message ${messageId}`);
    }
    return toReceipt(message);
  }

  /** The live session holding `key`, if any. */
  async byKey(key: string): Promise<Session | undefined> {
    const row = await selectSessionKey(this.store.db, key);
    return row ? this.getById(row.session_id) : undefined;
  }

  async get(idOrName: string): Promise<Session> {
    const row = await this.resolve(idOrName);
    return this.withQueuePosition(row);
  }

  async list(query: ListSessionsQuery): Promise<{ sessions: Session[]; nextCursor: string | null }> {
    const rows = await selectSessions(this.store.db, {
      status: query.status,
      owner: query.owner,
      parentSessionId: query.parentSessionId,
      workDir: query.workDir,
      before: query.cursor,
      limit: query.limit + 1,
    });
    const page = rows.slice(0, query.limit);
    const positions = await this.queuePositions();
    // The SQL workDir match is a case-insensitive LIKE in SQLite: keep only exact matches (see workDir).
    const exact = query.workDir ? page.filter((row) => configOf(row).workDir === query.workDir) : page;
    const waits = await waitingOnOf(this.store.db, exact);
    const sessions = exact.map((row) => toSession(row, positions.get(row.id), waits.get(row.id)));
    return { sessions, nextCursor: rows.length > query.limit ? (page.at(-1)?.id ?? null) : null };
  }

  async counts(): Promise<Record<string, number>> {
    return countSessionsByStatus(this.store.db);
  }

  /** Resolves an id or a name to its session row; 404 when neither matches. */
  async resolve(idOrName: string): Promise<SessionRow> {
    const row = idOrName.startsWith("ses_")
      ? await selectSessionById(this.store.db, idOrName)
      : await selectSessionByName(this.store.db, idOrName);
    if (!row) throw new BatonError("SESSION_NOT_FOUND", `no session with id or name "${idOrName}"`);
    return row;
  }

  private async getById(id: string): Promise<Session> {
    return this.withQueuePosition(await this.requireRow(id));
  }

  private async requireRow(id: string): Promise<SessionRow> {
    const row = await selectSessionById(this.store.db, id);
    if (!row) throw new BatonError("SESSION_NOT_FOUND", `no session with id "${id}"`);
    return row;
  }

  private async withQueuePosition(row: SessionRow): Promise<Session> {
    const waitingOn = (await waitingOnOf(this.store.db, [row])).get(row.id);
    if (row.status !== "queued") return toSession(row, undefined, waitingOn);
    return toSession(row, (await this.queuePositions()).get(row.id), waitingOn);
  }

  private async queuePositions(): Promise<Map<string, number>> {
    const queue = await selectQueue(this.store.db);
    return new Map(queue.map((row, index) => [row.id, index + 1]));
  }

  private async assertWorkDir(workDir: string, principalRoots?: readonly string[]): Promise<void> {
    // The SDK's own error for a missing cwd is a misleading "native binary failed to launch": check first.
    const info = await stat(workDir).catch(() => undefined);
    if (!info?.isDirectory()) {
      throw new BatonError("WORKDIR_NOT_FOUND", `workDir ${workDir} does not exist or is not a directory`, {
        field: "workDir",
      });
    }
    // On real paths: a symlink inside an allowed root that points at /etc must not pass for the root.
    const real = await realpath(workDir);
    for (const roots of [this.defaults.allowedRoots, principalRoots ?? []]) {
      if (roots.length === 0 || (await isUnderOneOf(real, roots))) continue;
      const via = real === resolve(workDir) ? "" : ` (its real path is ${real})`;
      throw new BatonError(
        "WORKDIR_NOT_ALLOWED",
        `workDir ${workDir}${via} is not under an allowed root (${roots.join(", ")})`,
        { field: "workDir" },
      );
    }
  }
}

async function isUnderOneOf(real: string, roots: readonly string[]): Promise<boolean> {
  for (const root of roots) {
    const realRoot = await realpath(root).catch(() => resolve(root));
    if (real === realRoot || real.startsWith(realRoot.endsWith(sep) ? realRoot : realRoot + sep)) return true;
  }
  return false;
}

function receipt(messageId: string, deliveredAt: string | null, duplicate: boolean): SendReceipt {
  return { messageId, ...(deliveredAt ? { deliveredAt } : {}), ...(duplicate ? { duplicate } : {}) };
}

function label(row: SessionRow): string {
  return row.name ? `"${row.name}" (${row.id})` : row.id;
}

function endedError(row: SessionRow): BatonError {
  return new BatonError("SESSION_ENDED", `session ${label(row)} was killed; it accepts no more messages`);
}
