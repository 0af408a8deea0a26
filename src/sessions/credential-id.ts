import { createHash } from "node:crypto";

/** The model credentials an agent is started with, from config and environment (see agent-env.ts). */
export interface ModelCredentials {
  anthropicApiKey?: string | undefined;
  claudeCodeOauthToken?: string | undefined;
  anthropicBaseUrl?: string | undefined;
  agentEnv: Record<string, string>;
}

export function modelCredentialsOf(config: ModelCredentials): ModelCredentials {
  const { anthropicApiKey, claudeCodeOauthToken, anthropicBaseUrl, agentEnv } = config;
  return { anthropicApiKey, claudeCodeOauthToken, anthropicBaseUrl, agentEnv };
}

/**
 * A short stable name for the credential agents use (never the secret itself): limits are per credential,
 * and a new one in the configuration frees what the old one's limit parked. Resolved as agent-env.ts
 * builds the child's environment: config over Baton's environment, `agentEnv` over both.
 */
export function credentialId(credentials: ModelCredentials, base: NodeJS.ProcessEnv = process.env): string {
  const env = credentials.agentEnv;
  const pick = (name: string, configured: string | undefined) => env[name] ?? configured ?? base[name] ?? "";
  const material = [
    pick("ANTHROPIC_API_KEY", credentials.anthropicApiKey),
    pick("CLAUDE_CODE_OAUTH_TOKEN", credentials.claudeCodeOauthToken),
    pick("ANTHROPIC_BASE_URL", credentials.anthropicBaseUrl),
  ].join("\n");
  return `cred_${createHash("sha256").update(material).digest("hex").slice(0, 16)}`;
}
