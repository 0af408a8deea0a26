import { z } from "zod";

/**
 * Every server setting, its type, default and meaning, in one schema. The config file, `BATON_*` env vars
 * and CLI flags are all parsed through it, so an unknown or invalid setting fails the same way everywhere.
 */
export const PERMISSION_MODES = ["default", "acceptEdits", "plan", "dontAsk", "bypassPermissions"] as const;

/** Env vars and flags arrive as strings; `z.coerce.boolean()` would read "false" as true. */
const booleanSetting = z.union([
  z.boolean(),
  z.enum(["true", "false", "1", "0"]).transform((value) => value === "true" || value === "1"),
]);

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
    token: z.string().min(8).optional().describe("bearer token required on every route but /health"),
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
    idleAction: z.enum(["notify", "interrupt", "fail"]).default("notify").describe("what session.idle does"),
    recoveryPolicy: z.enum(["resume", "fail"]).default("resume").describe("running sessions after a crash"),
    shutdownGraceMs: z.coerce.number().int().min(0).default(20_000).describe("time children get on shutdown"),

    defaultPermissionMode: z.enum(PERMISSION_MODES).default("acceptEdits"),
    defaultMaxBudgetUsd: z.coerce.number().positive().default(5),
    defaultMaxTurns: z.coerce.number().int().positive().default(50),
    defaultIdleTimeoutMs: z.coerce.number().int().positive().default(120_000),
    allowedRoots: z
      .array(z.string().startsWith("/", "must be an absolute path"))
      .default([])
      .describe("workDirs must lie under one of these (empty: anywhere)"),

    retentionMaxEvents: z.coerce.number().int().min(0).default(0).describe("events kept (0: unlimited)"),
    retentionMaxAgeMs: z.coerce.number().int().min(0).default(0).describe("event age kept (0: unlimited)"),

    anthropicApiKey: z.string().min(1).optional().describe("passed to agents as ANTHROPIC_API_KEY"),
    anthropicBaseUrl: z.url().optional().describe("passed to agents as ANTHROPIC_BASE_URL"),
    claudeCodeOauthToken: z.string().min(1).optional().describe("passed as CLAUDE_CODE_OAUTH_TOKEN"),
    agentEnv: z.record(z.string(), z.string()).default({}).describe("extra environment for every agent"),
    claudeExecutable: z.string().min(1).optional().describe("path to the claude binary (default: bundled)"),
    quietAgents: booleanSetting.default(false).describe("set CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"),
  })
  .strict();

export type Settings = z.infer<typeof SettingsSchema>;
export type SettingName = keyof Settings;

/** Settings whose values are never printed. */
export const SECRET_SETTINGS: ReadonlySet<string> = new Set([
  "token",
  "anthropicApiKey",
  "claudeCodeOauthToken",
  "agentEnv",
]);
