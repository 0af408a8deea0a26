import { prependPath } from "./agent-bin.ts";

/**
 * The agent child's environment, built explicitly: the SDK's `options.env` replaces the child's whole
 * environment, so anything not put here is absent. We pass Baton's own environment (minus Baton's server
 * settings, which are not the agent's business), the model credentials from config, and per-run variables.
 */
export interface AgentEnvSettings {
  anthropicApiKey?: string | undefined;
  anthropicBaseUrl?: string | undefined;
  claudeCodeOauthToken?: string | undefined;
  agentEnv: Record<string, string>;
  quietAgents: boolean;
  /** Put first on the agent's PATH: holds the `baton` shim (prepareAgentBin), so agents' shells have `baton`. */
  batonBinDir?: string | undefined;
}

const SERVER_ONLY = /^BATON_(?!URL$|SESSION_ID$)/;

export function buildAgentEnv(
  settings: AgentEnvSettings,
  runEnv: Record<string, string>,
  base: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(base)) {
    if (value !== undefined && !SERVER_ONLY.test(key)) env[key] = value;
  }
  if (settings.anthropicApiKey) env.ANTHROPIC_API_KEY = settings.anthropicApiKey;
  if (settings.anthropicBaseUrl) env.ANTHROPIC_BASE_URL = settings.anthropicBaseUrl;
  if (settings.claudeCodeOauthToken) env.CLAUDE_CODE_OAUTH_TOKEN = settings.claudeCodeOauthToken;
  // Session-state frames give a precise running / requires_action / idle signal (see agent-sdk-notes).
  env.CLAUDE_CODE_EMIT_SESSION_STATE_EVENTS = "1";
  if (settings.quietAgents) env.CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC = "1";
  Object.assign(env, settings.agentEnv, runEnv);
  if (settings.batonBinDir) env.PATH = prependPath(settings.batonBinDir, env.PATH);
  return env;
}
