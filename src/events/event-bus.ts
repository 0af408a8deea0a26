import type { BatonEvent } from "./catalogue.ts";

export type EventListener = (event: BatonEvent) => void;

/** A run of seqs the bus had to read from the stored log because nobody published them here. */
export interface SeqGap {
  from: number;
  to: number;
  /** How many of them the log had (fewer when some were pruned meanwhile). */
  found: number;
}

export interface EventBusOptions {
  /** Reads the stored events with `after < seq <= upTo`, oldest first. */
  readStored?: (after: number, upTo: number) => Promise<BatonEvent[]>;
  /** Told about every gap filled from the log: it means another process wrote to this database. */
  onGap?: (gap: SeqGap) => void;
  /** How long a gap may stay open before the log is read (a commit reported out of order fills it sooner). */
  gapWaitMs?: number;
}

const DEFAULT_GAP_WAIT_MS = 50;

/**
 * In-process fan-out of committed events. Events are published strictly in seq order: if commits are
 * reported out of order (possible with several PostgreSQL connections), later ones wait in `pending` until
 * the gap is filled, so a live subscriber never sees seq N+1 before N. A gap nobody here will fill (events
 * another process wrote to the same database) is read from the stored log after `gapWaitMs`, so the feed
 * never stalls on a seq it did not write.
 */
export class EventBus {
  private readonly listeners = new Set<EventListener>();
  private readonly pending = new Map<number, BatonEvent>();
  private readonly options: EventBusOptions;
  private lastPublished: number;
  private catchUpTimer: NodeJS.Timeout | undefined;

  constructor(latestSeq: number, options: EventBusOptions = {}) {
    this.lastPublished = latestSeq;
    this.options = options;
  }

  get latestSeq(): number {
    return this.lastPublished;
  }

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  publish(events: readonly BatonEvent[]): void {
    for (const event of events) if (event.seq > this.lastPublished) this.pending.set(event.seq, event);
    this.drain();
    if (this.pending.size > 0) this.scheduleCatchUp();
  }

  private drain(): void {
    let next = this.pending.get(this.lastPublished + 1);
    while (next) {
      this.pending.delete(next.seq);
      this.lastPublished = next.seq;
      for (const listener of this.listeners) listener(next);
      next = this.pending.get(this.lastPublished + 1);
    }
  }

  private scheduleCatchUp(): void {
    if (this.catchUpTimer || !this.options.readStored) return;
    this.catchUpTimer = setTimeout(() => {
      void this.catchUp().finally(() => {
        this.catchUpTimer = undefined;
        if (this.pending.size > 0) this.scheduleCatchUp();
      });
    }, this.options.gapWaitMs ?? DEFAULT_GAP_WAIT_MS);
    this.catchUpTimer.unref();
  }

  private async catchUp(): Promise<void> {
    if (this.pending.size === 0 || !this.options.readStored) return;
    const from = this.lastPublished + 1;
    const to = Math.min(...this.pending.keys()) - 1;
    let stored: BatonEvent[];
    try {
      stored = await this.options.readStored(this.lastPublished, to);
    } catch {
      return; // The store is closing; the next publish tries again.
    }
    this.options.onGap?.({ from, to, found: stored.length });
    for (const event of stored) if (event.seq > this.lastPublished) this.pending.set(event.seq, event);
    this.drain();
    // Every event committed before the one waiting is in the log now: a seq up to `to` that it does not have
    // (pruned meanwhile) will never come, so step over it rather than wait forever.
    while (this.lastPublished < to && !this.pending.has(this.lastPublished + 1)) {
      this.lastPublished = Math.min(to, Math.min(...this.pending.keys()) - 1);
      this.drain();
    }
  }
}
