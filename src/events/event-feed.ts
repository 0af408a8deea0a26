import type { BatonEvent } from "./catalogue.ts";
import type { EventLog } from "./event-log.ts";
import { matchesAny } from "./topic-filter.ts";

export interface FeedFilter {
  /** Topic patterns (exact, `session.*`, `*`); empty means every topic. */
  topics: readonly string[];
  sessionId?: string | undefined;
  /** `session.output` (assistant text) is opt-in: chatty, and most consumers want only lifecycle steps. */
  includeOutput: boolean;
  /** Its streamed pieces (`delta: true`) are a second opt-in, and imply the first. */
  includeDeltas?: boolean | undefined;
  /** What the subscriber may see (access control); checked before anything else. */
  visible?: ((event: BatonEvent) => boolean) | undefined;
}

export function feedAccepts(filter: FeedFilter, event: BatonEvent): boolean {
  if (filter.visible && !filter.visible(event)) return false;
  return feedMatches(filter, event);
}

/** What a feed's filter reads of an event: all the fan-out process (src/api/fanout) is told about it. */
export interface FilterableEvent {
  topic: string;
  sessionId?: string | undefined;
  data: { delta?: unknown };
}

/** The filter without the access check: session, the output opt-ins, the topic patterns. */
export function feedMatches(filter: Omit<FeedFilter, "visible">, event: FilterableEvent): boolean {
  if (filter.sessionId && event.sessionId !== filter.sessionId) return false;
  if (event.topic === "session.output") {
    const wanted =
      event.data.delta === true
        ? filter.includeDeltas === true
        : filter.includeOutput || filter.includeDeltas === true || filter.topics.includes("session.output");
    if (!wanted) return false;
  }
  return matchesAny(filter.topics, event.topic);
}

const REPLAY_PAGE = 500;

/**
 * Replay-then-live delivery with no gap and no duplicate at the seam. The feed subscribes to the live bus
 * *before* it reads the stored log, buffering live events meanwhile; once replay has caught up it flushes
 * the buffer, skipping anything at or below the last seq it sent. Every consumer (SSE, WebSocket) uses it.
 */
export class EventFeed {
  private readonly log: EventLog;
  private readonly filter: FeedFilter;
  private readonly send: (event: BatonEvent) => void;
  private lastSent: number;
  private buffered: BatonEvent[] | undefined = [];
  private unsubscribe: (() => void) | undefined;
  private closed = false;

  constructor(log: EventLog, filter: FeedFilter, after: number, send: (event: BatonEvent) => void) {
    this.log = log;
    this.filter = filter;
    this.lastSent = after;
    this.send = send;
  }

  get cursor(): number {
    return this.lastSent;
  }

  /** Throws CURSOR_EXPIRED (before sending anything) when `after` is older than the log keeps. */
  async start(): Promise<void> {
    this.unsubscribe = this.log.bus.subscribe((event) => this.onLive(event));
    try {
      await this.log.assertCursorKept(this.lastSent);
      await this.replay();
    } catch (error) {
      this.close();
      throw error;
    }
    const pending = this.buffered ?? [];
    this.buffered = undefined;
    for (const event of pending) this.emit(event);
  }

  close(): void {
    this.closed = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.buffered = undefined;
  }

  private async replay(): Promise<void> {
    for (;;) {
      const target = this.log.bus.latestSeq;
      if (this.closed || this.lastSent >= target) return;
      const before = this.lastSent;
      const { events, nextAfter } = await this.log.read({
        after: before,
        limit: REPLAY_PAGE,
        sessionId: this.filter.sessionId,
        topics: this.filter.topics,
      });
      for (const event of events) this.emit(event);
      // Rows the filter skipped still move the cursor; no rows at all means nothing matches up to `target`.
      this.lastSent = Math.max(this.lastSent, nextAfter === before ? target : nextAfter);
    }
  }

  private onLive(event: BatonEvent): void {
    if (this.buffered) {
      this.buffered.push(event);
      return;
    }
    this.emit(event);
  }

  private emit(event: BatonEvent): void {
    if (this.closed || event.seq <= this.lastSent) return;
    this.lastSent = event.seq;
    if (feedAccepts(this.filter, event)) this.send(event);
  }
}
