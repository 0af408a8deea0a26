import { randomUUID } from "node:crypto";
import { selectPendingMessages } from "../store/message-queries.ts";
import type { SessionRow } from "../store/session-queries.ts";
import { CredentialLimits, UNPARK_NOTE } from "./credential-limits.ts";
import { ExpirySweeps } from "./expiry-sweeps.ts";
import { clearTimers, type LiveRun } from "./live-run.ts";
import type { ModelLimit } from "./model-limit.ts";
import type { RunContext, RunStart, SupervisorDeps } from "./run-context.ts";
import { RunHealing } from "./run-healing.ts";
import { recoverSessions } from "./run-recovery.ts";
import { RunStarts } from "./run-starts.ts";
import { RunTimers } from "./run-timers.ts";
import type { RestartReason } from "./self-healing.ts";
import { configOf } from "./session-mapper.ts";
import type { Admission, SlotScheduler } from "./slot-scheduler.ts";
import { countChanges, TurnEnds, usageOf } from "./turn-end.ts";
import type { TurnCounts } from "./turn-outcome.ts";

export type { SupervisorDeps, SupervisorSettings } from "./run-context.ts";

/**
 * Owns every live agent process: starts runs when a slot is free, turns the runner's callbacks into state
 * transitions and events, delivers pending messages, and releases processes. The work is split by role:
 * starting and feeding runs (run-starts.ts, run-observer.ts), what a turn's end means (turn-outcome.ts,
 * turn-end.ts), timers (run-timers.ts, expiry-sweeps.ts), self-healing (run-healing.ts) and recovery after
 * a restart (run-recovery.ts). This class wires them and is the door the rest of Baton uses.
 *
 * All work on one session runs through `serial` (one task at a time per session); slot decisions run in
 * the SlotScheduler (one at a time). Lock order is always session first, then the scheduler.
 */
export class RunSupervisor implements RunContext {
  readonly store: SupervisorDeps["store"];
  readonly log: SupervisorDeps["log"];
  readonly runner: SupervisorDeps["runner"];
  readonly settings: SupervisorDeps["settings"];
  readonly serial: SupervisorDeps["serial"];
  readonly lifecycle: SupervisorDeps["lifecycle"];
  readonly runs: SupervisorDeps["runs"];
  readonly permissions: SupervisorDeps["permissions"];
  readonly scheduler: SupervisorDeps["scheduler"];
  readonly treeBudget: SupervisorDeps["treeBudget"];
  readonly prepareAgent: SupervisorDeps["prepareAgent"];
  readonly checkToolCall: SupervisorDeps["checkToolCall"];
  readonly onTurnSettled: SupervisorDeps["onTurnSettled"];
  readonly onError: SupervisorDeps["onError"];
  readonly tracer: SupervisorDeps["tracer"];
  readonly ownership: SupervisorDeps["ownership"];
  readonly limits: CredentialLimits;
  readonly throttle: SupervisorDeps["throttle"];
  readonly mailbox: SupervisorDeps["mailbox"];
  private readonly memory: SupervisorDeps["memoryWaits"];
  private stopRequested = false;
  /** Fire-and-forget work (queue drains) that stop() must wait for. */
  private readonly background = new Set<Promise<unknown>>();
  private readonly starts: RunStarts;
  private readonly timers: RunTimers;
  private readonly healing: RunHealing;
  private readonly sweeps: ExpirySweeps;

  constructor(deps: SupervisorDeps) {
    this.store = deps.store;
    this.log = deps.log;
    this.runner = deps.runner;
    this.settings = deps.settings;
    this.serial = deps.serial;
    this.lifecycle = deps.lifecycle;
    this.runs = deps.runs;
    this.permissions = deps.permissions;
    this.scheduler = deps.scheduler;
    this.treeBudget = deps.treeBudget;
    this.prepareAgent = deps.prepareAgent;
    this.checkToolCall = deps.checkToolCall;
    this.onTurnSettled = deps.onTurnSettled;
    this.onError = deps.onError;
    this.tracer = deps.tracer;
    this.ownership = deps.ownership;
    this.limits = new CredentialLimits({
      ...deps,
      credential: deps.credential ?? (() => "default"),
      resume: (id) => this.serial.run(id, () => this.resumeParked(id)),
      drainQueue: () => void this.drainQueue(),
    });
    this.throttle = deps.throttle;
    this.mailbox = deps.mailbox;
    this.memory = deps.memoryWaits;
    this.starts = new RunStarts(this, new TurnEnds(this));
    this.timers = new RunTimers(this);
    this.healing = new RunHealing(this);
    this.sweeps = new ExpirySweeps(this, (recipients) => this.wake(recipients));
    // Messages queued by an ending turn (to a parent, to waiters) are delivered by dispatching them.
    this.lifecycle.onWoken((recipients) => this.wake(recipients));
  }

  get stopping(): boolean {
    return this.stopRequested;
  }

  get liveCount(): number {
    return this.runs.size;
  }

  /** Queued sessions waiting for memory, and since when (waitingOn). */
  memoryWaits(): ReadonlyMap<string, string> {
    return this.memory?.() ?? new Map();
  }

  /** Memory pressure: closes the longest-idle completed session's process (LiveRuns.idlest); false if none. */
  async releaseIdle(graceMs: number): Promise<boolean> {
    const [sessionId, live] = this.runs.idlest(graceMs) ?? [];
    if (!sessionId || !live) return false;
    await this.serial.run(sessionId, async () => {
      if (this.runs.isCurrent(sessionId, live) && live.keepAliveTimer)
        await this.close(sessionId, "graceful");
    });
    return true;
  }

  isLive(sessionId: string): boolean {
    return this.runs.has(sessionId);
  }

  detach(sessionId: string, context: string, task: () => Promise<unknown>): void {
    this.serial.detach(sessionId, task, (error) => this.onError(error, `${context} for ${sessionId}`));
  }

  /** Delivers a session's pending messages as its status allows. Call inside `serial.run(sessionId)`. */
  dispatch(sessionId: string): Promise<void> {
    return this.starts.dispatch(sessionId);
  }

  /** Delivers wake-up messages to their recipients (each in its own serial queue, not awaited). */
  wake(recipients: readonly string[]): void {
    for (const id of recipients) this.detach(id, "waking", () => this.dispatch(id));
  }

  /** Starts queued sessions while slots are free, in queue order. */
  drainQueue(): Promise<void> {
    if (this.stopRequested) return Promise.resolve();
    const work = this.drainQueueNow();
    this.background.add(work);
    void work.finally(() => this.background.delete(work)).catch(() => undefined);
    return work;
  }

  private async drainQueueNow(): Promise<void> {
    for (const row of await this.scheduler.claimQueued())
      this.detach(row.id, "starting", () => this.startClaimed(row.id));
    await this.scheduler.renumber();
  }

  /** A new session: written by `insert`, and in the same transaction given a slot or queued. */
  admitNew(...args: Parameters<SlotScheduler["admitNew"]>): Promise<Admission> {
    return this.scheduler.admitNew(...args);
  }

  /** Starts a session that `admit` or `drainQueue` moved to running. Call inside `serial.run(sessionId)`. */
  startClaimed(sessionId: string): Promise<void> {
    return this.starts.startClaimed(sessionId);
  }

  startRun(row: SessionRow, start: RunStart): Promise<void> {
    return this.starts.startRun(row, start);
  }

  deliver(...args: Parameters<RunStarts["deliver"]>): Promise<void> {
    return this.starts.deliver(...args);
  }

  /** Cuts the session's turn short: its process here, or (in a cluster) on the node that runs it. */
  async interrupt(sessionId: string): Promise<boolean> {
    const live = this.runs.get(sessionId);
    if (!live?.run) return (await this.mailbox?.forward({ kind: "interrupt", sessionId })) ?? false;
    live.interruptRequested = true;
    await live.run.interrupt();
    return true;
  }

  /**
   * Ends a killed or cleared session's process wherever it runs: here, or (in a cluster) on the node that
   * owns it, which reads the row and closes its process. Call inside `serial.run(sessionId)`.
   */
  async closeAnywhere(sessionId: string, mode: "graceful" | "force"): Promise<void> {
    if (!this.runs.has(sessionId) && (await this.mailbox?.forward({ kind: "close", sessionId }))) return;
    await this.close(sessionId, mode);
  }

  /** Ends a session's process (if any). Call inside `serial.run(sessionId)`. */
  async close(sessionId: string, mode: "graceful" | "force"): Promise<void> {
    const live = this.runs.get(sessionId);
    if (!live) return;
    clearTimers(live);
    this.permissions.dropWaiters(sessionId);
    await live.run?.close(mode);
    this.runs.delete(sessionId);
    this.treeBudget.release(sessionId);
    await this.settled(sessionId);
  }

  async settled(sessionId: string): Promise<void> {
    await this.onTurnSettled?.(sessionId).catch((error) => this.onError(error, `settling ${sessionId}`));
  }

  heal(sessionId: string, reason: RestartReason, error: string, counts?: TurnCounts): Promise<boolean> {
    return this.healing.heal(sessionId, reason, error, counts);
  }

  healthy(sessionId: string): void {
    this.healing.healthy(sessionId);
  }

  armWatchdogs(sessionId: string, live: LiveRun, idleTimeoutMs: number): void {
    this.timers.armWatchdogs(sessionId, live, idleTimeoutMs);
  }

  armKeepAlive(sessionId: string, live: LiveRun): void {
    this.timers.armKeepAlive(sessionId, live);
  }

  /** After a restart: resume what was working, deliver accepted messages, start the queue. */
  async recover(): Promise<void> {
    // Limits first: the queue recovery drains must not start turns against a limited credential.
    await this.limits.start();
    await recoverSessions(this);
  }

  async park(sessionId: string, live: LiveRun, limit: ModelLimit, counts?: TurnCounts): Promise<boolean> {
    if (!this.runs.isCurrent(sessionId, live)) return false;
    const changes = counts ? countChanges(counts) : {};
    if (!(await this.limits.park(sessionId, limit, changes, counts && usageOf(counts)))) return false;
    clearTimers(live);
    await this.close(sessionId, "graceful");
    return true;
  }

  /** A parked session's limit is over: it continues its conversation. Call inside `serial.run(sessionId)`. */
  private async resumeParked(sessionId: string): Promise<void> {
    const row = await this.limits.unpark(sessionId);
    if (!row || this.runs.has(sessionId)) return;
    const pending = await selectPendingMessages(this.store.db, sessionId);
    const resume = row.agent_session_id !== null;
    const input = { id: randomUUID(), text: resume ? UNPARK_NOTE : configOf(row).prompt };
    await this.startRun(row, { resume, inputs: [input], pending, announce: { reason: "unparked" } });
  }

  /** Fails queued sessions past queueTimeoutMs and expires `wait` registrations (expiry-sweeps.ts). */
  startQueueSweeper(): void {
    this.sweeps.start();
  }

  /** Closes every process so that each session can be resumed by the next start; statuses stay as they are. */
  async stop(): Promise<void> {
    this.stopRequested = true;
    this.healing.stop();
    this.limits.stop();
    // Work started before the stop (a queue drain, a sweep) finishes before the store is closed under it.
    await this.sweeps.stop();
    await Promise.allSettled([...this.background]);
    await Promise.all(
      this.runs.sessionIds().map((id) => this.serial.run(id, () => this.close(id, "graceful"))),
    );
    // Callbacks of the closed processes (exit handling) still write; bounded so a stuck task cannot hold
    // shutdown past its deadline.
    await Promise.race([this.serial.drain(), new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
    await Promise.allSettled([...this.background]);
    await this.runner.stop?.();
  }
}
