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
import { answerLimit, type LimitClocks } from "./limit.ts";
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
  /** Extra response headers (`@header`). */
  headers?: Record<string, string>;
}

export type Answer =
  | { kind: "message"; message: ScriptedMessage }
  | { kind: "error"; status: number; errorType: string; message: string; headers?: Record<string, string> }
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
  limits: LimitClocks = new Map(),
  /** The request's `x-api-key`, or the token of its `authorization: Bearer` header. */
  credential?: string,
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
  const first = findNextStep(request.messages, instruction);
  const step = skipSpentSteps(script, first, toolKey, { hangs, limits, credential });
  const context: StepContext = {
    model,
    messageId: makeMessageId(`${conversationKey}:${instruction?.messageIndex}`, step),
    toolKey,
    step,
  };
  const limit = script.steps[step]?.action;
  if (limit?.kind === "revoked") {
    const answer: Answer = {
      kind: "error",
      status: 401,
      errorType: "authentication_error",
      message: "invalid x-api-key",
    };
    return { instruction: instruction?.text, step, answer, delayMs: 0, summary: "revoked 401" };
  }
  if (limit?.kind === "limit") {
    // Not yet reset (skipSpentSteps passed over the ones that have): a 429 with the limit's headers.
    const answer = answerLimit(limit, `${toolKey}:${step}`, limits);
    if (answer) {
      const headers = { ...answer.headers, ...script.steps[step]?.headers };
      const summary = `limit ${limit.style} ${answer.headers["retry-after"] ?? ""}`.trim();
      return { instruction: instruction?.text, step, answer: { ...answer, headers }, delayMs: 0, summary };
    }
  }
  return { instruction: instruction?.text, step, ...answerScript(script, context) };
}

/** How often each counted `@hang` step already hung, per conversation and script (kept by the server). */
export type HangCounts = Map<string, number>;

/**
 * A counted `@hang` that has hung its times, a `@limit` that has reset and a `@revoked` key the request does
 * not carry are passed over: the request gets the step after it.
 */
function skipSpentSteps(
  script: Script,
  first: number,
  toolKey: string,
  memory: { hangs: HangCounts; limits: LimitClocks; credential: string | undefined },
): number {
  const { hangs, limits } = memory;
  for (let step = first; ; step++) {
    const action = script.steps[step]?.action;
    const key = `${toolKey}:${step}`;
    if (action?.kind === "revoked") {
      if (action.credential === memory.credential) return step;
      continue;
    }
    if (action?.kind === "limit") {
      // The first request to reach the step starts its clock.
      const resetAt = limits.get(key) ?? Date.now() + action.seconds * 1000;
      limits.set(key, resetAt);
      if (Date.now() >= resetAt) continue;
      return step;
    }
    if (action?.kind !== "hang" || action.times === undefined) return step;
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
    case "error": {
      const answer = { ...action, ...(scripted.headers && { headers: scripted.headers }) };
      return { answer, delayMs, summary: `error ${action.status} ${action.errorType}` };
    }
    case "limit":
    case "revoked":
      throw new Error(`unreachable: decideAnswer answers a @${action.kind} step that applies`);
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
        ...(scripted.headers && { headers: scripted.headers }),
      };
      return { answer: { kind: "message", message }, delayMs, summary: `tool_use ${action.name}` };
    }
  }
}

function textMessage(model: string, id: string, text: string, modifiers: Modifiers): ScriptedMessage {
  const usage = modifiers.usage ?? DEFAULT_USAGE;
  const paceMs = modifiers.paceMs ?? 0;
  const headers = modifiers.headers && { headers: modifiers.headers };
  return { id, model, content: [{ type: "text", text }], stopReason: "end_turn", usage, paceMs, ...headers };
}

function delayOf(modifiers: Modifiers): number {
  return modifiers.delayMs ?? 0;
}
