import type { KeyedSerial } from "../core/serial.ts";
import type { EventLog } from "../events/event-log.ts";
import type { Store } from "../store/open-store.ts";
import { countPendingPermissions } from "../store/permission-queries.ts";
import type { SessionRow } from "../store/session-queries.ts";
import type { FailureReason, SessionStatus } from "./session-status.ts";
import { UNFINISHED, WORKING } from "./session-status.ts";
import { type EventSpec, type TransitionRequest, transitionSession } from "./session-writes.ts";
import { pickNumbers } from "./turn-helpers.ts";
import { queueWakeMessages } from "./wake.ts";

/** Something besides a pending permission request that keeps a session `waiting` (locks/ registers one). */
export type Blocker = (sessionId: string) => boolean;

/**
 * The port through which locks/ (above sessions/) moves a session into `waiting` and back without
 * reaching into the state machine; SessionLifecycle implements it.
 */
export interface SessionWaiting {
  addBlocker(blocker: Blocker): void;
  blockDetached(sessionId: string, events: readonly EventSpec[]): void;
  unblockDetached(sessionId: string): void;
}

/** What ends a turn, or the session: completed, failed or killed, with the same request shape. */
export interface TurnEndRequest extends TransitionRequest {
  to: "completed" | "failed" | "killed";
}

export interface FailOptions {
  changes?: Partial<SessionRow>;
  /**
   * The statuses the failure applies to. Process events (a turn outcome, an exit) pass `WORKING`: a warm
   * process of a session queued for its next turn may die or report without failing that session.
   */
  from?: readonly SessionStatus[];
  also?: TransitionRequest["also"];
}

/**
 * The rules that several parts apply to a session's status, written once: how a turn (or the session)
 * ends, and how a session enters and leaves `waiting`. The state table itself is session-status.ts; this
 * is the only code besides the scheduler that asks for a transition.
 *
 * Status work of one session runs in its `serial` queue; the `…Detached` variants are for callers that
 * must not wait for that queue (the lock service: the queue may be busy with the kill that frees a lock).
 */
export class SessionLifecycle implements SessionWaiting {
  private readonly blockers: Blocker[] = [];
  private readonly wokenListeners: Array<(recipients: readonly string[]) => void> = [];
  private readonly deps: {
    store: Store;
    log: EventLog;
    serial: KeyedSerial;
    onError(error: unknown, context: string): void;
  };

  constructor(deps: SessionLifecycle["deps"]) {
    this.deps = deps;
  }

  /** A part that can keep sessions waiting says how to ask it; `unblock` asks every one. */
  addBlocker(blocker: Blocker): void {
    this.blockers.push(blocker);
  }

  /** Who delivers the wake-up messages an ending turn queued (the run supervisor). */
  onWoken(listener: (recipients: readonly string[]) => void): void {
    this.wokenListeners.push(listener);
  }

  /**
   * Ends a turn or the session: the transition, its events, and the messages that wake whoever waits on
   * it (its parent, `wait` registrations) in one transaction; the woken are dispatched after the commit.
   * Resolves undefined when the session was not in `from` (a late callback after a kill, say).
   */
  async endTurn(sessionId: string, request: TurnEndRequest): Promise<SessionRow | undefined> {
    let woken: string[] = [];
    const row = await transitionSession(this.deps.log, sessionId, {
      ...request,
      also: async (context, updated) => {
        await request.also?.(context, updated);
        woken = await queueWakeMessages(context, updated);
      },
    });
    if (woken.length > 0) for (const listener of this.wokenListeners) listener(woken);
    return row;
  }

  /** Fails a queued or working session (or only a working one: see `FailOptions.from`). */
  fail(
    sessionId: string,
    reason: FailureReason,
    error: string,
    options: FailOptions = {},
  ): Promise<SessionRow | undefined> {
    const changes = options.changes ?? {};
    return this.endTurn(sessionId, {
      to: "failed",
      from: options.from ?? UNFINISHED,
      changes: { ...changes, error, failure_reason: reason, ended_at: new Date().toISOString() },
      events: [["session.failed", { error, reason, ...pickNumbers(changes) }]],
      ...(options.also ? { also: options.also } : {}),
    });
  }

  /** A working session now waits (on a human, a lock): `running|waiting -> waiting` with `events`. */
  block(
    sessionId: string,
    events: readonly EventSpec[],
    also?: TransitionRequest["also"],
  ): Promise<SessionRow | undefined> {
    return transitionSession(this.deps.log, sessionId, {
      to: "waiting",
      from: WORKING,
      events,
      ...(also ? { also } : {}),
    });
  }

  /** Back to running, unless something still blocks it. Call inside the session's serial queue. */
  async unblock(sessionId: string): Promise<void> {
    if (this.blockers.some((blocked) => blocked(sessionId))) return;
    if ((await countPendingPermissions(this.deps.store.db, sessionId)) > 0) return;
    await transitionSession(this.deps.log, sessionId, { to: "running", from: ["waiting"] });
  }

  blockDetached(sessionId: string, events: readonly EventSpec[]): void {
    this.deps.serial.detach(
      sessionId,
      () => this.block(sessionId, events),
      (error) => this.deps.onError(error, `waiting of ${sessionId}`),
    );
  }

  unblockDetached(sessionId: string): void {
    this.deps.serial.detach(
      sessionId,
      () => this.unblock(sessionId),
      (error) => this.deps.onError(error, `end of wait of ${sessionId}`),
    );
  }
}
