import { isBatonError } from "../core/errors.ts";
import { newRequestId } from "../core/ids.ts";
import type { Logger } from "../core/logger.ts";
import type { BatonEvent } from "../events/catalogue.ts";
import type { EventLog } from "../events/event-log.ts";
import type { SessionConfig } from "../sessions/session-schema.ts";
import type { Store } from "../store/open-store.ts";
import {
  advanceNotifyCursor,
  insertDelivery,
  selectNotifyCursor,
  setNotifyCursor,
} from "../store/outbox-queries.ts";
import { type SessionRow, selectSessionById } from "../store/session-queries.ts";
import { DISPATCH_TOPICS, type PlanSession, type PlanSettings, planDeliveries } from "./delivery-plan.ts";
import { DELIVERY_STATUSES } from "./outbox-worker.ts";

export interface DispatcherDeps {
  store: Store;
  log: EventLog;
  logger: Logger;
  settings: PlanSettings;
  /** Called after deliveries were committed, to wake the worker. */
  onEnqueued: () => void;
}

const PAGE = 200;
const DISPATCH_SET: ReadonlySet<string> = new Set(DISPATCH_TOPICS);

/**
 * Turns session events into outbox deliveries. It reads the stored log from its own cursor rather than
 * trusting live events alone, so an event committed while Baton was down (or while this was busy) is
 * still notified; live events only wake it. Each event's deliveries, its `notification.bus` events and the
 * cursor move commit in one transaction, and (event_seq, endpoint) is unique: a crash anywhere replays at
 * most one event, and the replay inserts nothing twice.
 */
export class NotificationDispatcher {
  private readonly deps: DispatcherDeps;
  private stopped = true;
  private unsubscribe: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(deps: DispatcherDeps) {
    this.deps = deps;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.unsubscribe = this.deps.log.bus.subscribe((event) => {
      if (DISPATCH_SET.has(event.topic)) this.kick();
    });
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    while (this.running) await this.running;
  }

  /** Resolves once every event published so far has been turned into deliveries. */
  async settle(): Promise<void> {
    this.kick();
    while (this.running) await this.running;
  }

  private kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.catchUp();
        } while (this.again && !this.stopped);
      } catch (error) {
        this.deps.logger.error({ err: error }, "notify: dispatching failed; retrying in 1 s");
        this.retryTimer = setTimeout(() => this.kick(), 1000);
      } finally {
        this.running = undefined;
      }
    })();
  }

  private async catchUp(): Promise<void> {
    const { db } = this.deps.store;
    let cursor = await selectNotifyCursor(db);
    // Only events the bus has published: every seq up to it is committed, so the cursor never skips a gap
    // that a slower transaction is about to fill.
    const target = this.deps.log.bus.latestSeq;
    while (!this.stopped && cursor < target) {
      const page = await this.readPage(cursor);
      if (!page) {
        cursor = await selectNotifyCursor(db);
        continue;
      }
      for (const event of page.events) {
        if (event.seq > target || this.stopped) break;
        await this.dispatch(event);
      }
      if (this.stopped) return;
      cursor = page.nextAfter === cursor ? target : Math.min(page.nextAfter, target);
      await advanceNotifyCursor(db, cursor);
    }
  }

  /** A page of the log after `cursor`; undefined when retention had dropped it and the cursor was reset. */
  private async readPage(cursor: number): Promise<{ events: BatonEvent[]; nextAfter: number } | undefined> {
    try {
      return await this.deps.log.read({ after: cursor, limit: PAGE, topics: DISPATCH_TOPICS });
    } catch (error) {
      if (!isBatonError(error) || error.code !== "CURSOR_EXPIRED") throw error;
      const resetAfter = Number(error.details?.resetAfter ?? cursor);
      this.deps.logger.warn(
        { cursor, resetAfter },
        "notify: events were deleted by retention before they were notified; skipping them",
      );
      await setNotifyCursor(this.deps.store.db, resetAfter);
      return undefined;
    }
  }

  private async dispatch(event: BatonEvent): Promise<void> {
    if (!event.sessionId) return;
    const row = await selectSessionById(this.deps.store.db, event.sessionId);
    if (!row) return;
    const planned = planDeliveries(event, toPlanSession(row), this.deps.settings);
    if (planned.length === 0) return;
    let enqueued = false;
    await this.deps.log.write(async ({ tx, emit }) => {
      const now = new Date().toISOString();
      for (const delivery of planned) {
        if (delivery.channel === "bus") {
          await emit("notification.bus", undefined, delivery.data);
          continue;
        }
        const inserted = await insertDelivery(tx, {
          id: newRequestId("msg"),
          event_seq: event.seq,
          endpoint: delivery.endpoint,
          channel: delivery.channel,
          target: delivery.target,
          session_id: event.sessionId ?? null,
          topic: event.topic,
          payload: JSON.stringify(delivery.payload),
          status: DELIVERY_STATUSES.pending,
          attempts: 0,
          next_attempt_at: now,
          last_http_status: null,
          last_error: null,
          created_at: now,
          updated_at: now,
          delivered_at: null,
        });
        enqueued ||= inserted;
      }
      await advanceNotifyCursor(tx, event.seq);
    });
    if (enqueued) this.deps.onEnqueued();
  }
}

function toPlanSession(row: SessionRow): PlanSession {
  const config = JSON.parse(row.config) as Partial<SessionConfig>;
  return {
    id: row.id,
    name: row.name,
    owner: row.owner,
    runIdentifier: row.run_identifier,
    config: { notify: config.notify, webhooks: config.webhooks },
  };
}
