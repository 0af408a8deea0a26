import type { ModelUsage, SDKMessage, SDKResultMessage } from "@anthropic-ai/claude-agent-sdk";
import {
  INTERRUPTED_RESULT,
  type RunObserver,
  type TurnEndReason,
  type TurnOutcome,
} from "../sessions/runner-port.ts";
import { type LimitState, readMidTurnLimit, readResultLimit } from "./limit-signals.ts";
import { turnUsage } from "./turn-usage.ts";

const MAX_TOOL_INPUT_CHARS = 4000;
const MAX_SUMMARY_CHARS = 300;

/** Routes one SDK message to the observer. Returns the turn outcome when the message ends a turn. */
export function mapSdkMessage(
  message: SDKMessage,
  observer: RunObserver,
  state: {
    interruptRequested: boolean;
    lastModelMessageId: string | undefined;
    /** The model message the streamed pieces belong to (from its message_start). */
    streamMessageId: string | undefined;
    /** The cumulative per-model usage of the previous result (see turnUsage). */
    modelUsage?: Record<string, ModelUsage> | undefined;
    /** Rate-limit facts seen during the turn (limit-signals.ts). */
    limits?: LimitState;
  },
): TurnOutcome | undefined {
  observer.onActivity();
  state.limits ??= {};
  const midTurnLimit = readMidTurnLimit(message, state.limits);
  if (midTurnLimit) observer.onModelLimit?.(midTurnLimit);
  if (message.type === "system" && message.subtype === "background_tasks_changed") {
    // A level signal (replace, do not pair edges). Only subagents count: a background shell (a dev server)
    // may run for the life of the process and is not work the turn is waiting for.
    const subagents = message.tasks.filter((task) => task.task_type === "local_agent" && !task.ambient);
    observer.onBackgroundSubagents(subagents.length);
    return undefined;
  }
  if (message.type === "system" && message.subtype === "mirror_error") {
    observer.onTranscriptMirrorError?.(message.error);
    return undefined;
  }
  if (message.type === "stream_event") {
    const { event } = message;
    if (event.type === "message_start") state.streamMessageId = event.message.id;
    else if (event.type === "content_block_delta" && event.delta.type === "text_delta" && event.delta.text) {
      const parentToolUseId = message.parent_tool_use_id ?? undefined;
      observer.onOutputDelta({
        text: event.delta.text,
        messageId: state.streamMessageId ?? "",
        ...(parentToolUseId && { parentToolUseId }),
      });
    }
    return undefined;
  }
  if (message.type === "assistant") {
    const parentToolUseId = message.parent_tool_use_id ?? undefined;
    // The SDK emits one message per content block; blocks of one model response share message.id.
    if (!parentToolUseId && message.message.id !== state.lastModelMessageId) {
      state.lastModelMessageId = message.message.id;
      observer.onModelTurn();
    }
    for (const block of message.message.content) {
      if (block.type === "text" && block.text.length > 0) {
        const messageId = message.message.id;
        observer.onOutput({ text: block.text, messageId, ...(parentToolUseId && { parentToolUseId }) });
      } else if (block.type === "tool_use") {
        const { input, truncated } = truncateInput(block.input);
        observer.onToolUse({
          toolUseId: block.id,
          name: block.name,
          input,
          truncated,
          ...(parentToolUseId && { parentToolUseId }),
        });
      }
    }
    return undefined;
  }
  if (message.type === "user" && Array.isArray(message.message.content)) {
    const parentToolUseId = message.parent_tool_use_id ?? undefined;
    for (const block of message.message.content) {
      if (typeof block === "object" && block.type === "tool_result") {
        observer.onToolDone({
          toolUseId: block.tool_use_id,
          isError: block.is_error === true,
          summary: summarise(block.content),
          ...(parentToolUseId && { parentToolUseId }),
        });
      }
    }
    return undefined;
  }
  if (message.type === "result") {
    const usage = turnUsage(message, state.modelUsage);
    state.modelUsage = message.modelUsage;
    const limit = readResultLimit(message, state.limits);
    state.limits = {};
    return { ...toOutcome(message, state.interruptRequested), usage, ...(limit && { limit }) };
  }
  return undefined;
}

function toOutcome(result: SDKResultMessage, interruptRequested: boolean): TurnOutcome {
  const base = {
    totalCostUsd: result.total_cost_usd ?? 0,
    turns: result.num_turns ?? 0,
    messageIds: result.user_message_uuids ?? (result.user_message_uuid ? [result.user_message_uuid] : []),
  };
  if (result.subtype === "success") {
    if (!result.is_error) return { ...base, reason: "success", text: result.result };
    // API failures arrive as "success" with is_error; the text is the API's error message.
    const reason: TurnEndReason = result.terminal_reason === "api_error" ? "api_error" : "error";
    return { ...base, reason, text: result.result || "the model call failed" };
  }
  const errors = result.errors.join("; ");
  switch (result.subtype) {
    case "error_max_turns":
      return { ...base, reason: "max_turns", text: errors || "turn limit reached" };
    case "error_max_budget_usd":
      return { ...base, reason: "max_budget", text: errors || "budget limit reached" };
    default:
      // An interrupted turn ends as error_during_execution with the CLI's internal diagnostic
      // ("[ede_diagnostic] result_type=user ...") as its error: that says nothing to a user.
      if (interruptRequested) return { ...base, reason: "interrupted", text: INTERRUPTED_RESULT };
      return { ...base, reason: "error", text: errors || result.subtype };
  }
}

function truncateInput(input: unknown): { input: unknown; truncated: boolean } {
  const json = JSON.stringify(input ?? null);
  if (json.length <= MAX_TOOL_INPUT_CHARS) return { input, truncated: false };
  return { input: `${json.slice(0, MAX_TOOL_INPUT_CHARS)}…`, truncated: true };
}

function summarise(content: unknown): string {
  const text =
    typeof content === "string"
      ? content
      : Array.isArray(content)
        ? content
            .map((part: unknown) =>
              part && typeof part === "object" && "text" in part ? String(part.text) : "",
            )
            .join(" ")
        : "";
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > MAX_SUMMARY_CHARS ? `${flat.slice(0, MAX_SUMMARY_CHARS)}…` : flat;
}
