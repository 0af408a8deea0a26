// Deterministic ids: the mock model must answer the same conversation the same way every time (retries,
// resumes, reruns of a test), so ids derive from the conversation instead of a clock or random source.
import { createHash } from "node:crypto";

const SCRIPTED_TOOL_ID = /^toolu_scripted_(\d+)_/;

export function hashShort(...parts: readonly unknown[]): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("hex").slice(0, 12);
}

/** The step number is stamped into the id: it is how the next request learns how far the script got. */
export function makeToolUseId(step: number, conversationKey: string): string {
  return `toolu_scripted_${step}_${hashShort("tool", step, conversationKey)}`;
}

export function readStepFromToolUseId(id: string): number | undefined {
  const digits = SCRIPTED_TOOL_ID.exec(id)?.[1];
  return digits === undefined ? undefined : Number(digits);
}

export function makeMessageId(conversationKey: string, step: number | undefined): string {
  return `msg_scripted_${hashShort("message", step ?? null, conversationKey)}`;
}
