import { selectQueuedSince, selectSessionById } from "../store/session-queries.ts";
import { selectExpiredWaits } from "../store/wait-queries.ts";
import type { RunContext } from "./run-context.ts";
import { queueWaitExpiry } from "./wake.ts";

/**
 * Two deadlines kept by one timer: queued sessions past `queueTimeoutMs` fail, and `wait` registrations
 * past their deadline tell the waiter the target is still busy. Both read their deadline from the store,
 * so they survive restarts.
 */
export class ExpirySweeps {
  private readonly ctx: RunContext;
  private readonly wake: (recipients: readonly string[]) => void;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(ctx: RunContext, wake: (recipients: readonly string[]) => void) {
    this.ctx = ctx;
    this.wake = wake;
  }

  start(): void {
    if (this.timer) return;
    const period = Math.max(50, Math.min(1000, Math.floor(this.ctx.settings.queueTimeoutMs / 4)));
    this.timer = setInterval(() => {
      if (this.ctx.stopping || this.running) return;
      this.running = this.sweep()
        .catch((error) => this.ctx.onError(error, "expiry sweep"))
        .finally(() => {
          this.running = undefined;
        });
    }, period);
    this.timer.unref();
  }

  /** Stops the timer; resolves once a sweep under way has finished (before the store closes under it). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  private async sweep(): Promise<void> {
    await this.expireWaits();
    await this.expireQueued();
  }

  /** Queued longer than queueTimeoutMs. The queue entry time is the row's `updated_at`. */
  private async expireQueued(): Promise<void> {
    const timeoutMs = this.ctx.settings.queueTimeoutMs;
    const cutoff = new Date(Date.now() - timeoutMs).toISOString();
    const expired = await selectQueuedSince(this.ctx.store.db, cutoff);
    const why = `still queued after ${timeoutMs} ms (queueTimeoutMs)`;
    for (const id of expired)
      await this.ctx.serial.run(id, () => this.ctx.lifecycle.fail(id, "queue_timeout", why));
    if (expired.length > 0) await this.ctx.scheduler.renumber();
  }

  /** Waits whose time ran out: the waiter is told the target is still busy. */
  private async expireWaits(): Promise<void> {
    for (const wait of await selectExpiredWaits(this.ctx.store.db, new Date().toISOString())) {
      const target = await selectSessionById(this.ctx.store.db, wait.target_session_id);
      await this.ctx.log.write((context) => queueWaitExpiry(context, wait, target));
      this.wake([wait.waiter_session_id]);
    }
  }
}
