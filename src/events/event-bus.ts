import type { BatonEvent } from "./catalogue.ts";

export type EventListener = (event: BatonEvent) => void;

/**
 * In-process fan-out of committed events. Events are published strictly in seq order: if commits are
 * reported out of order (possible with several PostgreSQL connections), later ones wait in `pending` until
 * the gap is filled, so a live subscriber never sees seq N+1 before N.
 */
export class EventBus {
  private readonly listeners = new Set<EventListener>();
  private readonly pending = new Map<number, BatonEvent>();
  private lastPublished: number;

  constructor(latestSeq: number) {
    this.lastPublished = latestSeq;
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
    for (const event of events) this.pending.set(event.seq, event);
    let next = this.pending.get(this.lastPublished + 1);
    while (next) {
      this.pending.delete(next.seq);
      this.lastPublished = next.seq;
      for (const listener of this.listeners) listener(next);
      next = this.pending.get(this.lastPublished + 1);
    }
  }
}
