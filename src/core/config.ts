import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import { SECRET_SETTINGS, type Settings, SettingsSchema } from "./settings-schema.ts";

/** Resolved configuration: settings plus the derived paths every part of Baton needs. */
export interface BatonConfig extends Settings {
  home: string;
  db: string;
}

/** Raised for any unknown or invalid setting; `baton serve` turns it into exit code 2. */
export class ConfigError extends Error {
  readonly setting: string;
  constructor(setting: string, message: string) {
    super(`invalid setting "${setting}": ${message}`);
    this.name = "ConfigError";
    this.setting = setting;
  }
}

/** `BATON_*` variables that belong to clients and agents, not to the server's settings. */
const CLIENT_ENV = new Set(["BATON_URL", "BATON_SESSION_ID", "BATON_NODE_VERSION", "BATON_CONFIG"]);

const SETTING_NAMES = Object.keys(SettingsSchema.shape);

export function envNameFor(setting: string): string {
  return `BATON_${setting.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase()}`;
}

const SETTING_BY_ENV = new Map(SETTING_NAMES.map((name) => [envNameFor(name), name]));
const OBJECT_SETTINGS = new Set([
  "allowedRoots",
  "tokens",
  "allowedHosts",
  "allowedOrigins",
  "agentEnv",
  "webhookSecrets",
  "outboundAllowlist",
  "notifyDefaults",
  "telegramChatIds",
  "telegramChatOwners",
  "keyTemplates",
]);

export interface ConfigSources {
  file?: string;
  env?: NodeJS.ProcessEnv;
  flags?: Record<string, unknown>;
}

/** Merges file, env and flags (flags beat env, env beats the file) and validates the result. */
export function loadConfig(sources: ConfigSources = {}): BatonConfig {
  const env = sources.env ?? process.env;
  const file = sources.file ?? env.BATON_CONFIG;
  const merged: Record<string, unknown> = {
    ...(file ? readConfigFile(file) : {}),
    ...settingsFromEnv(env),
    ...definedOnly(sources.flags ?? {}),
  };
  const parsed = SettingsSchema.safeParse(merged);
  if (!parsed.success) throw configErrorFrom(parsed.error);
  const settings = parsed.data;
  const home = resolve(settings.home ?? join(homedir(), ".baton"));
  const db = settings.db ?? join(home, "baton.db");
  const config: BatonConfig = {
    ...settings,
    home,
    db: isPostgresUrl(db) ? db : resolve(db),
    // A cluster's nodes share the database, not a disk: there transcripts default to the database.
    transcripts: settings.transcripts ?? (isPostgresUrl(db) ? "database" : "local"),
  };
  const hasAdminToken = config.token || config.tokens.some((entry) => entry.role === "admin");
  if (!isLoopback(config.host) && !hasAdminToken) {
    throw new ConfigError(
      "token",
      `binding ${config.host} (not loopback) requires BATON_TOKEN or an admin entry in tokens`,
    );
  }
  return config;
}

export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//.test(db);
}

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}

/** The effective configuration with secrets replaced, for `baton config` and logs. */
export function maskSecrets(config: BatonConfig): Record<string, unknown> {
  const masked: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    masked[key] = SECRET_SETTINGS.has(key) && value !== undefined ? maskValue(value) : value;
  }
  // Principals stay readable (who may do what); only their secrets are hidden.
  masked.tokens = config.tokens.map(({ token, tokenSha256, ...entry }) => ({
    ...entry,
    ...(token ? { token: "***" } : {}),
    ...(tokenSha256 ? { tokenSha256: "***" } : {}),
  }));
  if (isPostgresUrl(config.db)) masked.db = config.db.replace(/\/\/([^:@/]+):[^@]*@/, "//$1:***@");
  return masked;
}

function maskValue(value: unknown): unknown {
  if (typeof value === "string") return "***";
  if (Array.isArray(value)) return value.map(() => "***");
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.keys(value).map((key) => [key, "***"]));
  }
  return value;
}

function readConfigFile(path: string): Record<string, unknown> {
  const absolute = isAbsolute(path) ? path : resolve(path);
  let text: string;
  try {
    text = readFileSync(absolute, "utf8");
  } catch (error) {
    throw new ConfigError("config", `cannot read ${absolute}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = absolute.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ConfigError(
      "config",
      `${absolute} is not valid ${absolute.endsWith(".json") ? "JSON" : "YAML"}: ${(error as Error).message}`,
    );
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new ConfigError("config", `${absolute} must hold an object of settings`);
  }
  return value as Record<string, unknown>;
}

function settingsFromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const settings: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith("BATON_") || raw === undefined || CLIENT_ENV.has(name)) continue;
    const setting = SETTING_BY_ENV.get(name);
    if (!setting)
      throw new ConfigError(name, `unknown setting (known: ${[...SETTING_BY_ENV.keys()].join(", ")})`);
    settings[setting] = OBJECT_SETTINGS.has(setting) ? parseStructuredEnv(name, raw) : raw;
  }
  return settings;
}

/** Lists and maps in env vars: JSON, or for lists a comma-separated string. */
function parseStructuredEnv(name: string, raw: string): unknown {
  const trimmed = raw.trim();
  if (trimmed.startsWith("[") || trimmed.startsWith("{")) {
    try {
      return JSON.parse(trimmed);
    } catch {
      throw new ConfigError(name, "is not valid JSON");
    }
  }
  return trimmed === "" ? [] : trimmed.split(",").map((part) => part.trim());
}

function definedOnly(flags: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(flags).filter(([, value]) => value !== undefined));
}

function configErrorFrom(error: z.ZodError): ConfigError {
  const issue = error.issues[0];
  if (!issue) return new ConfigError("config", "invalid configuration");
  if (issue.code === "unrecognized_keys") {
    return new ConfigError(issue.keys.join(", "), "unknown setting");
  }
  const setting = issue.path.join(".") || "config";
  return new ConfigError(setting, issue.message);
}
