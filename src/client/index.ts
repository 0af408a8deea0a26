/**
 * Baton's client library, the package's one door (`exports` in package.json): the typed HTTP client, two
 * ways to follow the event bus live, and the wire shapes they speak. Both followers reconnect from the last
 * seq they delivered, so every consumer gets replay-then-live with no gap and no duplicate, across
 * disconnects and Baton restarts. Adding an export here is an API decision.
 */

export type { Whoami } from "../access/whoami-schema.ts";
export type { ClientFrame, ServerFrame } from "../api/ws/ws-protocol.ts";
export type { BatonNode } from "../cluster/node-schema.ts";
export type { BatonEvent, BatonTopic, EventData, TypedEvent } from "../events/catalogue.ts";
export type { Lock, LockList, LockRequest } from "../locks/lock-schema.ts";
export type { UsageReport } from "../ops/usage-schema.ts";
export type { SessionSummary, WaitBody, WaitReceipt } from "../sessions/coordination-schema.ts";
export type { PermissionAnswer, PermissionRequest } from "../sessions/permission-schema.ts";
export type {
  DeliveryMode,
  KeyMessageInput,
  KeyReceipt,
  ListSessionsParams,
  MessageReceipt,
  SendReceipt,
  Session,
  SessionConfigInput,
  SessionList,
} from "../sessions/session-schema.ts";
export { isUnfinished, isWorking, type SessionStatus } from "../sessions/session-status.ts";
export {
  BatonApiError,
  BatonClient,
  type ClientOptions,
  type EventPage,
  type EventQuery,
} from "./baton-client.ts";
export { type FollowOptions, followEvents } from "./event-stream.ts";
export { followEventsOverWs, type ResetNotice, type WsFollowOptions } from "./ws-follow.ts";
