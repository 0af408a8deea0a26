import type { Logger } from "../core/logger.ts";
import type { Store } from "../store/open-store.ts";
import {
  claimDelivery,
  type DeliveryRow,
  insertAttempt,
  insertDisabledEndpoint,
  selectDisabledEndpoint,
  selectDueDeliveries,
  selectNextDueAt,
  updateDelivery,
} from "../store/outbox-queries.ts";
import type { Channel, DeliveryChannel, SendOutcome } from "./channel.ts";
import { backoffDelay, type RetrySettings } from "./retry-policy.ts";

/**
 * Delivery states. Legal moves, all made by the worker:
 *   pending → pending    an attempt failed in a retryable way; `next_attempt_at` moves by the backoff
 *   pending → delivered  the receiver accepted it (2xx)
 *   pending → failed     rejected (4xx, redirect), 410 Gone (which also disables the URL), attempts used up,
 *                        or no such channel configured
 *   pending → refused    Baton would not send it (SSRF guard, Telegram chat not configured)
 *   pending → skipped    its URL was disabled by an earlier 410
 */
export const DELIVERY_STATUSES = Object.freeze({
  pending: "pending",
  delivered: "delivered",
  failed: "failed",
  refused: "refused",
  skipped: "skipped",
} as const);

export interface OutboxWorkerDeps {
  store: Store;
  channels: Partial<Record<DeliveryChannel, Channel>>;
  retry: RetrySettings;
  timeoutMs: number;
  logger: Logger;
}

const BATCH = 20;
/** A claim outlives the attempt's time limit by this much; only a crash mid-send ever waits it out. */
const LEASE_MARGIN_MS = 30_000;
/** Re-check the table at least this often, whatever the schedule says (clock jumps, manual edits). */
const MAX_SLEEP_MS = 60_000;
const HTTP_CHANNELS: ReadonlySet<string> = new Set(["webhook", "callback"]);

/**
 * Sends what the dispatcher put in the outbox: claims due deliveries, sends them through their channel,
 * records every attempt and schedules retries. Deliveries are at least once: a delivery is marked done only
 * after the receiver answered, so a crash in between sends it again, with the same id.
 */
export class OutboxWorker {
  private readonly deps: OutboxWorkerDeps;
  private stopped = true;
  private stopping: Promise<void> | undefined;
  private abort = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = 0;
  private cycle: Promise<void> | undefined;
  private rerun = false;

  constructor(deps: OutboxWorkerDeps) {
    this.deps = deps;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.stopping = undefined;
    this.abort = new AbortController();
    this.wake(0);
  }

  /** New deliveries are waiting: look now rather than at the next scheduled wake-up. */
  poke(): void {
    this.wake(0);
  }

  /** Aborts attempts in flight (they stay pending, due at once) and waits for the bookkeeping to finish. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.stopped = true;
      clearTimeout(this.timer);
      this.timer = undefined;
      this.abort.abort();
      await this.cycle;
    })();
    return this.stopping;
  }

  private wake(delayMs: number): void {
    if (this.stopped) return;
    if (this.cycle) {
      if (delayMs === 0) this.rerun = true;
      return;
    }
    const at = Date.now() + delayMs;
    if (this.timer !== undefined && this.timerAt <= at) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.runCycles();
      },
      Math.min(delayMs, MAX_SLEEP_MS),
    );
  }

  private runCycles(): void {
    if (this.cycle || this.stopped) return;
    this.cycle = (async () => {
      let nextDue: number | undefined;
      try {
        do {
          this.rerun = false;
          if (await this.processDue()) this.rerun = true;
        } while (this.rerun && !this.stopped);
        if (!this.stopped) nextDue = await this.nextDueMs();
      } catch (error) {
        this.deps.logger.error({ err: error }, "outbox: cycle failed; retrying in 1 s");
        nextDue = Date.now() + 1000;
      } finally {
        this.cycle = undefined;
      }
      if (this.rerun) nextDue = Date.now();
      if (nextDue !== undefined) this.wake(Math.max(0, nextDue - Date.now()));
    })();
  }

  /** One batch; true when the batch was full (there may be more due). */
  private async processDue(): Promise<boolean> {
    const now = Date.now();
    const { db } = this.deps.store;
    const rows = await selectDueDeliveries(db, new Date(now).toISOString(), BATCH);
    const leaseUntil = new Date(now + this.deps.timeoutMs + LEASE_MARGIN_MS).toISOString();
    const claimed: DeliveryRow[] = [];
    for (const row of rows) {
      if (this.stopped) break;
      if (await claimDelivery(db, row, leaseUntil)) claimed.push(row);
    }
    await Promise.all(claimed.map((row) => this.attempt(row)));
    return rows.length === BATCH;
  }

  private async nextDueMs(): Promise<number | undefined> {
    const next = await selectNextDueAt(this.deps.store.db);
    return next === undefined ? undefined : Date.parse(next);
  }

  private async attempt(row: DeliveryRow): Promise<void> {
    const attempt = row.attempts + 1;
    const startedAt = Date.now();
    const outcome = await this.send(row, attempt);
    if (outcome.kind !== "delivered" && this.abort.signal.aborted) {
      // Cut short by shutdown: not the receiver's fault, so it does not count, and it is due on restart.
      await updateDelivery(this.deps.store.db, row.id, {
        attempts: row.attempts,
        next_attempt_at: new Date().toISOString(),
      });
      return;
    }
    await this.record(row, attempt, startedAt, outcome);
  }

  private async send(
    row: DeliveryRow,
    attempt: number,
  ): Promise<SendOutcome | { kind: "skipped"; error: string }> {
    const channel = this.deps.channels[row.channel as DeliveryChannel];
    if (!channel) return { kind: "rejected", error: `channel ${row.channel} is not configured` };
    if (HTTP_CHANNELS.has(row.channel)) {
      const disabled = await selectDisabledEndpoint(this.deps.store.db, row.target);
      if (disabled)
        return { kind: "skipped", error: `endpoint disabled at ${disabled.disabled_at}: ${disabled.reason}` };
    }
    try {
      return await channel.send(
        {
          id: row.id,
          channel: row.channel as DeliveryChannel,
          target: row.target,
          sessionId: row.session_id,
          payload: JSON.parse(row.payload) as unknown,
          attempt,
        },
        this.abort.signal,
      );
    } catch (error) {
      return { kind: "retry", error: error instanceof Error ? error.message : String(error) };
    }
  }

  private async record(
    row: DeliveryRow,
    attempt: number,
    startedAt: number,
    outcome: SendOutcome | { kind: "skipped"; error: string },
  ): Promise<void> {
    const now = Date.now();
    const httpStatus = "httpStatus" in outcome ? (outcome.httpStatus ?? null) : null;
    const changes = this.nextState(outcome, attempt, now);
    let error = "error" in outcome ? outcome.error : null;
    if (outcome.kind === "retry" && changes.status === DELIVERY_STATUSES.failed) {
      error = `${error} (gave up after ${attempt} attempts)`;
    }
    await this.deps.store.transaction(async (tx) => {
      await insertAttempt(tx, {
        delivery_id: row.id,
        attempt,
        started_at: new Date(startedAt).toISOString(),
        duration_ms: now - startedAt,
        outcome: outcome.kind,
        http_status: httpStatus,
        error,
      });
      if (outcome.kind === "gone")
        await insertDisabledEndpoint(tx, outcome.url, `HTTP 410 Gone (delivery ${row.id})`);
      await updateDelivery(tx, row.id, { ...changes, last_http_status: httpStatus, last_error: error });
    });
    const context = { deliveryId: row.id, channel: row.channel, target: row.target, attempt, error };
    if (changes.status === DELIVERY_STATUSES.pending)
      this.deps.logger.debug(context, "outbox: attempt failed, will retry");
    else if (changes.status !== DELIVERY_STATUSES.delivered)
      this.deps.logger.warn(context, `outbox: delivery ${changes.status}`);
  }

  private nextState(
    outcome: SendOutcome | { kind: "skipped" },
    attempt: number,
    now: number,
  ): Pick<DeliveryRow, "status" | "next_attempt_at"> & Partial<DeliveryRow> {
    const at = (ms: number) => new Date(ms).toISOString();
    switch (outcome.kind) {
      case "delivered":
        return { status: DELIVERY_STATUSES.delivered, next_attempt_at: at(now), delivered_at: at(now) };
      case "refused":
        return { status: DELIVERY_STATUSES.refused, next_attempt_at: at(now) };
      case "skipped":
        return { status: DELIVERY_STATUSES.skipped, next_attempt_at: at(now) };
      case "gone":
      case "rejected":
        return { status: DELIVERY_STATUSES.failed, next_attempt_at: at(now) };
      case "retry": {
        if (attempt >= this.deps.retry.maxAttempts)
          return { status: DELIVERY_STATUSES.failed, next_attempt_at: at(now) };
        const delay =
          outcome.retryAfterMs !== undefined
            ? Math.min(outcome.retryAfterMs, this.deps.retry.maxDelayMs)
            : backoffDelay(attempt, this.deps.retry);
        return { status: DELIVERY_STATUSES.pending, next_attempt_at: at(now + delay) };
      }
    }
  }
}
