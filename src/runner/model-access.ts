import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../core/logger.ts";
import type { TurnOutcome } from "../sessions/runner-port.ts";
import { type AgentEnvSettings, buildAgentEnv } from "./agent-env.ts";

/** Any one of these in the agent's environment lets the CLI reach a model (directly, a proxy, or a cloud). */
const CREDENTIAL_VARIABLES = [
  "ANTHROPIC_API_KEY",
  "ANTHROPIC_AUTH_TOKEN",
  "CLAUDE_CODE_OAUTH_TOKEN",
  "ANTHROPIC_BASE_URL",
  "CLAUDE_CODE_USE_BEDROCK",
  "CLAUDE_CODE_USE_VERTEX",
];

export const MODEL_ACCESS_HINT =
  "set ANTHROPIC_API_KEY, CLAUDE_CODE_OAUTH_TOKEN or ANTHROPIC_BASE_URL in Baton's environment or config";

/**
 * How agents will reach a model: the first credential variable their environment has, or a `claude login`
 * credentials file in their config dir; undefined when there is none (every spawn would fail).
 */
export function describeModelAccess(
  settings: AgentEnvSettings,
  base: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const env = buildAgentEnv(settings, {}, base);
  const variable = CREDENTIAL_VARIABLES.find((name) => env[name]);
  if (variable) return variable;
  const configDir = env.CLAUDE_CONFIG_DIR || (env.HOME ? join(env.HOME, ".claude") : undefined);
  if (configDir && existsSync(join(configDir, ".credentials.json"))) return `claude login (${configDir})`;
  return undefined;
}

/** One log line at start rather than a puzzling failure at the first spawn. */
export function warnIfNoModelAccess(settings: AgentEnvSettings, logger: Logger): void {
  if (describeModelAccess(settings) !== undefined) return;
  logger.warn(`no model credentials configured: every session will fail to start; ${MODEL_ACCESS_HINT}`);
}

/** The CLI's "Not logged in · Please run /login" means Baton gave it no credentials: say what to set. */
export function explainLoginFailure(text: string): string {
  if (!/not logged in/i.test(text)) return text;
  return `no model credentials: ${MODEL_ACCESS_HINT} (the CLI said: ${text.trim()})`;
}

export function withLoginHint(outcome: TurnOutcome): TurnOutcome {
  return outcome.reason === "success" ? outcome : { ...outcome, text: explainLoginFailure(outcome.text) };
}
