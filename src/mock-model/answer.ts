// Decides what the mock model answers to one Messages request. Pure but for `@hang <n>`: the answer depends
// only on the request (and, for a counted hang, on how often that step already hung), so a retried or
// resumed conversation gets the same answer again.
import {
  findInstruction,
  findNextStep,
  findWorkingDirectory,
  isToolLessRequest,
  type MessagesRequest,
} from "./conversation.ts";
import { hashShort, makeMessageId, makeToolUseId } from "./ids.ts";
import { DEFAULT_USAGE, type Modifiers, parseScript, type Script, type TokenUsage } from "./script.ts";

export type ContentBlock =
  | { type: "text"; text: string }
  | { type: "tool_use"; id: string; name: string; input: Record<string, unknown> };

export interface ScriptedMessage {
  id: string;
  model: string;
  content: ContentBlock[];
  stopReason: "end_turn" | "tool_use";
  usage: TokenUsage;
  /** Milliseconds between streamed pieces (`@pace`); 0 sends them back to back. */
  paceMs: number;
}

export type Answer =
  | { kind: "message"; message: ScriptedMessage }
  | { kind: "error"; status: number; errorType: string; message: string }
  | { kind: "hang" };

export interface Decision {
  answer: Answer;
  delayMs: number;
  instruction?: string;
  /** Index of the script step answered; equals the number of steps when the script is used up. */
  step?: number;
  /** Short description for the request log, e.g. "tool_use Bash" or "error 500". */
  summary: string;
}

export const TITLE_ANSWER = '{"title":"Scripted session"}';
export const DONE_ANSWER = "Done.";
const FALLBACK_MODEL = "claude-scripted";

interface StepContext {
  model: string;
  messageId: string;
  /** Stamped into tool ids with the step; keeps them unique across sessions and turns. */
  toolKey: string;
  step: number;
}

/**
 * `sessionId` (the CLI's `x-claude-code-session-id`) goes into every id so two sessions given the same
 * prompt do not share message or tool ids, which a session manager may key its records on.
 */
export function decideAnswer(
  request: MessagesRequest,
  sessionId?: string,
  hangs: HangCounts = new Map(),
): Decision {
  const model = request.model ?? FALLBACK_MODEL;
  const conversationKey = hashShort(sessionId ?? null, request.messages.length, request.messages[0]);
  if (isToolLessRequest(request)) {
    const message = textMessage(model, makeMessageId(conversationKey, undefined), TITLE_ANSWER, {});
    return { answer: { kind: "message", message }, delayMs: 0, summary: "title" };
  }
  const instruction = findInstruction(request.messages);
  const toolKey = `${sessionId}:${instruction?.messageIndex}:${instruction?.text}`;
  const script = parseScript(instruction?.text ?? "", { cwd: findWorkingDirectory(request) });
  const step = skipSpentHangs(script, findNextStep(request.messages, instruction), toolKey, hangs);
  const context: StepContext = {
    model,
    messageId: makeMessageId(`${conversationKey}:${instruction?.messageIndex}`, step),
    toolKey,
    step,
  };
  return { instruction: instruction?.text, step, ...answerScript(script, context) };
}

/** How often each counted `@hang` step already hung, per conversation and script (kept by the server). */
export type HangCounts = Map<string, number>;

/** A counted `@hang` that has hung its times is passed over: the request gets the step after it. */
function skipSpentHangs(script: Script, first: number, toolKey: string, hangs: HangCounts): number {
  for (let step = first; ; step++) {
    const action = script.steps[step]?.action;
    if (action?.kind !== "hang" || action.times === undefined) return step;
    const key = `${toolKey}:${step}`;
    const hung = hangs.get(key) ?? 0;
    if (hung < action.times) {
      hangs.set(key, hung + 1);
      return step;
    }
  }
}

function answerScript(script: Script, context: StepContext): Omit<Decision, "instruction" | "step"> {
  const { model, messageId, step } = context;
  if (script.problems.length > 0) {
    const message = textMessage(model, messageId, `Script error: ${script.problems.join("; ")}`, {});
    return { answer: { kind: "message", message }, delayMs: 0, summary: "script error" };
  }
  const scripted = script.steps[step];
  if (scripted === undefined) {
    const message = textMessage(model, messageId, DONE_ANSWER, script.finalModifiers);
    return { answer: { kind: "message", message }, delayMs: delayOf(script.finalModifiers), summary: "done" };
  }
  const delayMs = delayOf(scripted);
  const action = scripted.action;
  switch (action.kind) {
    case "say": {
      const message = textMessage(model, messageId, action.text, scripted);
      return { answer: { kind: "message", message }, delayMs, summary: "say" };
    }
    case "error":
      return { answer: action, delayMs, summary: `error ${action.status} ${action.errorType}` };
    case "hang":
      return { answer: action, delayMs, summary: "hang" };
    case "tool_use": {
      const message: ScriptedMessage = {
        id: messageId,
        model,
        content: [
          {
            type: "tool_use",
            id: makeToolUseId(step, context.toolKey),
            name: action.name,
            input: action.input,
          },
        ],
        stopReason: "tool_use",
        usage: scripted.usage ?? DEFAULT_USAGE,
        paceMs: scripted.paceMs ?? 0,
      };
      return { answer: { kind: "message", message }, delayMs, summary: `tool_use ${action.name}` };
    }
  }
}

function textMessage(model: string, id: string, text: string, modifiers: Modifiers): ScriptedMessage {
  const usage = modifiers.usage ?? DEFAULT_USAGE;
  const paceMs = modifiers.paceMs ?? 0;
  return { id, model, content: [{ type: "text", text }], stopReason: "end_turn", usage, paceMs };
}

function delayOf(modifiers: Modifiers): number {
  return modifiers.delayMs ?? 0;
}
