import type { ModelUsage, SDKResultMessage } from "@anthropic-ai/claude-agent-sdk";
import type { ModelUsageDelta } from "../sessions/runner-port.ts";

/**
 * This turn's tokens and cost per model, from one SDK result. `modelUsage` is cumulative over the query
 * (carried across resume), so the CLI's `model_usage_since_last_result` (the per-turn delta, not in the SDK's
 * types) is preferred; without it the delta is taken against the previous result of the same process.
 */
export function turnUsage(
  result: SDKResultMessage,
  previous: Record<string, ModelUsage> | undefined,
): ModelUsageDelta[] {
  const sinceLast = (result as { model_usage_since_last_result?: Record<string, ModelUsage> })
    .model_usage_since_last_result;
  const cumulative = result.modelUsage ?? {};
  const perModel = sinceLast ?? subtract(cumulative, previous ?? {});
  return Object.entries(perModel)
    .map(([model, usage]) => ({
      model,
      inputTokens: usage.inputTokens ?? 0,
      outputTokens: usage.outputTokens ?? 0,
      cacheReadTokens: usage.cacheReadInputTokens ?? 0,
      cacheWriteTokens: usage.cacheCreationInputTokens ?? 0,
      costUsd: usage.costUSD ?? 0,
    }))
    .filter((usage) => usage.inputTokens + usage.outputTokens + usage.costUsd > 0);
}

function subtract(
  now: Record<string, ModelUsage>,
  before: Record<string, ModelUsage>,
): Record<string, ModelUsage> {
  const delta: Record<string, ModelUsage> = {};
  for (const [model, usage] of Object.entries(now)) {
    const old = before[model];
    delta[model] = old
      ? {
          ...usage,
          inputTokens: usage.inputTokens - old.inputTokens,
          outputTokens: usage.outputTokens - old.outputTokens,
          cacheReadInputTokens: usage.cacheReadInputTokens - old.cacheReadInputTokens,
          cacheCreationInputTokens: usage.cacheCreationInputTokens - old.cacheCreationInputTokens,
          costUSD: usage.costUSD - old.costUSD,
        }
      : usage;
  }
  return delta;
}
