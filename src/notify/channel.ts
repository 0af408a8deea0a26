/**
 * The port every outbound channel implements. A channel sends one delivery once and says what happened;
 * the outbox worker owns retries, schedules and bookkeeping, so channels stay small and alike.
 */
export const DELIVERY_CHANNELS = ["webhook", "callback", "slack", "telegram"] as const;
export type DeliveryChannel = (typeof DELIVERY_CHANNELS)[number];

export interface OutboundDelivery {
  /** Stable across attempts: the `webhook-id` a receiver dedupes on. */
  id: string;
  channel: DeliveryChannel;
  target: string;
  sessionId: string | null;
  payload: unknown;
  attempt: number;
}

export type SendOutcome =
  /** Accepted by the receiver. */
  | { kind: "delivered"; httpStatus?: number }
  /** Worth another try (5xx, 429, timeout, network); `retryAfterMs` when the receiver said when. */
  | { kind: "retry"; error: string; httpStatus?: number; retryAfterMs?: number }
  /** The receiver refused it for good (4xx, redirect, bad chat). */
  | { kind: "rejected"; error: string; httpStatus?: number }
  /** 410 Gone: the endpoint asked never to be called again. */
  | { kind: "gone"; error: string; httpStatus: number; url: string }
  /** Baton refused to send it (SSRF guard, chat not configured). */
  | { kind: "refused"; error: string };

export interface Channel {
  send(delivery: OutboundDelivery, signal: AbortSignal): Promise<SendOutcome>;
}
