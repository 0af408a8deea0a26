import { BatonError } from "../core/errors.ts";
import { newRequestId } from "../core/ids.ts";
import type { KeyedSerial } from "../core/serial.ts";
import type { EventLog } from "../events/event-log.ts";
import { deleteSessionKeys } from "../store/key-queries.ts";
import {
  cancelPendingMessages,
  selectDeliveredAt,
  selectMessageByIdempotencyKey,
} from "../store/message-queries.ts";
import { markInterruptRequested } from "../store/node-command-queries.ts";
import type { Store } from "../store/open-store.ts";
import type { SessionRow } from "../store/session-queries.ts";
import { insertWait } from "../store/wait-queries.ts";
import type { WaitReceipt } from "./coordination-schema.ts";
import { writeMessage } from "./message-writes.ts";
import type { PermissionBroker } from "./permission-broker.ts";
import type { RunSupervisor } from "./run-supervisor.ts";
import type { SessionLifecycle } from "./session-lifecycle.ts";
import { label, SessionReads } from "./session-reads.ts";
import type {
  ListSessionsQuery,
  MessageReceipt,
  SendMessageInput,
  SendReceipt,
  Session,
  SessionConfigInput,
} from "./session-schema.ts";
import {
  type SessionDefaults,
  SessionSpawner,
  type SpawnOptions,
  type WorkspacePreparer,
} from "./session-spawner.ts";
import { isUnfinished, NOT_KILLED, WORKING } from "./session-status.ts";
import type { TreeBudgetLedger } from "./tree-ledger.ts";
import { describeOutcome } from "./wake.ts";

export type { WaitReceipt } from "./coordination-schema.ts";
export type { SessionDefaults, SpawnOptions, WorkspacePreparer } from "./session-spawner.ts";

/** The run supervisor as the commands use it. */
type RunControl = Pick<
  RunSupervisor,
  | "admitNew"
  | "startClaimed"
  | "drainQueue"
  | "dispatch"
  | "interrupt"
  | "closeAnywhere"
  | "wake"
  | "memoryWaits"
>;

/**
 * The commands callers have on sessions: spawn, send, interrupt, kill, wait, and the reads. Every command
 * that touches one session runs inside that session's serial queue, so it sees and writes a consistent row.
 */
export class SessionService {
  private readonly store: Store;
  private readonly log: EventLog;
  private readonly serial: KeyedSerial;
  private readonly lifecycle: SessionLifecycle;
  private readonly permissions: PermissionBroker;
  private readonly supervisor: RunControl;
  private readonly reads: SessionReads;
  private readonly spawner: SessionSpawner;

  constructor(deps: {
    store: Store;
    log: EventLog;
    serial: KeyedSerial;
    lifecycle: SessionLifecycle;
    permissions: PermissionBroker;
    supervisor: RunControl;
    treeBudget: TreeBudgetLedger;
    defaults: SessionDefaults;
    workspace?: WorkspacePreparer;
  }) {
    this.store = deps.store;
    this.log = deps.log;
    this.serial = deps.serial;
    this.lifecycle = deps.lifecycle;
    this.permissions = deps.permissions;
    this.supervisor = deps.supervisor;
    this.reads = new SessionReads(deps.store, () => deps.supervisor.memoryWaits());
    this.spawner = new SessionSpawner({ ...deps, reads: this.reads });
  }

  async spawn(input: SessionConfigInput, options: SpawnOptions = {}): Promise<Session> {
    return (await this.spawnOnce(input, options)).session;
  }

  /** Spawns, or with an idempotency key seen before, returns what that first spawn created (`created: false`). */
  spawnOnce(
    input: SessionConfigInput,
    options: SpawnOptions = {},
  ): Promise<{ session: Session; created: boolean }> {
    return this.spawner.spawnOnce(input, options);
  }

  async send(idOrName: string, input: SendMessageInput): Promise<SendReceipt> {
    const session = await this.resolve(idOrName);
    return this.serial.run(session.id, async () => {
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
    return this.serial.run(session.id, async () => {
      const row = await this.requireRow(session.id);
      if (row.status === "killed") throw endedError(row);
      if (row.status !== "running" && row.status !== "waiting") {
        throw new BatonError(
          "SESSION_NOT_RUNNING",
          `session ${label(row)} is ${row.status}: there is no turn to interrupt`,
        );
      }
      await this.log.write(async ({ emit, tx }) => {
        await emit("session.interrupted", row.id, by ? { by } : {});
        // Kept with the event: in a cluster the owner catches up on a request whose nudge it never got.
        await markInterruptRequested(tx, row.id, new Date().toISOString(), WORKING);
      });
      await this.supervisor.interrupt(row.id);
      return this.getById(row.id);
    });
  }

  async kill(idOrName: string, by?: string): Promise<Session> {
    const session = await this.resolve(idOrName);
    return this.serial.run(session.id, async () => {
      const row = await this.requireRow(session.id);
      if (row.status === "killed") throw endedError(row);
      await this.lifecycle.endTurn(row.id, {
        to: "killed",
        from: NOT_KILLED,
        changes: { ended_at: new Date().toISOString() },
        events: [["session.killed", by ? { by } : {}]],
        also: async ({ tx }) => {
          await cancelPendingMessages(tx, row.id);
          await deleteSessionKeys(tx, row.id);
        },
      });
      await this.permissions.cancelAll(row.id);
      await this.supervisor.closeAnywhere(row.id, "force");
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
    const busy = isUnfinished(target.status);
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

  messageReceipt(idOrName: string, messageId: string): Promise<MessageReceipt> {
    return this.reads.messageReceipt(idOrName, messageId);
  }

  byKey(key: string): Promise<Session | undefined> {
    return this.reads.byKey(key);
  }

  get(idOrName: string): Promise<Session> {
    return this.reads.get(idOrName);
  }

  list(query: ListSessionsQuery): Promise<{ sessions: Session[]; nextCursor: string | null }> {
    return this.reads.list(query);
  }

  counts(): Promise<Record<string, number>> {
    return this.reads.counts();
  }

  /** Resolves an id or a name to its session row; 404 when neither matches. */
  resolve(idOrName: string): Promise<SessionRow> {
    return this.reads.resolve(idOrName);
  }

  private getById(id: string): Promise<Session> {
    return this.reads.getById(id);
  }

  private requireRow(id: string): Promise<SessionRow> {
    return this.reads.requireRow(id);
  }
}

function receipt(messageId: string, deliveredAt: string | null, duplicate: boolean): SendReceipt {
  return { messageId, ...(deliveredAt ? { deliveredAt } : {}), ...(duplicate ? { duplicate } : {}) };
}

function endedError(row: SessionRow): BatonError {
  return new BatonError("SESSION_ENDED", `session ${label(row)} was killed; it accepts no more messages`);
}
