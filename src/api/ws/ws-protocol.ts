import { z } from "zod";
import { EventSchema } from "../../events/catalogue.ts";

/**
 * The WebSocket protocol of `GET /ws`: JSON text frames, one schema per frame. Glossary:
 *   subscription - one filter (topics, session, output) with its own cursor; a connection may hold several
 *   cursor       - the seq after which a subscription delivers (`after`); replay first, then live
 *   reset        - the answer to a cursor older than the oldest kept event: the subscription is dropped and
 *                  the client decides where to restart, so nothing is ever skipped silently
 */

/** Close codes Baton uses (1000-2999 belong to the WebSocket spec; 4000-4999 are for applications). */
export const WS_CLOSE = {
  /** Baton is stopping; reconnect later with the last seq. */
  goingAway: 1001,
  /** A client frame over WS_LIMITS.maxPayloadBytes (sent by the `ws` library itself). */
  messageTooBig: 1009,
  /** The client's unsent backlog passed WS_LIMITS.maxBufferedBytes: it cannot keep up. */
  tooSlow: 4008,
} as const;

export const WS_LIMITS = {
  /** Client frames are small control messages; anything larger is a mistake or an attack. */
  maxPayloadBytes: 64 * 1024,
  /** Unsent bytes queued for one client before it is cut off with WS_CLOSE.tooSlow. */
  maxBufferedBytes: 4 * 1024 * 1024,
  /** A ping every this often; a peer that has not answered the previous one is terminated. */
  pingIntervalMs: 30_000,
  /** How long a closed client may take to read up to the close frame before its socket is dropped. */
  closeGraceMs: 10_000,
  maxSubscriptions: 32,
  maxTopicsPerSubscription: 64,
} as const;

const topicPattern = z
  .string()
  .min(1)
  .max(200)
  .regex(/^(\*|[a-z0-9_-]+(\.[a-z0-9_-]+)*(\.\*)?)$/, "a topic: exact (a.b), a prefix wildcard (a.*), or *");

export const SubscribeFrameSchema = z
  .object({
    type: z.literal("subscribe"),
    id: z.string().min(1).max(100).optional().describe("your name for the subscription (default: s1, s2, …)"),
    topics: z.array(topicPattern).max(WS_LIMITS.maxTopicsPerSubscription).default([]),
    session: z.string().min(1).max(200).optional().describe("only this session's events (id or name)"),
    after: z.number().int().min(0).optional().describe("replay events after this seq (default: live only)"),
    output: z.boolean().default(false).describe("include session.output (assistant text)"),
    deltas: z
      .boolean()
      .default(false)
      .describe("also the streamed pieces of that text (session.output with delta: true); implies output"),
  })
  .strict();

export const UnsubscribeFrameSchema = z
  .object({ type: z.literal("unsubscribe"), id: z.string().min(1) })
  .strict();
export const PingFrameSchema = z.object({ type: z.literal("ping") }).strict();

export const ClientFrameSchema = z.discriminatedUnion("type", [
  SubscribeFrameSchema,
  UnsubscribeFrameSchema,
  PingFrameSchema,
]);
export type ClientFrame = z.infer<typeof ClientFrameSchema>;
export type SubscribeFrame = z.infer<typeof SubscribeFrameSchema>;

/** Server frames. `event` carries the Event's own fields next to the subscription id. */
export const ServerFrameSchema = z.discriminatedUnion("type", [
  EventSchema.extend({ type: z.literal("event"), subscription: z.string() }),
  z.object({ type: z.literal("subscribed"), id: z.string(), after: z.number().int() }),
  z.object({ type: z.literal("unsubscribed"), id: z.string() }),
  z.object({
    type: z.literal("reset"),
    subscription: z.string(),
    oldestSeq: z.number().int(),
    latestSeq: z.number().int(),
  }),
  z.object({
    type: z.literal("error"),
    message: z.string(),
    code: z.string().optional(),
    subscription: z.string().optional(),
  }),
  z.object({ type: z.literal("pong") }),
]);
export type ServerFrame = z.infer<typeof ServerFrameSchema>;

/** Parses one text frame; the error message says what was wrong, for an `error` frame. */
export function parseClientFrame(text: string): { frame: ClientFrame } | { error: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { error: 'frame is not JSON; send e.g. {"type":"subscribe","topics":["session.*"]}' };
  }
  const parsed = ClientFrameSchema.safeParse(json);
  if (parsed.success) return { frame: parsed.data };
  const issues = parsed.error.issues.map((issue) => `${issue.path.join(".") || "(frame)"}: ${issue.message}`);
  return { error: `invalid frame: ${issues.join("; ")}` };
}
