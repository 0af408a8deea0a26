import { deleteEventsThrough, selectEventTimesAfter, selectSeqBounds } from "../store/event-queries.ts";
import type { Store } from "../store/open-store.ts";
import type { Db } from "../store/schema.ts";

/** How much of the log is kept; 0 turns a cap off. Both caps may apply: an event goes when either says so. */
export interface RetentionPolicy {
  maxEvents: number;
  maxAgeMs: number;
}

/** Rows per DELETE, so a first prune of a big log never holds SQLite's single writer for long. */
const DELETE_BATCH = 5000;
const SCAN_PAGE = 1000;

/**
 * Deletes the oldest events beyond the caps and returns how many went. Only a prefix is ever cut (see
 * deleteEventsThrough): the age cap stops at the first event young enough to keep, even if a later one is
 * older (timestamps are taken before the seq, so concurrent writers can interleave them slightly).
 */
export async function pruneEvents(store: Store, policy: RetentionPolicy, now = Date.now()): Promise<number> {
  const { oldest, latest } = await selectSeqBounds(store.db);
  let through = oldest - 1;
  if (policy.maxEvents > 0) through = Math.max(through, latest - policy.maxEvents);
  if (policy.maxAgeMs > 0) {
    const cutoff = new Date(now - policy.maxAgeMs).toISOString();
    through = Math.max(through, await lastSeqBefore(store.db, cutoff, oldest - 1));
  }
  let deleted = 0;
  for (let cut = oldest - 1; cut < through; ) {
    cut = Math.min(cut + DELETE_BATCH, through);
    deleted += await deleteEventsThrough(store.db, cut);
  }
  return deleted;
}

/** The seq of the last event in the oldest run of events stamped before `cutoff`; `from` when there is none. */
async function lastSeqBefore(db: Db, cutoff: string, from: number): Promise<number> {
  let last = from;
  for (;;) {
    const rows = await selectEventTimesAfter(db, last, SCAN_PAGE);
    for (const row of rows) {
      if (row.ts >= cutoff) return last;
      last = row.seq;
    }
    if (rows.length < SCAN_PAGE) return last;
  }
}

export interface PrunerOptions {
  store: Store;
  policy: RetentionPolicy;
  /** Default: every minute, or a tenth of the age cap when that is shorter (at least once a second). */
  intervalMs?: number;
  onError: (error: unknown) => void;
}

/**
 * Runs pruneEvents at start and then periodically. `start` and `stop` are idempotent (a concurrent caller
 * shares the call in flight); `start` resolves after the first prune, `stop` after a prune in flight, so the
 * store can be closed right after it.
 */
export class RetentionPruner {
  private readonly options: PrunerOptions;
  private timer: NodeJS.Timeout | undefined;
  private started: Promise<void> | undefined;
  private running: Promise<number> | undefined;

  constructor(options: PrunerOptions) {
    this.options = options;
  }

  get enabled(): boolean {
    return this.options.policy.maxEvents > 0 || this.options.policy.maxAgeMs > 0;
  }

  start(): Promise<void> {
    this.started ??= this.enabled ? this.schedule() : Promise.resolve();
    return this.started;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.started = undefined;
    await this.running;
  }

  private async schedule(): Promise<void> {
    const { maxAgeMs } = this.options.policy;
    const intervalMs =
      this.options.intervalMs ?? (maxAgeMs > 0 ? Math.min(60_000, Math.max(1000, maxAgeMs / 10)) : 60_000);
    this.timer = setInterval(() => void this.runOnce(), intervalMs);
    this.timer.unref();
    await this.runOnce();
  }

  /** One prune now; a call while one is running shares it. Failures go to onError and count as 0. */
  runOnce(): Promise<number> {
    this.running ??= pruneEvents(this.options.store, this.options.policy)
      .catch((error: unknown) => {
        this.options.onError(error);
        return 0;
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }
}
