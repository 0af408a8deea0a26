import { z } from "zod";
import { booleanSetting, NOTIFY_SETTINGS } from "./notify-settings.ts";

/**
 * Every server setting, its type, default and meaning, in one schema. The config file, `BATON_*` env vars
 * and CLI flags are all parsed through it, so an unknown or invalid setting fails the same way everywhere.
 */
export const PERMISSION_MODES = ["default", "acceptEdits", "plan", "dontAsk", "bypassPermissions"] as const;

export const ROLES = ["admin", "user", "viewer"] as const;

/** One configured principal. The token is given in clear or as its SHA-256 (hex), never both. */
export const TokenEntrySchema = z
  .object({
    name: z.string().regex(/^[\w.@-]{1,64}$/, "a name of letters, digits, _ . @ or -"),
    token: z.string().min(16, "a token needs at least 16 characters").optional(),
    tokenSha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/, "the SHA-256 of the token, 64 hex digits")
      .optional(),
    role: z.enum(ROLES),
    owner: z.string().min(1).optional().describe("required for role user: the owner it acts as"),
    roots: z
      .array(z.string().startsWith("/", "must be an absolute path"))
      .optional()
      .describe("workDirs this principal may use (on top of allowedRoots)"),
  })
  .strict()
  .refine((entry) => (entry.token === undefined) !== (entry.tokenSha256 === undefined), {
    message: "give exactly one of token and tokenSha256",
  })
  .refine((entry) => entry.role !== "user" || entry.owner !== undefined, {
    message: "a user token needs an owner",
    path: ["owner"],
  });
export type TokenEntry = z.infer<typeof TokenEntrySchema>;

export const SettingsSchema = z
  .object({
    port: z.coerce.number().int().min(0).max(65535).default(8420).describe("HTTP port"),
    host: z.string().min(1).default("127.0.0.1").describe("interface to bind; non-loopback requires token"),
    home: z.string().min(1).optional().describe("data directory (default ~/.baton)"),
    db: z
      .string()
      .min(1)
      .optional()
      .describe("SQLite file path or postgres:// URL (default <home>/baton.db)"),
    token: z
      .string()
      .min(8)
      .optional()
      .describe("admin bearer token (else Baton writes one to <home>/token on first start)"),
    tokens: z
      .array(TokenEntrySchema)
      .default([])
      .describe("more principals: [{name, token or tokenSha256, role: admin|user|viewer, owner?, roots?}]"),
    allowedHosts: z
      .array(z.string().min(1))
      .default([])
      .describe("Host names accepted besides the bound address and loopback names (DNS-rebinding guard)"),
    allowedOrigins: z
      .array(z.url())
      .default([])
      .describe("browser origins allowed to call Baton (CORS, WebSocket, state-changing requests)"),
    spawnRatePerMinute: z.coerce
      .number()
      .int()
      .min(0)
      .default(120)
      .describe("spawns one principal may make per minute (0: unlimited); 429 with Retry-After beyond"),
    sendRatePerMinute: z.coerce
      .number()
      .int()
      .min(0)
      .default(600)
      .describe("messages one principal may send per minute (0: unlimited)"),
    metricsPublic: booleanSetting
      .default(false)
      .describe("serve GET /metrics without a token (for scrapers that cannot send one)"),
    logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),

    maxConcurrent: z.coerce.number().int().min(1).default(4).describe("sessions running at once"),
    maxPerOwner: z.coerce.number().int().min(1).default(2).describe("sessions running at once per owner"),
    maxQueue: z.coerce
      .number()
      .int()
      .min(0)
      .default(100)
      .describe("queued sessions beyond which spawn is 429"),
    queueTimeoutMs: z.coerce.number().int().min(1).default(300_000).describe("queued longer than this fails"),
    keepAliveMs: z.coerce.number().int().min(0).default(600_000).describe("warm process kept after a turn"),
    warmPool: z.coerce
      .number()
      .int()
      .min(0)
      .default(1)
      .describe(
        "parked spare agent processes per distinct set of start options, claimed by new sessions (0: off)",
      ),
    memoryReserveMb: z.coerce
      .number()
      .int()
      .min(0)
      .default(512)
      .describe(
        "memory kept free for the box: a process start that would cut into it waits (waitingOn memory)",
      ),
    maxStartingProcesses: z.coerce
      .number()
      .int()
      .min(1)
      .default(4)
      .describe("agent processes starting at once (a start costs about half a CPU-second)"),
    meminfoPath: z
      .string()
      .default("/proc/meminfo")
      .describe("where memory admission reads MemAvailable (tests point it at a file they write)"),
    idleAction: z.enum(["notify", "interrupt", "fail"]).default("notify").describe("what session.idle does"),
    recoveryPolicy: z.enum(["resume", "fail"]).default("resume").describe("running sessions after a crash"),
    maxRestarts: z.coerce
      .number()
      .int()
      .min(0)
      .max(20)
      .default(2)
      .describe("restarts of a stalled or failing process in a row before it fails unhealthy (0 = never)"),
    restartBackoffMs: z.coerce
      .number()
      .int()
      .min(0)
      .default(2000)
      .describe("wait before the first restart; doubles with each further one"),
    trustWorkDirs: booleanSetting
      .default(true)
      .describe("mark each workDir trusted for the CLI so its .claude/settings.json applies"),
    stallTimeoutMs: z.coerce
      .number()
      .int()
      .min(100)
      .default(600_000)
      .describe("no sign of life this long during a model request restarts the process"),
    shutdownGraceMs: z.coerce.number().int().min(0).default(20_000).describe("time children get on shutdown"),
    nodeId: z
      .string()
      .regex(/^[\w.@-]{1,100}$/, "letters, digits, _ . @ or -")
      .optional()
      .describe(
        "this node's id in a cluster on PostgreSQL (default: hostname + a suffix kept in <home>/node-id)",
      ),
    nodeHeartbeatMs: z.coerce
      .number()
      .int()
      .min(100)
      .default(5000)
      .describe("cluster on PostgreSQL: how often a node renews its lease and adopts dead nodes' sessions"),
    nodeLeaseMs: z.coerce
      .number()
      .int()
      .min(300)
      .default(15_000)
      .describe("cluster on PostgreSQL: a node silent this long is dead; another adopts its sessions"),
    transcripts: z
      .enum(["database", "local"])
      .optional()
      .describe(
        "where agent transcripts are kept for resume: database (any node resumes any session; default on " +
          "PostgreSQL) or local files under CLAUDE_CONFIG_DIR only (default on SQLite)",
      ),
    usageLimitParkMinMs: z.coerce
      .number()
      .int()
      .min(0)
      .default(2000)
      .describe(
        "a 429 the CLI would retry sooner than this is left to the CLI; a longer wait parks the session",
      ),
    usageLimitBackoffMs: z.coerce
      .number()
      .int()
      .min(100)
      .default(60_000)
      .describe("how long a session parks at a limit the API gave no reset time for; doubles in a row"),
    usageLimitJitterMs: z.coerce
      .number()
      .int()
      .min(0)
      .default(3000)
      .describe("up to this much random extra wait before parked sessions resume after a reset"),

    defaultPermissionMode: z.enum(PERMISSION_MODES).default("acceptEdits"),
    defaultMaxBudgetUsd: z.coerce.number().positive().default(5),
    defaultMaxTurns: z.coerce.number().int().positive().default(50),
    defaultIdleTimeoutMs: z.coerce.number().int().positive().default(120_000),
    allowedRoots: z
      .array(z.string().startsWith("/", "must be an absolute path"))
      .default([])
      .describe("workDirs must lie under one of these (empty: anywhere)"),

    keyTemplates: z
      .array(
        z
          .object({
            prefix: z.string().describe("keys starting with this use the template (longest prefix wins)"),
            template: z.record(z.string(), z.unknown()).describe("a session config without prompt"),
          })
          .strict(),
      )
      .default([])
      .describe("sessions spawned for POST /keys/:key/messages when no live session holds the key"),

    sseHeartbeatMs: z.coerce
      .number()
      .int()
      .min(100)
      .default(15_000)
      .describe("an idle SSE stream gets a comment line this often, so proxies keep it open"),
    fanoutProcess: booleanSetting
      .default(false)
      .describe(
        "subscribers that may see every event are served by a second process (a second core for the bus)",
      ),
    outputDeltaMs: z.coerce
      .number()
      .int()
      .min(0)
      .default(0)
      .describe("store streamed assistant text as session.output deltas this often, e.g. 100 (0: off)"),
    retentionMaxEvents: z.coerce.number().int().min(0).default(0).describe("events kept (0: unlimited)"),
    retentionMaxAgeMs: z.coerce.number().int().min(0).default(0).describe("event age kept (0: unlimited)"),

    anthropicApiKey: z.string().min(1).optional().describe("passed to agents as ANTHROPIC_API_KEY"),
    anthropicBaseUrl: z.url().optional().describe("passed to agents as ANTHROPIC_BASE_URL"),
    claudeCodeOauthToken: z.string().min(1).optional().describe("passed as CLAUDE_CODE_OAUTH_TOKEN"),
    agentEnv: z.record(z.string(), z.string()).default({}).describe("extra environment for every agent"),
    claudeExecutable: z.string().min(1).optional().describe("path to the claude binary (default: bundled)"),
    quietAgents: booleanSetting.default(false).describe("set CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"),
    lockTimeoutMs: z.coerce
      .number()
      .int()
      .min(1)
      .default(120_000)
      .describe("a tool call waiting this long for a workspace lock is denied, naming the holder"),

    // Notifications, completion callbacks and the outbox that delivers them (docs/notifications.md).
    ...NOTIFY_SETTINGS,
  })
  .strict();

export type Settings = z.infer<typeof SettingsSchema>;
export type SettingName = keyof Settings;

/** Settings whose values are never printed. */
export const SECRET_SETTINGS: ReadonlySet<string> = new Set([
  "token",
  "tokens",
  "anthropicApiKey",
  "claudeCodeOauthToken",
  "agentEnv",
  "webhookSecrets",
  "telegramBotToken",
  "slackWebhookUrl",
  "slackBotToken",
  "slackSigningSecret",
]);
