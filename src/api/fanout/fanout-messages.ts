import type { DeliverySnapshot } from "../../events/delivery-timing.ts";
import type { FeedFilter } from "../../events/event-feed.ts";

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

/** A stream's filter, less the access check: only streams that may see every event are handed over. */
export type WireFilter = Omit<FeedFilter, "visible">;

export type ToFanout =
  | { type: "events"; events: WireEvent[] }
  /** Comes with the stream's socket; its head and everything up to `after` has been written. */
  | { type: "sse"; stream: number; filter: WireFilter; after: number; heartbeatMs: number }
  /** Ends every stream after what is queued, then exits. */
  | { type: "shutdown" }
  /** Asks for the deliveries recorded since the last report now, not at the next report. */
  | { type: "report" };

export type FromFanout =
  | { type: "ready" }
  /** A stream ended (the client hung up, was too slow, or shutdown): /health counts what is open. */
  | { type: "closed"; stream: number }
  /** Deliveries since the previous report: Baton's /metrics and benchmark add them to their own. */
  | { type: "deliveries"; deliveries: DeliverySnapshot; requested: boolean };
