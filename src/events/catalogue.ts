import { z } from "zod";

/**
 * The event vocabulary. Each topic has one payload schema: the server validates what it emits against it
 * (in tests), the OpenAPI document describes it, and clients can parse with it.
 */
export const EventSchema = z.object({
  seq: z.number().int().positive(),
  topic: z.string(),
  sessionId: z.string().optional(),
  ts: z.string(),
  data: z.record(z.string(), z.unknown()),
});
export type BatonEvent = z.infer<typeof EventSchema>;

const usd = z.number().nonnegative();

export const SESSION_EVENT_PAYLOADS = {
  "session.created": z.object({ config: z.record(z.string(), z.unknown()) }),
  "session.queued": z.object({ position: z.number().int().positive() }),
  "session.spawned": z.object({
    agentSessionId: z.string().optional(),
    pid: z.number().int().optional(),
    resumed: z.boolean().optional(),
  }),
  "session.output": z.object({
    text: z.string(),
    /** The model message; its streamed pieces (delta: true) and its complete text share it. */
    messageId: z.string().optional(),
    /** A streamed piece, sent only to subscribers that asked for deltas; the complete text follows. */
    delta: z.literal(true).optional(),
    parentToolUseId: z.string().optional(),
  }),
  "session.tool_use": z.object({
    toolUseId: z.string(),
    name: z.string(),
    input: z.unknown(),
    truncated: z.boolean().optional(),
    /** Set inside a subagent: the Agent (Task) tool call that started it. */
    parentToolUseId: z.string().optional(),
  }),
  "session.tool_done": z.object({
    toolUseId: z.string(),
    isError: z.boolean(),
    summary: z.string(),
    parentToolUseId: z.string().optional(),
  }),
  "session.idle": z.object({ idleMs: z.number().int().nonnegative() }),
  "session.resumed": z.object({
    messageId: z.string().optional(),
    reason: z.string().optional(),
    /** A cold resume: what the new process reported, checked against what Baton stored (resume-check.ts). */
    verified: z
      .object({
        agentSessionId: z.string(),
        permissionMode: z.string(),
        cwd: z.string(),
        model: z.string(),
        tools: z.number().int().nonnegative(),
      })
      .optional(),
  }),
  "session.restarted": z.object({
    reason: z.enum(["stalled", "api_error"]),
    attempt: z.number().int().positive(),
    maxRestarts: z.number().int().nonnegative(),
    delayMs: z.number().int().nonnegative(),
    error: z.string().optional(),
  }),
  "session.completed": z.object({
    result: z.string(),
    costUsd: usd,
    turns: z.number().int().nonnegative(),
    /** The turn was cut short by an interrupt; `result` is then "interrupted". */
    interrupted: z.literal(true).optional(),
  }),
  "session.failed": z.object({
    error: z.string(),
    reason: z.string(),
    costUsd: usd.optional(),
    turns: z.number().int().optional(),
  }),
  "session.killed": z.object({ by: z.string().optional() }),
  /** A usage/rate limit or a refused credential parked it (credential-limits.ts); it resumes by itself. */
  "session.parked": z.object({
    kind: z.enum(["usage_limit", "auth"]),
    reason: z.string(),
    resumeAt: z.string().optional(),
  }),
  "session.unparked": z.object({ kind: z.string(), parkedMs: z.number().int().nonnegative() }),
  "session.interrupted": z.object({ by: z.string().optional() }),
  "session.message_queued": z.object({
    messageId: z.string(),
    mode: z.string(),
    from: z.string().optional(),
  }),
  "session.message_delivered": z.object({
    messageId: z.string(),
    mode: z.string(),
    from: z.string().optional(),
  }),
  "session.permission_requested": z.object({
    requestId: z.string(),
    toolName: z.string(),
    toolUseId: z.string(),
    input: z.unknown(),
    suggestions: z.unknown().optional(),
    repeated: z.boolean().optional(),
  }),
  "session.cleared": z.object({
    previousAgentSessionId: z.string().optional(),
    costUsd: usd,
    turns: z.number().int().nonnegative(),
    by: z.string().optional(),
  }),
  "session.renamed": z.object({ from: z.string().nullable(), to: z.string() }),
  "session.permission_resolved": z.object({
    requestId: z.string(),
    toolName: z.string(),
    decision: z.enum(["allow", "deny"]),
    by: z.string(),
    message: z.string().optional(),
  }),
  "session.lock_waiting": z.object({
    resource: z.string(),
    /** auto: taken before a file edit; explicit: asked for (recorded since 0.2.0). */
    kind: z.enum(["auto", "explicit"]).optional(),
    holder: z.string(),
    holderName: z.string().optional(),
    reason: z.string().optional(),
    timeoutMs: z.number().int().nonnegative(),
  }),
  "session.worktree": z.object({
    action: z.enum(["report", "removed", "kept"]),
    branch: z.string(),
    path: z.string(),
    base: z.string(),
    commits: z.number().int().nonnegative(),
    diffStat: z.string(),
    uncommitted: z.array(z.string()),
    reason: z.string().optional(),
  }),
} as const;

/** Workspace locks (docs/locks-and-worktrees.md); each event carries the holder's or waiter's sessionId. */
export const LOCK_EVENT_PAYLOADS = {
  "lock.acquired": z.object({
    resource: z.string(),
    kind: z.enum(["auto", "explicit"]),
    reason: z.string().optional(),
    waitedMs: z.number().int().nonnegative().optional(),
  }),
  "lock.released": z.object({ resource: z.string(), kind: z.enum(["auto", "explicit"]), why: z.string() }),
  "lock.denied": z.object({
    resource: z.string(),
    holder: z.string(),
    why: z.enum(["timeout", "cycle"]),
    message: z.string(),
  }),
} as const;
export type LockTopic = keyof typeof LOCK_EVENT_PAYLOADS;

/** Baton's own notices outside sessions: a notification routed to the bus channel carries its rendered data. */
export const NOTIFICATION_EVENT_PAYLOADS = {
  "notification.bus": z.record(z.string(), z.unknown()),
} as const;

/** Every topic Baton itself publishes, with its payload schema. */
export const EVENT_PAYLOADS = {
  ...SESSION_EVENT_PAYLOADS,
  ...LOCK_EVENT_PAYLOADS,
  ...NOTIFICATION_EVENT_PAYLOADS,
} as const;

export type SessionTopic = keyof typeof SESSION_EVENT_PAYLOADS;
export type BatonTopic = keyof typeof EVENT_PAYLOADS;
/** What `emit` takes for a topic: the schema's input (optional fields may be left out). */
export type EventData<T extends BatonTopic> = z.input<(typeof EVENT_PAYLOADS)[T]>;
export type SessionEventData<T extends SessionTopic> = z.infer<(typeof SESSION_EVENT_PAYLOADS)[T]>;

/**
 * One of Baton's own events, typed by topic: the union clients (and the dashboard) can narrow on
 * `topic`. Published in the OpenAPI document as the `BatonEvent` component.
 */
export const TypedEventSchema = z.discriminatedUnion(
  "topic",
  Object.entries(EVENT_PAYLOADS).map(([topic, data]) =>
    EventSchema.extend({ topic: z.literal(topic), data }),
  ) as unknown as [TypedEventVariant, ...TypedEventVariant[]],
);
type TypedEventVariant = z.ZodObject<{
  seq: z.ZodNumber;
  topic: z.ZodLiteral<string>;
  sessionId: z.ZodOptional<z.ZodString>;
  ts: z.ZodString;
  data: z.ZodType;
}>;
export type TypedEvent = {
  [T in BatonTopic]: Omit<BatonEvent, "topic" | "data"> & {
    topic: T;
    data: z.infer<(typeof EVENT_PAYLOADS)[T]>;
  };
}[BatonTopic];

/**
 * Checks an event Baton is about to record against its topic's schema (tests turn this on: see
 * EventLog.open); topics callers publish are free-form and pass.
 */
export function checkEventData(topic: string, data: unknown): string | undefined {
  const schema = (EVENT_PAYLOADS as Record<string, z.ZodType | undefined>)[topic];
  if (!schema) return undefined;
  const parsed = schema.safeParse(data);
  if (parsed.success) return undefined;
  const issue = parsed.error.issues[0];
  return `${topic}: ${issue?.path.join(".") || "data"}: ${issue?.message ?? "invalid"}`;
}

/** Topics under these prefixes belong to Baton; callers publish elsewhere (`POST /events`). */
export const RESERVED_TOPIC_PREFIXES = ["session.", "lock."] as const;

export function isReservedTopic(topic: string): boolean {
  return RESERVED_TOPIC_PREFIXES.some((prefix) => topic.startsWith(prefix));
}

/** Lower-case dotted words: `lab.stage_completed`, `deploy.finished`. */
export const TOPIC_PATTERN = /^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/;
