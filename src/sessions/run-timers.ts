import { selectSessionById } from "../store/session-queries.ts";
import { type LiveRun, watchIdle, watchStall } from "./live-run.ts";
import type { RunContext } from "./run-context.ts";
import { recordSessionEvents } from "./session-writes.ts";

/**
 * The timers that watch a live run: the idle watchdog (idleAction), the stall watchdog (self-healing),
 * and the keep-alive that releases a warm process some time after its turn completed.
 */
export class RunTimers {
  private readonly ctx: RunContext;

  constructor(ctx: RunContext) {
    this.ctx = ctx;
  }

  armWatchdogs(sessionId: string, live: LiveRun, idleTimeoutMs: number): void {
    this.armStall(sessionId, live);
    watchIdle(live, idleTimeoutMs, {
      isCurrent: () => this.ctx.runs.isCurrent(sessionId, live),
      onIdle: (quietFor) => this.ctx.detach(sessionId, "idle", () => this.onIdle(sessionId, live, quietFor)),
    });
  }

  armKeepAlive(sessionId: string, live: LiveRun): void {
    live.keepAliveTimer = setTimeout(() => {
      this.ctx.detach(sessionId, "keep-alive release", async () => {
        const session = await selectSessionById(this.ctx.store.db, sessionId);
        if (this.ctx.runs.isCurrent(sessionId, live) && session?.status === "completed")
          await this.ctx.close(sessionId, "graceful");
      });
    }, this.ctx.settings.keepAliveMs);
    live.keepAliveTimer.unref();
  }

  private armStall(sessionId: string, live: LiveRun): void {
    watchStall(live, this.ctx.settings.stallTimeoutMs, {
      isCurrent: () => this.ctx.runs.isCurrent(sessionId, live),
      onStall: (quietFor) =>
        this.ctx.detach(sessionId, "stall", () => this.onStall(sessionId, live, quietFor)),
    });
  }

  private async onStall(sessionId: string, live: LiveRun, quietFor: number): Promise<void> {
    if (!this.ctx.runs.isCurrent(sessionId, live)) return;
    const session = await selectSessionById(this.ctx.store.db, sessionId);
    // Waiting on a human or a lock is not a stall: watch again from now.
    if (session?.status === "waiting") {
      live.lastActivity = Date.now();
      this.armStall(sessionId, live);
      return;
    }
    if (session?.status !== "running") return;
    // With healing off (maxRestarts 0) a stall is left to the idle watchdog and idleAction.
    await this.ctx.heal(sessionId, "stalled", `no sign of life for ${quietFor} ms during a model request`);
  }

  private async onIdle(sessionId: string, live: LiveRun, idleMs: number): Promise<void> {
    if (!this.ctx.runs.isCurrent(sessionId, live)) return;
    const session = await selectSessionById(this.ctx.store.db, sessionId);
    if (session?.status !== "running") return;
    await recordSessionEvents(this.ctx.log, sessionId, [["session.idle", { idleMs }]]);
    const action = this.ctx.settings.idleAction;
    if (action === "interrupt" && live.run) {
      live.interruptRequested = true;
      await live.run.interrupt();
    }
    if (action === "fail") {
      await this.ctx.lifecycle.fail(sessionId, "idle", `no activity for ${idleMs} ms`);
      await this.ctx.close(sessionId, "force");
    }
  }
}
