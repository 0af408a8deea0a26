import type { CanUseTool, HookInput, HookJSONOutput, PermissionResult } from "@anthropic-ai/claude-agent-sdk";
import type { RunObserver } from "../sessions/runner-port.ts";

const BATON_TOOL_PREFIX = "mcp__baton__";

/** The SDK's PreToolUse hook answered by the session: a verdict `{deny}` refuses the call with its reason. */
export async function checkToolCallWith(
  observer: RunObserver,
  input: HookInput,
  toolUseId: string | undefined,
  signal: AbortSignal,
): Promise<HookJSONOutput> {
  if (input.hook_event_name !== "PreToolUse") return {};
  const verdict = await observer.onPreToolUse({
    toolName: input.tool_name,
    input: input.tool_input,
    toolUseId: toolUseId ?? input.tool_use_id,
    signal,
  });
  if (!verdict) return {};
  return {
    hookSpecificOutput: {
      hookEventName: "PreToolUse",
      permissionDecision: "deny",
      permissionDecisionReason: verdict.deny,
    },
  };
}

/** The SDK's canUseTool answered by the session's permission broker. */
export async function askPermissionOf(
  observer: RunObserver,
  toolName: string,
  input: Record<string, unknown>,
  context: Parameters<CanUseTool>[2],
): Promise<PermissionResult> {
  // Baton's own coordination tools never need a human (they enforce their own rules). Allowed here rather
  // than through allowedTools, which would shadow canUseTool for them (the SDK warns about that).
  if (toolName.startsWith(BATON_TOOL_PREFIX)) return { behavior: "allow", updatedInput: input };
  const decision = await observer.onPermissionRequest({
    toolName,
    input,
    toolUseId: context.toolUseID,
    suggestions: context.suggestions,
    signal: context.signal,
  });
  if (decision.behavior === "deny") return { behavior: "deny", message: decision.message };
  const result: PermissionResult = { behavior: "allow", updatedInput: decision.updatedInput ?? input };
  // "Always allow this in this session": a session-scoped rule, so the CLI stops asking for this tool.
  if (decision.alwaysAllow) {
    result.updatedPermissions = [
      { type: "addRules", rules: [{ toolName }], behavior: "allow", destination: "session" },
    ];
  }
  return result;
}
