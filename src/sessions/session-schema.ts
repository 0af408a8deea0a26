import { isAbsolute } from "node:path";
import { z } from "zod";
import { PERMISSION_MODES } from "../core/settings-schema.ts";
import { SESSION_STATUSES } from "./session-status.ts";

/**
 * One schema per shape: these validate requests, generate the OpenAPI document, and type the domain.
 * Defaults that depend on server settings (budget, turns, idle timeout, permission mode) are applied by the
 * service, so the stored config always shows the values a session actually ran with.
 */
export const SESSION_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export const SESSION_KEY_PATTERN = /^[\w.:@+-]{1,200}$/;

export const NotifySchema = z.object({
  channel: z.enum(["telegram", "slack", "webhook", "bus"]),
  target: z.string().min(1),
});

export const SessionConfigSchema = z
  .object({
    prompt: z.string().trim().min(1, "prompt must be a non-empty string"),
    workDir: z.string().min(1).refine(isAbsolute, "workDir must be an absolute path"),
    name: z
      .string()
      .regex(
        SESSION_NAME_PATTERN,
        "name: letters, digits, '.', '_' or '-', starting with a letter or digit, at most 64",
      )
      .refine((name) => !name.startsWith("ses_"), "name must not start with ses_ (reserved for ids)")
      .optional(),
    owner: z.string().min(1).max(128).optional(),
    key: z
      .string()
      .regex(
        SESSION_KEY_PATTERN,
        "key: 1-200 letters, digits or . _ : @ + - (e.g. telegram:12345, ticket-42)",
      )
      .optional()
      .describe("a key this session holds while it lives: messages to POST /keys/:key reach it"),
    runIdentifier: z.string().min(1).max(200).optional(),
    parentSessionId: z.string().min(1).optional(),
    maxBudgetUsd: z.number().positive("maxBudgetUsd must be greater than 0").max(10_000).optional(),
    maxTurns: z.number().int().positive("maxTurns must be at least 1").max(10_000).optional(),
    idleTimeoutMs: z.number().int().min(1000).max(86_400_000).optional(),
    maxRestarts: z
      .number()
      .int()
      .min(0)
      .max(20)
      .optional()
      .describe(
        "restarts of a stalled or failing process before the session fails unhealthy (default: the setting)",
      ),
    permissionTimeoutMs: z
      .number()
      .int()
      .min(1000)
      .max(7 * 86_400_000)
      .optional()
      .describe("deny a permission request nobody answered within this time (default: wait)"),
    allowedTools: z.array(z.string().min(1)).optional(),
    disallowedTools: z.array(z.string().min(1)).optional(),
    permissionMode: z.enum(PERMISSION_MODES).optional(),
    model: z.string().min(1).optional(),
    claudeMdContent: z.string().max(200_000).optional(),
    notify: NotifySchema.optional(),
    webhooks: z
      .array(
        z
          .object({
            url: z.url({ protocol: /^https?$/ }),
            events: z.array(z.string().min(1)).optional(),
          })
          .strict(),
      )
      .max(10)
      .optional(),
    priority: z.number().int().min(-100).max(100).optional(),
    isolation: z
      .enum(["none", "worktree"])
      .optional()
      .describe("worktree: run in a new git worktree on branch baton/<name> (docs/locks-and-worktrees.md)"),
    notifyParent: z.boolean().optional().describe("message the parent when a turn ends (default true)"),
    coordinationTools: z
      .boolean()
      .optional()
      .describe(
        "give the agent Baton's mcp__baton__* tools (default true); false saves the CLI's MCP handshake, 10-20 ms per start",
      ),
    maxTreeBudgetUsd: z
      .number()
      .positive("maxTreeBudgetUsd must be greater than 0")
      .max(100_000)
      .optional()
      .describe("on a root session: cap on the spend of it and all its descendants"),
  })
  .strict();
export type SessionConfigInput = z.infer<typeof SessionConfigSchema>;

export interface WorktreeConfig {
  /** The repository's top level and the workDir the caller asked for. */
  repo: string;
  requestedWorkDir: string;
  path: string;
  branch: string;
  /** The commit the branch started from. */
  base: string;
}

/** The stored config: what the session runs with once server defaults are applied. */
export const StoredSessionConfigSchema = SessionConfigSchema.extend({
  owner: z.string(),
  maxBudgetUsd: z.number(),
  maxTurns: z.number().int(),
  idleTimeoutMs: z.number().int(),
  permissionMode: z.enum(PERMISSION_MODES),
  /** Set by Baton for `isolation: "worktree"`: `workDir` then points into the worktree. */
  worktree: z
    .object({
      repo: z.string(),
      requestedWorkDir: z.string(),
      path: z.string(),
      branch: z.string(),
      base: z.string(),
    })
    .optional(),
});
export type SessionConfig = z.infer<typeof StoredSessionConfigSchema>;

export const SessionStatusSchema = z.enum(SESSION_STATUSES);

/** What a `waiting` or `queued` session waits for; `slot` (a free concurrency slot) extends the contract's kinds. */
export const WAIT_KINDS = ["permission", "lock", "usage_limit", "auth", "memory", "slot"] as const;

export const WaitingOnSchema = z
  .object({
    kind: z.enum(WAIT_KINDS),
    since: z.string().describe("when the wait began (ISO)"),
    requestId: z.string().optional().describe("the pending permission request (kind permission)"),
    path: z.string().optional().describe("the file or workDir whose lock it waits for (kind lock)"),
    resumeAt: z.string().optional().describe("when it resumes by itself (kind usage_limit)"),
  })
  .describe("why a waiting or queued session is not working");
export type WaitingOn = z.infer<typeof WaitingOnSchema>;

export const SessionSchema = z.object({
  id: z.string(),
  name: z.string().nullable(),
  owner: z.string(),
  status: SessionStatusSchema,
  config: z.record(z.string(), z.unknown()),
  parentSessionId: z.string().nullable(),
  runIdentifier: z.string().nullable(),
  agentSessionId: z.string().nullable(),
  result: z.string().nullable(),
  costUsd: z.number(),
  turns: z.number().int(),
  error: z.string().nullable(),
  failureReason: z.string().nullable(),
  pid: z.number().int().nullable(),
  nodeId: z
    .string()
    .nullable()
    .describe("in a cluster, the node that runs its turns (or ran the last one); null on one SQLite node"),
  queuePosition: z.number().int().positive().optional(),
  waitingOn: WaitingOnSchema.optional(),
  rssBytes: z.number().int().optional().describe("resident memory of its live process and tools (GET one)"),
  cpuSeconds: z.number().optional().describe("CPU time of its live process and tools (GET one)"),
  createdAt: z.string(),
  updatedAt: z.string(),
  startedAt: z.string().nullable(),
  endedAt: z.string().nullable(),
});
export type Session = z.infer<typeof SessionSchema>;
export type ProcessResources = Required<Pick<Session, "rssBytes" | "cpuSeconds">>;

export const DELIVERY_MODES = ["queue", "steer", "interrupt"] as const;
/** The older `sm` names, accepted as aliases. */
const MODE_ALIASES: Record<string, (typeof DELIVERY_MODES)[number]> = {
  sequential: "queue",
  important: "steer",
  urgent: "interrupt",
};

export const SendMessageSchema = z
  .object({
    text: z.string().trim().min(1, "text must be a non-empty string"),
    mode: z
      .string()
      .transform((mode) => MODE_ALIASES[mode] ?? mode)
      .pipe(z.enum(DELIVERY_MODES))
      .default("queue"),
    idempotencyKey: z.string().min(1).max(200).optional(),
    from: z.string().min(1).optional(),
  })
  .strict();
export type SendMessageInput = z.infer<typeof SendMessageSchema>;
export type DeliveryMode = (typeof DELIVERY_MODES)[number];

export const SendReceiptSchema = z.object({
  messageId: z.string(),
  deliveredAt: z.string().optional(),
  duplicate: z.boolean().optional(),
});
export type SendReceipt = z.infer<typeof SendReceiptSchema>;

/** `GET /sessions/:id/messages/:messageId`: what became of a message, so a sender can prove delivery. */
export const MessageReceiptSchema = z.object({
  messageId: z.string(),
  sessionId: z.string(),
  status: z.enum(["queued", "delivered", "expired", "refused"]),
  mode: z.enum(DELIVERY_MODES),
  from: z.string().nullable().describe("who sent it: a session id, or a principal such as user:alice"),
  acceptedAt: z.string(),
  deliveredAt: z.string().optional(),
  reason: z.string().optional().describe("why it was refused or expired"),
});
export type MessageReceipt = z.infer<typeof MessageReceiptSchema>;

/** `POST /keys/:key/messages`: send to the session that holds the key, or spawn one for it. */
export const KeyMessageSchema = z
  .object({
    text: z.string().trim().min(1, "text must be a non-empty string"),
    mode: z.enum(DELIVERY_MODES).optional().describe("default: steer while it works, else queue"),
    idempotencyKey: z.string().min(1).max(200).optional(),
    template: SessionConfigSchema.omit({ prompt: true, key: true })
      .optional()
      .describe("the session to spawn when no live session holds the key (default: keyTemplates)"),
  })
  .strict();
export type KeyMessageInput = z.infer<typeof KeyMessageSchema>;

export const KeyReceiptSchema = z.object({
  sessionId: z.string(),
  created: z.boolean().describe("true when this message spawned the session (the text is its prompt)"),
  messageId: z.string().optional().describe("the message's id when it went to an existing session"),
});
export type KeyReceipt = z.infer<typeof KeyReceiptSchema>;

export const ListSessionsQuerySchema = z.object({
  status: z
    .string()
    .transform((value) => value.split(",").filter(Boolean))
    .pipe(z.array(SessionStatusSchema))
    .optional(),
  owner: z.string().min(1).optional(),
  parentSessionId: z.string().min(1).optional(),
  workDir: z
    .string()
    .min(1)
    .refine(isAbsolute, "workDir must be an absolute path")
    .optional()
    .describe("only sessions whose config.workDir is exactly this path"),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().min(1).optional(),
});
export type ListSessionsQuery = z.infer<typeof ListSessionsQuerySchema>;
/** What a client passes to `GET /sessions` (statuses comma-separated, as on the wire). */
export type ListSessionsParams = Omit<z.input<typeof ListSessionsQuerySchema>, "limit"> & { limit?: number };

export const SessionListSchema = z.object({
  sessions: z.array(SessionSchema),
  nextCursor: z.string().nullable().describe("pass as `cursor` for the next (older) page; null at the end"),
});
export type SessionList = z.infer<typeof SessionListSchema>;
