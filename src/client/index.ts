/**
 * Baton's client library: the typed HTTP client and two ways to follow the event bus live. Both followers
 * reconnect from the last seq they delivered, so every consumer gets replay-then-live with no gap and no
 * duplicate, across disconnects and Baton restarts. What is exported here is the public API.
 */
export type { ClientFrame, ServerFrame } from "../api/ws/ws-protocol.ts";
export type { BatonEvent } from "../events/catalogue.ts";
export {
  BatonApiError,
  BatonClient,
  type ClientOptions,
  type EventPage,
  type EventQuery,
} from "./baton-client.ts";
export { type FollowOptions, followEvents } from "./event-stream.ts";
export { followEventsOverWs, type ResetNotice, type WsFollowOptions } from "./ws-follow.ts";
