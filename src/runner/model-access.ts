import { existsSync } from "node:fs";
import { join } from "node:path";
import type { BatonConfig } from "../core/config.ts";
import { describeModelAccess } from "../core/effective-config.ts";
import type { Logger } from "../core/logger.ts";
import type { TurnOutcome } from "../sessions/runner-port.ts";

export const MODEL_ACCESS_HINT =
  "set ANTHROPIC_API_KEY, CLAUDE_CODE_OAUTH_TOKEN or ANTHROPIC_BASE_URL in Baton's environment or config";

/** A `claude login` credentials file in the agents' config dir also lets them reach a model. */
function hasClaudeLogin(config: BatonConfig, base: NodeJS.ProcessEnv): boolean {
  const env = { ...base, ...config.agentEnv };
  const configDir = env.CLAUDE_CONFIG_DIR || (env.HOME ? join(env.HOME, ".claude") : undefined);
  return configDir !== undefined && existsSync(join(configDir, ".credentials.json"));
}

/** One log line at start rather than a puzzling failure at the first spawn. */
export function warnIfNoModelAccess(config: BatonConfig, logger: Logger, base = process.env): void {
  const access = describeModelAccess(config, base);
  if (access.credentials.length > 0 || access.baseUrl !== null || hasClaudeLogin(config, base)) return;
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
