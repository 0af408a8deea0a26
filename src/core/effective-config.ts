import { z } from "zod";
import { type BatonConfig, maskSecrets } from "./config.ts";

/**
 * The running server's configuration as `GET /config` and `baton config` show it: every setting after
 * defaults, file, env and flags (secrets masked), plus how its agents reach a model. The CLI on its own only
 * knows its own environment, which is often not the server's.
 */
export const ModelAccessSchema = z.object({
  credentials: z
    .array(z.string())
    .describe("where the agents' model credentials come from, e.g. `anthropicApiKey (setting)`"),
  baseUrl: z.string().nullable().describe("the Messages API the agents call (null: Anthropic's default)"),
  summary: z.string().describe("one line for people"),
});

export const EffectiveConfigSchema = z.object({
  settings: z
    .record(z.string(), z.unknown())
    .describe("every setting as the server resolved it, secrets ***"),
  modelAccess: ModelAccessSchema,
});

export type ModelAccess = z.infer<typeof ModelAccessSchema>;
export type EffectiveConfig = z.infer<typeof EffectiveConfigSchema>;

/** Credential variables the `claude` CLI reads, in the order it prefers them. */
const CREDENTIAL_VARIABLES = [
  "ANTHROPIC_API_KEY",
  "CLAUDE_CODE_OAUTH_TOKEN",
  "ANTHROPIC_AUTH_TOKEN",
  "CLAUDE_CODE_USE_BEDROCK",
  "CLAUDE_CODE_USE_VERTEX",
] as const;

export function describeModelAccess(config: BatonConfig, env: NodeJS.ProcessEnv = process.env): ModelAccess {
  const credentials: string[] = [];
  if (config.anthropicApiKey) credentials.push("anthropicApiKey (setting)");
  if (config.claudeCodeOauthToken) credentials.push("claudeCodeOauthToken (setting)");
  for (const name of CREDENTIAL_VARIABLES) {
    if (config.agentEnv[name]) credentials.push(`${name} (agentEnv)`);
    else if (env[name]) credentials.push(`${name} (Baton's environment)`);
  }
  const rawBaseUrl = config.anthropicBaseUrl ?? config.agentEnv.ANTHROPIC_BASE_URL ?? env.ANTHROPIC_BASE_URL;
  const baseUrl = rawBaseUrl ? rawBaseUrl.replace(/\/\/([^:@/]+):[^@]*@/, "//$1:***@") : null;
  const target = baseUrl ?? "Anthropic's API";
  const summary =
    credentials.length > 0
      ? `${credentials.join(", ")} -> ${target}`
      : `no model credentials in Baton's settings or environment -> ${target} (agents fail unless the server's user ran \`claude /login\`)`;
  return { credentials, baseUrl, summary };
}

export function effectiveConfig(config: BatonConfig, env: NodeJS.ProcessEnv = process.env): EffectiveConfig {
  return { settings: maskSecrets(config), modelAccess: describeModelAccess(config, env) };
}
