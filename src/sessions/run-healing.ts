import { randomUUID } from "node:crypto";
import { selectPendingMessages } from "../store/message-queries.ts";
import { selectSessionById } from "../store/session-queries.ts";
import type { RunContext } from "./run-context.ts";
import { type RestartReason, restartDelayMs, restartNote } from "./self-healing.ts";
import { configOf } from "./session-mapper.ts";
import { WORKING } from "./session-status.ts";
import { countChanges, recordTurnCounts, usageOf } from "./turn-end.ts";
import type { TurnCounts } from "./turn-outcome.ts";

/**
 * Self-healing (self-healing.ts has the policy): a sick process is stopped and resumed in the same
 * conversation after a backoff; past `maxRestarts` restarts in a row the session fails `unhealthy`.
 */
export class RunHealing {
  private readonly ctx: RunContext;
  /** Restarts in a row per session; a successful turn clears the count. */
  private readonly restarts = new Map<string, number>();
  /** Restarts waiting out their backoff; stop() cancels them (the next start recovers those sessions). */
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(ctx: RunContext) {
    this.ctx = ctx;
  }

  healthy(sessionId: string): void {
    this.restarts.delete(sessionId);
  }

  stop(): void {
    for (const timer of this.timers) clearTimeout(timer);
  }

  /**
   * Restarts the session's process after a backoff, or fails it `unhealthy`. Resolves false when healing
   * is off for it (maxRestarts 0): the caller goes on as before. Call inside `serial.run(sessionId)`.
   */
  async heal(sessionId: string, reason: RestartReason, error: string, counts?: TurnCounts): Promise<boolean> {
    const row = await selectSessionById(this.ctx.store.db, sessionId);
    if (!row || !WORKING.includes(row.status)) return true;
    const maxRestarts = configOf(row).maxRestarts ?? this.ctx.settings.maxRestarts;
    if (maxRestarts === 0) return false;
    const attempt = (this.restarts.get(sessionId) ?? 0) + 1;
    if (attempt > maxRestarts) {
      this.restarts.delete(sessionId);
      const why = `unhealthy: restarted ${maxRestarts} time(s) (maxRestarts) and it is still sick (${reason}): ${error}`;
      const withCounts = counts ? { changes: countChanges(counts), also: usageOf(counts) } : {};
      if (await this.ctx.lifecycle.fail(sessionId, "unhealthy", why, { from: WORKING, ...withCounts }))
        await this.ctx.close(sessionId, "force");
      void this.ctx.drainQueue();
      return true;
    }
    this.restarts.set(sessionId, attempt);
    const delayMs = restartDelayMs(this.ctx.settings, attempt);
    await recordTurnCounts(this.ctx, sessionId, counts, [
      ["session.restarted", { reason, attempt, maxRestarts, delayMs, error }],
    ]);
    // The slot stays held (status running) while the backoff runs; a Baton stop meanwhile leaves the
    // session running, and the next start recovers it.
    await this.ctx.close(sessionId, "force");
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.ctx.detach(sessionId, "restarting", () => this.startRestarted(sessionId, reason));
    }, delayMs);
    this.timers.add(timer);
    return true;
  }

  private async startRestarted(sessionId: string, reason: RestartReason): Promise<void> {
    const row = await selectSessionById(this.ctx.store.db, sessionId);
    if (this.ctx.stopping || row?.status !== "running" || this.ctx.runs.has(sessionId)) return;
    const pending = await selectPendingMessages(this.ctx.store.db, sessionId);
    const resume = row.agent_session_id !== null;
    const first = resume ? restartNote(reason) : configOf(row).prompt;
    await this.ctx.startRun(row, {
      resume,
      inputs: [{ id: randomUUID(), text: first }],
      pending,
      announce: { reason: "restarted" },
    });
  }
}
