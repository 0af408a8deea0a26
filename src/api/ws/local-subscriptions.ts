import type { FastifyBaseLogger } from "fastify";
import type { BatonEvent } from "../../events/catalogue.ts";
import { EventFeed, type FeedFilter } from "../../events/event-feed.ts";
import { eventJson } from "../../events/event-json.ts";
import type { EventLog } from "../../events/event-log.ts";
import type { SubscriptionSource } from "./ws-connection.ts";
import { encodeEventFrame, refusalFrame } from "./ws-frames.ts";
import type { ServerFrame, SubscribeFrame } from "./ws-protocol.ts";

/** What a subscription needs from Baton's process: the log, and the connection's principal's rights. */
export interface LocalSubscriptionDeps {
  log: EventLog;
  /**
   * A session filter may name the session; subscriptions always filter by id. Throws when the session is
   * unknown or the connection's principal may not read it.
   */
  resolveSessionId: (idOrName: string) => Promise<string>;
  /** What this connection's principal may see (undefined: everything). */
  visibility: () => Promise<((event: BatonEvent) => boolean) | undefined>;
  logger: FastifyBaseLogger;
}

/** What becomes of one subscription, in this order: subscribed, events (seq order); or refused, once. */
export interface LocalSubscriptionCallbacks {
  subscribed(after: number): void;
  event(event: BatonEvent): void;
  refused(frame: ServerFrame): void;
  /** Replay has caught up and the feed is live (the fan-out process takes it over from here). */
  caughtUp?(feed: EventFeed, filter: FeedFilter): void;
}

/**
 * Opens one WebSocket subscription on Baton's event log: resolves the session it names (with the
 * principal's right to read it), checks the cursor, answers `subscribed`, then replays and goes live
 * through an EventFeed (no gap, no duplicate at the seam). Nothing is called after `close()`.
 */
export function openLocalSubscription(
  deps: LocalSubscriptionDeps,
  id: string,
  frame: SubscribeFrame,
  callbacks: LocalSubscriptionCallbacks,
): { close(): void } {
  let closed = false;
  let feed: EventFeed | undefined;
  const run = async () => {
    const { log } = deps;
    const sessionId = frame.session ? await deps.resolveSessionId(frame.session) : undefined;
    const after = frame.after ?? log.bus.latestSeq;
    const filter: FeedFilter = {
      topics: frame.topics,
      sessionId,
      includeOutput: frame.output,
      includeDeltas: frame.deltas,
      visible: await deps.visibility(),
    };
    if (closed) return;
    feed = new EventFeed(log, filter, after, (event) => callbacks.event(event));
    await log.assertCursorKept(after);
    if (closed) return;
    callbacks.subscribed(after);
    await feed.start();
    if (!closed) callbacks.caughtUp?.(feed, filter);
  };
  run().catch((error: unknown) => {
    feed?.close();
    if (closed) return;
    closed = true;
    callbacks.refused(
      refusalFrame(id, error, deps.log.bus.latestSeq, (unexpected) =>
        deps.logger.error({ err: unexpected }, "websocket subscribe failed"),
      ),
    );
  });
  return {
    close: () => {
      closed = true;
      feed?.close();
    },
  };
}

/** Subscriptions of a connection served in Baton's process: events framed here, from the log. */
export function localSubscriptionSource(deps: LocalSubscriptionDeps): SubscriptionSource {
  return {
    open: (id, frame, sink) =>
      openLocalSubscription(deps, id, frame, {
        subscribed: (after) => sink.subscribed(after),
        event: (event) =>
          sink.event(
            encodeEventFrame(id, event, () => eventJson(event)),
            deps.log.timing.stampOf(event),
          ),
        refused: (answer) => sink.refused(answer),
      }),
  };
}
