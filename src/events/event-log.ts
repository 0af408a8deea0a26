import { BatonError } from "../core/errors.ts";
import { notifyEventsCommitted } from "../store/event-notify-queries.ts";
import { type EventRow, insertEvents, selectEventsAfter, selectSeqBounds } from "../store/event-queries.ts";
import type { Store } from "../store/open-store.ts";
import type { Tx } from "../store/schema.ts";
import { type BatonEvent, type BatonTopic, checkEventData, type EventData } from "./catalogue.ts";
import { DeliveryTiming } from "./delivery-timing.ts";
import { EventBus, type SeqGap } from "./event-bus.ts";
import { matchesAny, toLikePatterns } from "./topic-filter.ts";

/** What a write transaction may do: change rows through `tx`, and record events that commit with them. */
export interface WriteContext {
  tx: Tx;
  /** Records one of Baton's own events; its data is typed by the topic's schema in catalogue.ts. */
  emit<T extends BatonTopic>(
    topic: T,
    sessionId: string | undefined,
    data: EventData<T>,
  ): Promise<BatonEvent>;
  /**
   * Records an event whose topic is not Baton's own: what a caller published (`POST /events`, a free-form
   * topic outside the reserved ones), or a test's marker event.
   */
  emitPublished(topic: string, data: Record<string, unknown>, sessionId?: string): Promise<BatonEvent>;
  /** Records several published events at once, in order (one counter update, one INSERT: the batcher's). */
  emitPublishedBatch(items: ReadonlyArray<PublishedEvent>): Promise<BatonEvent[]>;
}

/** One event a caller published: a free-form topic outside the reserved ones, and its data. */
export interface PublishedEvent {
  topic: string;
  data: Record<string, unknown>;
}

/** What one insert records: any topic (Baton's own are checked against the catalogue when validating). */
interface Recordable {
  topic: string;
  sessionId?: string | undefined;
  data: unknown;
}

export interface EventLogOptions {
  /** Hears of every seq gap the bus filled from the log (see EventBus). */
  onGap?: (gap: SeqGap) => void;
  /**
   * Check every event Baton records against its topic's schema and refuse a mismatch (the tests turn this
   * on with VALIDATE_EVENT_PAYLOADS=1, so a payload that drifts from the catalogue fails a test).
   */
  validate?: boolean;
}

export interface ReadOptions {
  after: number;
  limit?: number;
  sessionId?: string | undefined;
  topics?: readonly string[] | undefined;
}

/**
 * The durable event log and its live fan-out. Every state change goes through `write`, which records its
 * events in the same transaction and publishes them only after the commit: a subscriber can never see an
 * event for a change that was rolled back, and a crash can never lose the event of a change that was kept.
 */
export class EventLog {
  readonly bus: EventBus;
  /** Baton's own part of each live event's latency (accept → socket write), for /metrics and the bench. */
  readonly timing = new DeliveryTiming();
  private readonly store: Store;
  private readonly scrub: (json: string) => string;
  private readonly validate: boolean;

  private constructor(store: Store, bus: EventBus, scrub: (json: string) => string, validate: boolean) {
    this.store = store;
    this.bus = bus;
    this.scrub = scrub;
    this.validate = validate;
  }

  /**
   * `scrub` removes known secret values from each event's data before it is stored (and published);
   * see EventLogOptions for the rest.
   */
  static async open(
    store: Store,
    scrub: (json: string) => string = (json) => json,
    options: EventLogOptions = {},
  ): Promise<EventLog> {
    const { latest } = await selectSeqBounds(store.db);
    const readStored = (after: number, upTo: number) => readThrough(store, after, upTo);
    const bus = new EventBus(latest, { readStored, ...(options.onGap ? { onGap: options.onGap } : {}) });
    const validate = options.validate ?? process.env.VALIDATE_EVENT_PAYLOADS === "1";
    return new EventLog(store, bus, scrub, validate);
  }

  async write<T>(work: (context: WriteContext) => Promise<T>): Promise<T> {
    const recorded: BatonEvent[] = [];
    const result = await this.store.transaction(async (tx) => {
      const recordAll = async (items: ReadonlyArray<Recordable>) => {
        for (const { topic, data } of items) {
          const invalid = this.validate ? checkEventData(topic, data) : undefined;
          if (invalid)
            throw new BatonError("INTERNAL", `event payload does not match the catalogue: ${invalid}`);
        }
        const ts = new Date().toISOString();
        const rows = await insertEvents(
          tx,
          items.map(({ topic, data, sessionId }) => ({
            topic,
            session_id: sessionId ?? null,
            ts,
            data: this.scrub(JSON.stringify(data)),
          })),
        );
        const events = rows.map(toEvent);
        for (const event of events) {
          this.timing.accepted(event);
          recorded.push(event);
        }
        return events;
      };
      const record = async (topic: string, sessionId: string | undefined, data: unknown) => {
        const [event] = await recordAll([{ topic, sessionId, data }]);
        return event as BatonEvent;
      };
      const value = await work({
        tx,
        emit: (topic, sessionId, data) => record(topic, sessionId, data),
        emitPublished: (topic, data, sessionId) => record(topic, sessionId, data),
        emitPublishedBatch: (items) => recordAll(items),
      });
      // Other nodes on the same PostgreSQL database hear of the commit and read it (src/cluster).
      const last = recorded.at(-1);
      if (last && this.store.dialect === "postgres") await notifyEventsCommitted(tx, last.seq);
      return value;
    });
    this.timing.published(recorded);
    this.bus.publish(recorded);
    return result;
  }

  /** Events after a cursor, oldest first. A cursor older than the log keeps is an error, never a silent jump. */
  async read(options: ReadOptions): Promise<{ events: BatonEvent[]; nextAfter: number }> {
    await this.assertCursorKept(options.after);
    const limit = Math.min(options.limit ?? 500, 5000);
    const topics = options.topics ?? [];
    const rows = await selectEventsAfter(this.store.db, {
      after: options.after,
      limit,
      sessionId: options.sessionId,
      topicPatterns: toLikePatterns(topics),
    });
    // Rows may include a commit whose publish is still waiting for its fsync: nothing leaves before it.
    await this.store.durable();
    const events = rows.map(toEvent).filter((event) => matchesAny(topics, event.topic));
    const last = rows.at(-1);
    return { events, nextAfter: last ? last.seq : options.after };
  }

  async bounds(): Promise<{ oldest: number; latest: number }> {
    return selectSeqBounds(this.store.db);
  }

  /**
   * A cursor must lie within the log: not before what retention kept, and not past the newest event
   * (a cursor from another database, or one restored from an older backup). Either way the caller is told,
   * never silently moved.
   */
  async assertCursorKept(after: number): Promise<void> {
    const { oldest, latest } = await this.bounds();
    if (after < oldest - 1) throw cursorExpired(after, oldest);
    if (after > latest) throw cursorAhead(after, oldest, latest);
  }
}

const GAP_PAGE = 1000;

/** Every stored event with `after < seq <= upTo`, oldest first (the bus's catch-up read). */
async function readThrough(store: Store, after: number, upTo: number): Promise<BatonEvent[]> {
  const events: BatonEvent[] = [];
  let cursor = after;
  while (cursor < upTo) {
    const rows = await selectEventsAfter(store.db, { after: cursor, limit: GAP_PAGE, topicPatterns: [] });
    const wanted = rows.filter((row) => Number(row.seq) <= upTo);
    events.push(...wanted.map(toEvent));
    if (wanted.length < GAP_PAGE) break;
    cursor = Number(rows.at(-1)?.seq);
  }
  await store.durable();
  return events;
}

function cursorAhead(after: number, oldest: number, latest: number): BatonError {
  return new BatonError(
    "CURSOR_AHEAD",
    `cursor ${after} is past the newest event (${latest}): it comes from another event log (a replaced ` +
      `database?); restart from ${oldest - 1} for everything kept, or ${latest} for new events only`,
    { oldestSeq: oldest, latestSeq: latest, resetAfter: oldest - 1 },
  );
}

function cursorExpired(after: number, oldest: number): BatonError {
  return new BatonError(
    "CURSOR_EXPIRED",
    `cursor ${after} is older than the oldest kept event (${oldest}); restart from ${oldest - 1}`,
    {
      oldestSeq: oldest,
      resetAfter: oldest - 1,
    },
  );
}

export function toEvent(row: EventRow): BatonEvent {
  const event: BatonEvent = {
    seq: Number(row.seq),
    topic: row.topic,
    ts: row.ts,
    data: JSON.parse(row.data) as Record<string, unknown>,
  };
  if (row.session_id) event.sessionId = row.session_id;
  return event;
}
