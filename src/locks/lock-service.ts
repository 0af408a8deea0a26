import { BatonError, describeError } from "../core/errors.ts";
import { Mutex } from "../core/serial.ts";
import type { ToolCallCheck } from "../sessions/runner-port.ts";
import type { SessionWaiting } from "../sessions/session-lifecycle.ts";
import { configOf } from "../sessions/session-mapper.ts";
import { isWorking } from "../sessions/session-status.ts";
import { withClusterMutex } from "../store/cluster-mutex-queries.ts";
import { type HeldLockRow, selectHeldLocks } from "../store/lock-queries.ts";
import { selectSessionById } from "../store/session-queries.ts";
import { heldBy, timeoutMessage } from "./lock-messages.ts";
import {
  type AcquireRequest,
  blockerOf,
  type Outcome,
  releaseReason,
  toLock,
  toLockWaiter,
  type Waiter,
} from "./lock-requests.ts";
import { resolveResource, resourceOfToolCall } from "./lock-resource.ts";
import type { Lock, LockList, LockRequest } from "./lock-schema.ts";
import {
  denyCycle,
  grantLock,
  type LockStore,
  recordDenial,
  releaseLocks,
  selectLiveLocks,
} from "./lock-writes.ts";
import { withRemoteWaiters } from "./remote-waiters.ts";
import { cycleThrough } from "./wait-for-graph.ts";

export interface LockServiceDeps extends LockStore {
  /** How a session waiting for a lock is moved to `waiting` and back (the port sessions/ offers). */
  sessions: SessionWaiting;
  /** How long a tool call waits for a lock before it is denied (setting lockTimeoutMs). */
  timeoutMs: number;
  /** This node's id in a cluster: other nodes' waiters are read from the store (remote-waiters.ts). */
  node?: string | undefined;
  onError(error: unknown, context: string): void;
}

/**
 * Workspace locks. A session's file edits take `file:` locks automatically (the PreToolUse hook); callers
 * take `workdir:` (or `file:`) locks on request. Every lock a session holds is released when its turn
 * settles: the turn ended, the session was killed, or its process died. A session that wants what another
 * holds waits (status `waiting`) until the holder lets go, up to `lockTimeoutMs`; a wait that would close a
 * cycle in the wait-for graph is denied at once.
 *
 * Lock state (rows and waiters) changes only under `mutex`. The mutex never waits for a session's serial
 * queue (status changes are queued there, not awaited), while the supervisor calls `releaseSession` from
 * inside that queue: waiting in the other order could deadlock a kill against a grant.
 */
export class LockService {
  private readonly deps: LockServiceDeps;
  private readonly mutex = new Mutex();
  private readonly waiters: Waiter[] = [];
  private stopping = false;

  constructor(deps: LockServiceDeps) {
    this.deps = deps;
    // A session waiting for a lock stays `waiting` whoever else would unblock it (an answered permission).
    deps.sessions.addBlocker((sessionId) => this.waiters.some((waiter) => waiter.sessionId === sessionId));
    deps.mailbox?.onLocksReleased(() => this.retryAfterReleaseElsewhere());
  }

  /** Another node released locks (or its heartbeat checks): waiters here may now be granted. */
  private retryAfterReleaseElsewhere(): void {
    if (this.stopping || this.waiters.length === 0) return;
    this.exclusive(() => this.retryWaiters()).catch((error: unknown) =>
      this.deps.onError(error, "lock waits after a release on another node"),
    );
  }

  /**
   * Lock state changes one decision at a time: in this process (the mutex) and, on PostgreSQL, across the
   * nodes of a cluster (a database mutex), so two nodes never grant conflicting locks from one snapshot.
   */
  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    return this.mutex.run(() => withClusterMutex(this.deps.store, "baton:locks", task));
  }

  /** Drops locks left by sessions that are no longer working (after a restart). */
  async start(): Promise<void> {
    this.stopping = false;
    await this.exclusive(() => selectLiveLocks(this.deps));
  }

  /**
   * Shutdown: waiting calls are abandoned (their processes are closing) and locks are kept, so sessions
   * resumed by the next start still hold what they held.
   */
  stop(): void {
    this.stopping = true;
    for (const waiter of this.waiters.splice(0)) {
      if (waiter.timer) clearTimeout(waiter.timer);
      waiter.settle({ granted: false, why: "cancelled", message: "Baton is shutting down" });
    }
  }

  /**
   * The PreToolUse check: a file edit first takes the file's lock, waiting for it if needed. Fails closed:
   * an edit whose lock could not be checked is denied, never run unguarded.
   */
  async checkToolCall(sessionId: string, call: ToolCallCheck): Promise<{ deny: string } | undefined> {
    if (!["Write", "Edit", "MultiEdit", "NotebookEdit"].includes(call.toolName)) return undefined;
    try {
      return await this.lockForEdit(sessionId, call);
    } catch (error) {
      this.deps.onError(error, `lock check for ${sessionId}`);
      return { deny: `Baton could not check the workspace lock for this edit: ${describeError(error)}` };
    }
  }

  private async lockForEdit(sessionId: string, call: ToolCallCheck): Promise<{ deny: string } | undefined> {
    const row = await selectSessionById(this.deps.store.db, sessionId);
    if (!row) return undefined;
    const resource = resourceOfToolCall(call.toolName, call.input, configOf(row).workDir);
    if (!resource) return undefined;
    const outcome = await this.acquire({
      sessionId,
      resource,
      kind: "auto",
      reason: call.toolName,
      timeoutMs: this.deps.timeoutMs,
      signal: call.signal,
    });
    return outcome.granted ? undefined : { deny: outcome.message };
  }

  /** An explicit lock (default: the session's workDir). Held until unlock or the end of the turn. */
  async lock(sessionId: string, request: LockRequest): Promise<Lock> {
    const row = await selectSessionById(this.deps.store.db, sessionId);
    if (!row) throw new BatonError("SESSION_NOT_FOUND", `no session with id "${sessionId}"`);
    if (!isWorking(row.status)) {
      throw new BatonError(
        "SESSION_NOT_RUNNING",
        `session ${sessionId} is ${row.status}: locks last for a turn, so only a running session can take one`,
      );
    }
    const resource = await resolveResource(request.resource, configOf(row).workDir);
    const outcome = await this.acquire({
      sessionId,
      resource,
      kind: "explicit",
      reason: request.reason,
      timeoutMs: request.waitMs ?? 0,
    });
    if (!outcome.granted) {
      const code =
        outcome.why === "cycle"
          ? "LOCK_CYCLE"
          : outcome.why === "cancelled"
            ? "SESSION_NOT_RUNNING"
            : "LOCK_HELD";
      throw new BatonError(code, outcome.message, { resource });
    }
    const held = (await this.list()).locks.find((lock) => lock.resource === resource);
    if (!held) throw new BatonError("INTERNAL", `lock on ${resource} vanished right after it was granted`);
    return held;
  }

  /** Releases one resource, or everything the session holds when none is named. */
  async unlock(sessionId: string, resource: string | undefined): Promise<Lock[]> {
    const row = await selectSessionById(this.deps.store.db, sessionId);
    const target = resource && row ? await resolveResource(resource, configOf(row).workDir) : undefined;
    return this.exclusive(async () => {
      const mine = (await selectHeldLocks(this.deps.store.db)).filter(
        (lock) => lock.session_id === sessionId && (!target || lock.resource === target),
      );
      await releaseLocks(this.deps, mine, "unlock");
      await this.retryWaiters();
      return mine.map(toLock);
    });
  }

  /** The turn settled (ended, killed, process gone): the session's locks and waits end with it. */
  async releaseSession(sessionId: string): Promise<void> {
    if (this.stopping) return;
    await this.exclusive(async () => {
      for (const waiter of this.waiters.filter((candidate) => candidate.sessionId === sessionId)) {
        this.finish(waiter, {
          granted: false,
          why: "cancelled",
          message: "the session's turn ended while it waited for a lock",
        });
      }
      const why = releaseReason((await selectSessionById(this.deps.store.db, sessionId))?.status);
      const mine = (await selectHeldLocks(this.deps.store.db)).filter(
        (lock) => lock.session_id === sessionId,
      );
      await releaseLocks(this.deps, mine, why);
      await this.retryWaiters();
    });
  }

  async list(filter: { sessionId?: string | undefined } = {}): Promise<LockList> {
    const rows = (await selectHeldLocks(this.deps.store.db)).filter((row) =>
      isWorking(row.holder_status ?? ""),
    );
    const wanted = (id: string) => !filter.sessionId || id === filter.sessionId;
    // In a cluster, other nodes' waiters too (read from the store: remote-waiters.ts).
    const waiters = await withRemoteWaiters(this.deps, this.waiters.map(toLockWaiter));
    return {
      locks: rows.filter((row) => wanted(row.session_id)).map(toLock),
      waiters: waiters.filter((waiter) => wanted(waiter.sessionId) || wanted(waiter.holder)),
    };
  }

  private async acquire(request: AcquireRequest): Promise<Outcome> {
    if (request.signal?.aborted)
      return { granted: false, why: "cancelled", message: "the turn was interrupted" };
    const decided = await this.exclusive(
      async (): Promise<{ outcome: Outcome } | { wait: Promise<Outcome> }> => {
        const locks = await selectLiveLocks(this.deps);
        const blocker = blockerOf(request, locks);
        if (!blocker) {
          await grantLock(this.deps, request, locks, undefined);
          return { outcome: { granted: true } };
        }
        const cycle = cycleThrough(this.waiters, request, blocker);
        if (cycle) return { outcome: await denyCycle(this.deps, request, blocker, cycle) };
        if (request.timeoutMs <= 0)
          return { outcome: { granted: false, why: "held", message: heldBy(request.resource, blocker) } };
        return { wait: this.enqueue(request, blocker) };
      },
    );
    return "outcome" in decided ? decided.outcome : decided.wait;
  }

  /** Registers a waiter; its promise settles when the lock is granted, times out, or the wait is cancelled. */
  private enqueue(request: AcquireRequest, holder: HeldLockRow): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      const waiter: Waiter = { ...request, since: new Date(), holder, timer: undefined, settle: resolve };
      this.waiters.push(waiter);
      waiter.timer = setTimeout(() => {
        void this.exclusive(async () => {
          if (!this.waiters.includes(waiter)) return;
          const message = timeoutMessage(waiter.resource, waiter.holder, waiter.timeoutMs);
          await recordDenial(this.deps, waiter, waiter.holder, "timeout", message);
          this.finish(waiter, { granted: false, why: "timeout", message });
        }).catch((error) => this.deps.onError(error, `lock timeout of ${waiter.sessionId}`));
      }, request.timeoutMs);
      waiter.timer.unref();
      request.signal?.addEventListener(
        "abort",
        () =>
          void this.exclusive(async () => {
            if (this.waiters.includes(waiter))
              this.finish(waiter, {
                granted: false,
                why: "cancelled",
                message: "the turn was interrupted",
              });
          }).catch((error) => this.deps.onError(error, `lock wait of ${waiter.sessionId}`)),
        { once: true },
      );
      const announcement = {
        resource: waiter.resource,
        kind: waiter.kind,
        holder: holder.session_id,
        ...(holder.holder_name ? { holderName: holder.holder_name } : {}),
        ...(holder.reason ? { reason: holder.reason } : {}),
        timeoutMs: waiter.timeoutMs,
      };
      this.deps.sessions.blockDetached(waiter.sessionId, [["session.lock_waiting", announcement]]);
    });
  }

  /** Grants what can be granted after a release, in arrival order; re-checks cycles when a holder changed. */
  private async retryWaiters(): Promise<void> {
    let locks = await selectLiveLocks(this.deps);
    for (const waiter of [...this.waiters]) {
      const blocker = blockerOf(waiter, locks);
      if (!blocker) {
        const row = await grantLock(this.deps, waiter, locks, waiter.since);
        if (row) locks = [...locks, row];
        this.finish(waiter, { granted: true });
        continue;
      }
      const changed = blocker.session_id !== waiter.holder.session_id;
      waiter.holder = blocker;
      if (!changed) continue;
      const cycle = cycleThrough(this.waiters, waiter, blocker, waiter);
      if (cycle) this.finish(waiter, await denyCycle(this.deps, waiter, blocker, cycle));
    }
  }

  /**
   * Takes a waiter out, answers its call, and moves its session back to running once nothing else blocks
   * it (a no-op for a session that meanwhile ended: the transition is only from `waiting`).
   */
  private finish(waiter: Waiter, outcome: Outcome): void {
    const index = this.waiters.indexOf(waiter);
    if (index >= 0) this.waiters.splice(index, 1);
    if (waiter.timer) clearTimeout(waiter.timer);
    this.deps.sessions.unblockDetached(waiter.sessionId);
    waiter.settle(outcome);
  }
}
