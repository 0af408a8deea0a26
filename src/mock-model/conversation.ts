// Reading a Messages API request the way the mock model needs it: where the latest human instruction is,
// how many scripted steps the assistant already took after it, and the session's working directory.
import { isAbsolute } from "node:path";
import { z } from "zod";
import { readStepFromToolUseId } from "./ids.ts";

const contentBlockSchema = z.looseObject({
  type: z.string(),
  text: z.string().optional(),
  id: z.string().optional(),
});

const messageSchema = z.looseObject({
  role: z.string(),
  content: z.union([z.string(), z.array(contentBlockSchema)]),
});

// Loose on purpose: the CLI sends many more keys (thinking, context_management, …) that we ignore.
export const messagesRequestSchema = z.looseObject({
  model: z.string().optional(),
  messages: z.array(messageSchema),
  system: z
    .union([z.string(), z.array(z.looseObject({ type: z.string(), text: z.string().optional() }))])
    .optional(),
  tools: z.array(z.unknown()).optional(),
  stream: z.boolean().optional(),
});

export type MessagesRequest = z.infer<typeof messagesRequestSchema>;
type Message = MessagesRequest["messages"][number];

/** How the CLI delivers a message the user sent while a turn was running (inside that turn). */
export const MID_TURN_PREFIX = "The user sent a new message while you were working:";
/** CLI 2.1 appends this explanation after the human's words; it is not part of the instruction. */
const MID_TURN_TRAILER = "\n\nThis is how Claude Code surfaces messages";
const SYSTEM_REMINDER_PREFIX = "<system-reminder>";

export interface Instruction {
  text: string;
  /** Index in `messages` of the message that carried the instruction. */
  messageIndex: number;
}

/**
 * Baton's own notes when it resumes a session whose turn was cut short: by a Baton restart (RESTART_NOTE in
 * src/sessions/run-recovery.ts) or by a usage limit that has reset (src/sessions/credential-limits.ts).
 * They ask the agent to carry on, so the script they interrupted goes on.
 */
const BATON_NOTE_PREFIX = "[Baton note:";
const DIRECTIVE_LINE = /^\s*@/m;

export function findInstruction(messages: readonly Message[]): Instruction | undefined {
  for (let index = messages.length - 1; index >= 0; index--) {
    const message = messages[index];
    if (message === undefined) continue;
    const text = readInstructionText(message);
    if (text === undefined || isRestartNote(text)) continue;
    return { text, messageIndex: index };
  }
  return undefined;
}

/** A Baton note without directives of its own: not a new script, the interrupted one continues. */
function isRestartNote(text: string): boolean {
  return text.trimStart().startsWith(BATON_NOTE_PREFIX) && !DIRECTIVE_LINE.test(text);
}

function readInstructionText(message: Message): string | undefined {
  const texts = textsOf(message);
  if (message.role === "user") {
    // Tool results and <system-reminder> blocks are the CLI talking, not the human.
    const human = texts.filter((text) => !text.trimStart().startsWith(SYSTEM_REMINDER_PREFIX));
    return human.length > 0 ? human.join("\n") : undefined;
  }
  if (message.role === "system") {
    const midTurn = texts.find((text) => text.trimStart().startsWith(MID_TURN_PREFIX));
    if (midTurn === undefined) return undefined;
    const words = midTurn.trimStart().slice(MID_TURN_PREFIX.length);
    const trailer = words.indexOf(MID_TURN_TRAILER);
    return (trailer === -1 ? words : words.slice(0, trailer)).trim();
  }
  return undefined;
}

function textsOf(message: Message): string[] {
  if (typeof message.content === "string") return [message.content];
  return message.content.flatMap((block) =>
    block.type === "text" && block.text !== undefined ? [block.text] : [],
  );
}

/** The next step to answer: one past the highest step stamped in tool_use ids after the instruction. */
export function findNextStep(messages: readonly Message[], instruction: Instruction | undefined): number {
  const start = instruction === undefined ? 0 : instruction.messageIndex + 1;
  let next = 0;
  for (const message of messages.slice(start)) {
    if (message.role !== "assistant" || typeof message.content === "string") continue;
    for (const block of message.content) {
      if (block.type !== "tool_use" || block.id === undefined) continue;
      const step = readStepFromToolUseId(block.id);
      if (step !== undefined) next = Math.max(next, step + 1);
    }
  }
  return next;
}

const WORKING_DIRECTORY_LINE = /(?:Primary working directory|Working directory):\s*(\S[^\n]*)/;

/**
 * The CLI states the cwd in its environment block: a `role: "system"` message (CLI 2.1) or the system
 * prompt. User messages are not searched, so a human instruction cannot redirect `@write`.
 */
export function findWorkingDirectory(request: MessagesRequest): string | undefined {
  const systemTexts =
    typeof request.system === "string" ? [request.system] : (request.system ?? []).map((b) => b.text ?? "");
  const messageTexts = request.messages.filter((m) => m.role === "system").flatMap(textsOf);
  for (const text of [...messageTexts, ...systemTexts]) {
    const cwd = WORKING_DIRECTORY_LINE.exec(text)?.[1]?.trim();
    if (cwd !== undefined && isAbsolute(cwd)) return cwd;
  }
  return undefined;
}

/** Side requests without tools (session title generation) get a small fixed answer, not the script. */
export function isToolLessRequest(request: MessagesRequest): boolean {
  return request.tools === undefined || request.tools.length === 0;
}
