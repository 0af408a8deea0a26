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
const ANNOUNCE_WAIT_MS = 2;

/**
 * In-process fan-out of committed events. Events are published strictly in seq order: if commits are
 * reported out of order (possible with several PostgreSQL connections), later ones wait in `pending` until
 * the gap is filled, so a live subscriber never sees seq N+1 before N. A gap nobody here will fill (events
 * another process wrote to the same database) is read from the stored log after `gapWaitMs`, so the feed
 * never stalls on a seq it did not write. In a cluster (src/cluster) other nodes' commits are announced
 * (`announce`) and read from the log the same way, at once.
 */
export class EventBus {
  private readonly listeners = new Set<EventListener>();
  private readonly pending = new Map<number, BatonEvent>();
  private readonly options: EventBusOptions;
  private lastPublished: number;
  /** The newest seq another process is known to have committed (announced). */
  private announcedUpTo = 0;
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

  /**
   * Another process committed events up to `seq` (a PostgreSQL notification, or a check of the log's newest
   * seq): read the ones this process has not published from the log, in order. Reading from the log rather
   * than trusting the message is what makes a lost or late notification harmless.
   */
  announce(seq: number): void {
    if (seq <= this.lastPublished) return;
    this.announcedUpTo = Math.max(this.announcedUpTo, seq);
    // Not at once: this process's own commit may be announced before its publish runs (then nothing to read).
    this.scheduleCatchUp(ANNOUNCE_WAIT_MS);
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

  private scheduleCatchUp(waitMs = this.options.gapWaitMs ?? DEFAULT_GAP_WAIT_MS): void {
    if (this.catchUpTimer || !this.options.readStored) return;
    this.catchUpTimer = setTimeout(() => {
      void this.catchUp().finally(() => {
        this.catchUpTimer = undefined;
        if (this.pending.size > 0 || this.announcedUpTo > this.lastPublished) this.scheduleCatchUp();
      });
    }, waitMs);
    this.catchUpTimer.unref();
  }

  private async catchUp(): Promise<void> {
    const announced = this.announcedUpTo > this.lastPublished;
    if ((this.pending.size === 0 && !announced) || !this.options.readStored) return;
    const from = this.lastPublished + 1;
    const beforePending = this.pending.size > 0 ? Math.min(...this.pending.keys()) - 1 : 0;
    const to = Math.max(beforePending, this.announcedUpTo);
    if (to < from) return;
    let stored: BatonEvent[];
    try {
      stored = await this.options.readStored(this.lastPublished, to);
    } catch {
      // The store is closing, or the database is out of reach: the next publish or announcement tries again.
      this.announcedUpTo = this.lastPublished;
      return;
    }
    // An announced commit is another node's ordinary work; an unannounced gap is worth a warning.
    if (!announced) this.options.onGap?.({ from, to, found: stored.length });
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
