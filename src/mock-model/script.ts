// The script language of the mock model: lines of the latest human message that start with `@`.
// Glossary:
//   step      - one directive that decides one model response (@bash, @write, @tool, @say, @error, @hang,
//               @limit, @revoked)
//   modifier  - a directive that shapes the NEXT step only (@delay, @pace, @usage, @header); trailing modifiers shape the
//               final "Done." answer given once the steps are used up
import { isAbsolute, resolve } from "node:path";

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
}

export type StepAction =
  | { kind: "tool_use"; name: string; input: Record<string, unknown> }
  | { kind: "say"; text: string }
  | { kind: "error"; status: number; errorType: string; message: string }
  /** `times`: only the first that many requests reaching this step hang; later ones take the next step. */
  | { kind: "hang"; times?: number }
  /**
   * 429 until `seconds` after the first request reached this step, then the next step (limit.ts). `rate`:
   * an API rate limit (`retry-after`, `anthropic-ratelimit-requests-*`); `usage`: a subscription usage limit
   * (`anthropic-ratelimit-unified-*`, which the CLI reports only when it runs on an OAuth token).
   */
  | { kind: "limit"; seconds: number; style: "rate" | "usage" }
  /** 401 while the request carries this API key or OAuth token (a revoked key); other credentials pass. */
  | { kind: "revoked"; credential: string };

export interface Modifiers {
  delayMs?: number;
  /** Milliseconds between the streamed pieces of the answer (token streaming you can watch). */
  paceMs?: number;
  usage?: TokenUsage;
  /** Extra response headers (`@header`), e.g. `retry-after` on a scripted `@error 429`. */
  headers?: Record<string, string>;
}

export interface ScriptStep extends Modifiers {
  action: StepAction;
}

export interface Script {
  steps: ScriptStep[];
  /** Modifiers written after the last step: they apply to the final "Done." answer. */
  finalModifiers: Modifiers;
  /** One entry per bad directive line; a script with problems answers with a "Script error" text. */
  problems: string[];
}

export interface ScriptContext {
  /** The session's working directory, used to make relative `@write` paths absolute. */
  cwd?: string;
}

export const DEFAULT_USAGE: TokenUsage = Object.freeze({ inputTokens: 100, outputTokens: 20 });

const DEFAULT_ERROR_TYPES: Readonly<Record<number, string>> = Object.freeze({
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  529: "overloaded_error",
});

type LineResult = { step: StepAction } | { modifiers: Modifiers } | { problem: string };

export function parseScript(instruction: string, context: ScriptContext = {}): Script {
  const script: Script = { steps: [], finalModifiers: {}, problems: [] };
  let pending: Modifiers = {};
  instruction.split(/\r?\n/).forEach((rawLine, index) => {
    const line = rawLine.trim();
    if (!line.startsWith("@")) return;
    const result = parseDirectiveLine(line, context);
    if ("problem" in result) {
      script.problems.push(`line ${index + 1}: ${result.problem}`);
    } else if ("modifiers" in result) {
      const headers = { ...pending.headers, ...result.modifiers.headers };
      pending = { ...pending, ...result.modifiers, ...(Object.keys(headers).length > 0 && { headers }) };
    } else {
      script.steps.push({ ...pending, action: result.step });
      pending = {};
    }
  });
  script.finalModifiers = pending;
  return script;
}

/** Splits "@name rest of line" into its name and the rest (trimmed). */
function splitDirective(line: string): { name: string; rest: string } {
  const match = /^@(\S*)\s*(.*)$/s.exec(line);
  return { name: match?.[1] ?? "", rest: (match?.[2] ?? "").trim() };
}

function parseDirectiveLine(line: string, context: ScriptContext): LineResult {
  const { name, rest } = splitDirective(line);
  switch (name) {
    case "bash":
      if (rest === "") return { problem: "@bash needs a command" };
      return {
        step: { kind: "tool_use", name: "Bash", input: { command: rest, description: "scripted step" } },
      };
    case "write":
      return parseWrite(rest, context);
    case "tool":
      return parseTool(rest);
    case "say":
      // The API rejects empty text blocks when the history is sent back, so an empty @say is a mistake.
      if (rest === "") return { problem: "@say needs a text" };
      return { step: { kind: "say", text: rest } };
    case "error":
      return parseError(rest);
    case "hang":
      return parseHang(rest);
    case "limit":
      return parseLimit(rest);
    case "header":
      return parseHeader(rest);
    case "revoked":
      if (rest === "" || /\s/.test(rest))
        return { problem: `@revoked needs one API key or token, got "${rest}"` };
      return { step: { kind: "revoked", credential: rest } };
    case "delay":
      return parseDelay(rest);
    case "pace":
      return parsePace(rest);
    case "usage":
      return parseUsage(rest);
    default:
      return { problem: `unknown directive @${name}` };
  }
}

function parseWrite(rest: string, context: ScriptContext): LineResult {
  const match = /^(\S+)\s*(.*)$/s.exec(rest);
  const path = match?.[1];
  if (path === undefined) return { problem: "@write needs a path" };
  const content = (match?.[2] ?? "").replaceAll("\\n", "\n");
  const filePath = isAbsolute(path) || context.cwd === undefined ? path : resolve(context.cwd, path);
  return { step: { kind: "tool_use", name: "Write", input: { file_path: filePath, content } } };
}

function parseTool(rest: string): LineResult {
  const match = /^(\S+)\s*(.*)$/s.exec(rest);
  const name = match?.[1];
  if (name === undefined) return { problem: "@tool needs a tool name and a JSON object" };
  const json = match?.[2] || "{}";
  let input: unknown;
  try {
    input = JSON.parse(json);
  } catch (error) {
    return { problem: `@tool ${name}: input is not valid JSON (${(error as Error).message})` };
  }
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return { problem: `@tool ${name}: input must be a JSON object` };
  }
  return { step: { kind: "tool_use", name, input: input as Record<string, unknown> } };
}

function parseError(rest: string): LineResult {
  const [statusText = "", errorType, ...messageWords] = rest.split(/\s+/);
  const status = parseWholeNumber(statusText);
  if (status === undefined || status < 400 || status > 599) {
    return { problem: `@error needs an HTTP status from 400 to 599, got "${statusText}"` };
  }
  const fallbackType = DEFAULT_ERROR_TYPES[status] ?? (status < 500 ? "invalid_request_error" : "api_error");
  const message = messageWords.join(" ") || `Scripted error ${status}`;
  return { step: { kind: "error", status, errorType: errorType || fallbackType, message } };
}

function parseHang(rest: string): LineResult {
  if (rest === "") return { step: { kind: "hang" } };
  const times = parseWholeNumber(rest);
  if (times === undefined || times < 1)
    return { problem: `@hang takes a count of at least 1, got "${rest}"` };
  return { step: { kind: "hang", times } };
}

function parseLimit(rest: string): LineResult {
  const [secondsText = "", style = "rate", ...extra] = rest.split(/\s+/);
  const seconds = parseWholeNumber(secondsText);
  if (seconds === undefined || (style !== "rate" && style !== "usage") || extra.length > 0)
    return { problem: `@limit needs seconds and optionally "rate" or "usage", got "${rest}"` };
  return { step: { kind: "limit", seconds, style } };
}

function parseHeader(rest: string): LineResult {
  const match = /^([A-Za-z0-9-]+)\s+(.+)$/.exec(rest);
  if (!match?.[1] || !match[2]) return { problem: `@header needs a name and a value, got "${rest}"` };
  return { modifiers: { headers: { [match[1].toLowerCase()]: match[2] } } };
}

function parseDelay(rest: string): LineResult {
  const delayMs = parseWholeNumber(rest);
  if (delayMs === undefined) return { problem: `@delay needs milliseconds, got "${rest}"` };
  return { modifiers: { delayMs } };
}

function parsePace(rest: string): LineResult {
  const paceMs = parseWholeNumber(rest);
  if (paceMs === undefined) return { problem: `@pace needs milliseconds, got "${rest}"` };
  return { modifiers: { paceMs } };
}

function parseUsage(rest: string): LineResult {
  const [inputText = "", outputText = "", ...extra] = rest.split(/\s+/);
  const inputTokens = parseWholeNumber(inputText);
  const outputTokens = parseWholeNumber(outputText);
  if (inputTokens === undefined || outputTokens === undefined || extra.length > 0) {
    return { problem: `@usage needs two token counts (input output), got "${rest}"` };
  }
  return { modifiers: { usage: { inputTokens, outputTokens } } };
}

function parseWholeNumber(text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}
