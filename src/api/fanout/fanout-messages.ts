import type { DeliverySnapshot, DeliveryStamp } from "../../events/delivery-timing.ts";
import type { FeedFilter } from "../../events/event-feed.ts";
import type { ServerFrame, SubscribeFrame } from "../ws/ws-protocol.ts";

/**
 * What Baton's process and its fan-out process (fanout-child.ts) say to each other over the IPC channel.
 * The channel is ordered, and that order is the whole of the replay-to-live seam: a stream is handed over
 * with the seq it has been sent up to, after every event up to that seq has been sent on the channel, so
 * the child forwards exactly the events after it.
 */

/** One committed event as the fan-out needs it: what filters read, its JSON, and its delivery stamps. */
export interface WireEvent {
  seq: number;
  topic: string;
  sessionId: string | undefined;
  /** `data.delta` of a session.output event (a streamed piece), the one data field filters read. */
  delta: boolean;
  /** The event exactly as subscribers get it (event-json.ts). */
  json: string;
  /** Epoch milliseconds (performance.timeOrigin + now): the two processes' monotonic clocks differ. */
  acceptedAt: number;
  publishedAt: number;
}

/** A forwarded event's delivery stamp on the receiving process's clock (the two monotonic clocks differ). */
export function stampOf(event: WireEvent): DeliveryStamp | undefined {
  if (!Number.isFinite(event.acceptedAt)) return undefined;
  const origin = performance.timeOrigin;
  return { acceptedAt: event.acceptedAt - origin, publishedAt: event.publishedAt - origin };
}

/** A stream's filter, less the access check: only streams that may see every event are handed over. */
export type WireFilter = Omit<FeedFilter, "visible">;

export type ToFanout =
  | { type: "events"; events: WireEvent[] }
  /** Comes with the stream's socket; its head and everything up to `after` has been written. */
  | { type: "sse"; stream: number; filter: WireFilter; after: number; heartbeatMs: number }
  /**
   * Comes with a WebSocket upgrade request's socket, checked by Baton (access) but not answered: the child
   * answers 101 and owns the connection. `head`: bytes that arrived after the request's headers.
   */
  | {
      type: "ws";
      conn: number;
      url: string;
      headers: UpgradeHeaders;
      head: Uint8Array;
      pingIntervalMs?: number;
    }
  /** The answers to the child's `ws-subscribe` (key: that subscription), in this order: */
  | { type: "ws-subscribed"; conn: number; key: number; after: number }
  /** Replayed (and caught-up) events of the subscription, already filtered, in seq order. */
  | { type: "ws-events"; conn: number; key: number; events: WireEvent[] }
  /** Caught up: from here the child filters the forwarded events after `cursor` itself. */
  | { type: "ws-live"; conn: number; key: number; filter: WireFilter; cursor: number }
  /** Refused (instead of the above, or after `ws-subscribed` when replay failed): the frame to send. */
  | { type: "ws-refused"; conn: number; key: number; frame: ServerFrame }
  /** Ends every stream and WebSocket connection after what is queued, then exits. */
  | { type: "shutdown" }
  /** Asks for the deliveries recorded since the last report now, not at the next report. */
  | { type: "report" };

export type FromFanout =
  | { type: "ready" }
  /** A stream ended (the client hung up, was too slow, or shutdown): /health counts what is open. */
  | { type: "closed"; stream: number }
  /** A handed-over WebSocket client subscribes: Baton checks it and answers with `ws-subscribed` & co. */
  | { type: "ws-subscribe"; conn: number; key: number; id: string; frame: SubscribeFrame }
  | { type: "ws-unsubscribe"; conn: number; key: number }
  /** A handed-over WebSocket connection closed. */
  | { type: "ws-closed"; conn: number }
  /** Deliveries since the previous report: Baton's /metrics and benchmark add them to their own. */
  | { type: "deliveries"; deliveries: DeliverySnapshot; requested: boolean };

export type UpgradeHeaders = Record<string, string | string[] | undefined>;
