import { realpath, stat } from "node:fs/promises";
import { resolve, sep } from "node:path";
import { BatonError } from "../core/errors.ts";
import { newSessionId } from "../core/ids.ts";
import type { KeyedSerial } from "../core/serial.ts";
import type { EventLog, WriteContext } from "../events/event-log.ts";
import {
  deleteIdempotencyKeysBefore,
  insertIdempotencyKey,
  insertSessionKey,
  selectIdempotencyKey,
  selectSessionKey,
} from "../store/key-queries.ts";
import type { Store } from "../store/open-store.ts";
import {
  insertSession,
  type SessionRow,
  selectLiveSessionByName,
  selectQueue,
  selectSessionById,
} from "../store/session-queries.ts";
import type { RunSupervisor } from "./run-supervisor.ts";
import type { SessionReads } from "./session-reads.ts";
import type { Session, SessionConfig, SessionConfigInput } from "./session-schema.ts";
import type { TreeBudgetLedger } from "./tree-ledger.ts";

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
 * Spawning: validates what a caller asks for (workDir, permission mode, parent, name, key, queue room),
 * applies the defaults, prepares the workspace, reserves tree budget, then writes the session, its
 * `session.created` and its admission (a slot, or the queue) in one transaction.
 */
export class SessionSpawner {
  private readonly store: Store;
  private readonly log: EventLog;
  private readonly serial: KeyedSerial;
  private readonly supervisor: Pick<RunSupervisor, "admitNew" | "startClaimed" | "drainQueue">;
  private readonly treeBudget: TreeBudgetLedger;
  private readonly reads: SessionReads;
  private readonly defaults: SessionDefaults;
  private readonly workspace: WorkspacePreparer | undefined;

  constructor(deps: {
    store: Store;
    log: EventLog;
    serial: KeyedSerial;
    supervisor: Pick<RunSupervisor, "admitNew" | "startClaimed" | "drainQueue">;
    treeBudget: TreeBudgetLedger;
    reads: SessionReads;
    defaults: SessionDefaults;
    workspace?: WorkspacePreparer | undefined;
  }) {
    this.store = deps.store;
    this.log = deps.log;
    this.serial = deps.serial;
    this.supervisor = deps.supervisor;
    this.treeBudget = deps.treeBudget;
    this.reads = deps.reads;
    this.defaults = deps.defaults;
    this.workspace = deps.workspace;
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
    return this.reads.getById(row.session_id);
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
      await this.treeBudget.reserveForSpawn(id, parent, config.maxBudgetUsd).catch(async (error: unknown) => {
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
    const insert = async ({ tx, emit }: WriteContext) => {
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
    };
    return this.serial.run(row.id, async () => {
      const admission = await this.supervisor.admitNew(row, insert).catch(async (error: unknown) => {
        this.treeBudget.cancel(id);
        await this.workspace?.discard(config);
        throw error;
      });
      if (admission.kind === "claimed") await this.supervisor.startClaimed(row.id);
      else void this.supervisor.drainQueue();
      return this.reads.getById(row.id);
    });
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
