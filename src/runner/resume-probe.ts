import { randomUUID } from "node:crypto";
import type { HookJSONOutput, SDKMessage, SDKUserMessage } from "@anthropic-ai/claude-agent-sdk";
import type { AgentFingerprint, RunObserver } from "../sessions/runner-port.ts";
import { userMessage } from "./input-queue.ts";

/**
 * Checks a resumed process before the model is asked anything. The CLI reports who it is (`system/init`:
 * session id, permission mode, cwd, model, tools) only once a user message is being processed, and then
 * calls the model at once (measured: init 180-440 ms before the request). An in-process UserPromptSubmit
 * hook runs BEFORE that init (measured: 25-105 ms earlier) and cannot wait for it: the CLI emits init only
 * after the hook returns. So a resumed run first sends a probe prompt that the hook blocks: the CLI emits
 * init, then a result with no model request (num_turns 0; the transcript gains one local system line, which
 * the CLI never sends to the model). Real input is held until the probe's result, and dropped on a mismatch.
 */
export class ResumeProbe {
  private readonly text = `[Baton resume check ${randomUUID()}]`;
  private readonly held: SDKUserMessage[] = [];
  private verdict: { mismatch: string | undefined } | undefined;
  private passed = false;
  private refused = false;

  /** True until the check passed: a refused run never gets input (the supervisor closes it). */
  get active(): boolean {
    return !this.passed;
  }

  firstMessage(): SDKUserMessage {
    return userMessage(randomUUID(), this.text);
  }

  /** The UserPromptSubmit hook: blocks the probe (and only the probe) so that no model request is made. */
  blockIfProbe(prompt: string): HookJSONOutput {
    if (prompt !== this.text) return {};
    return { decision: "block", reason: "Baton is checking the resumed session" };
  }

  /** Input arriving while the probe runs waits for its verdict. */
  hold(message: SDKUserMessage): void {
    this.held.push(message);
  }

  /**
   * Consumes the probe's messages. Returns `pass` for a message the normal mapping should handle (the
   * probe is over), `consumed` otherwise; `release` lists the held input to push now that the check passed.
   */
  handle(
    message: SDKMessage,
    observer: RunObserver,
  ): { kind: "consumed" } | { kind: "pass" } | { kind: "release"; input: SDKUserMessage[] } {
    observer.onActivity();
    if (message.type === "system" && message.subtype === "init") {
      this.verdict = { mismatch: observer.verifyResume(fingerprintOf(message)) };
      return { kind: "consumed" };
    }
    if (message.type !== "result" || this.refused) return { kind: "consumed" };
    // No init before the result: the CLI could not resume at all (e.g. the transcript is gone). The normal
    // mapping reports that error result as a failed resume.
    if (!this.verdict) {
      this.passed = true;
      return { kind: "pass" };
    }
    if (this.verdict.mismatch !== undefined) {
      this.refused = true;
      this.held.length = 0;
      observer.onTurnEnd({
        reason: "resume_mismatch",
        text: `resume_mismatch: ${this.verdict.mismatch}`,
        totalCostUsd: message.total_cost_usd ?? 0,
        turns: 0,
        messageIds: [],
      });
      return { kind: "consumed" };
    }
    this.passed = true;
    return { kind: "release", input: this.held.splice(0) };
  }
}

export function fingerprintOf(
  init: Extract<SDKMessage, { type: "system"; subtype: "init" }>,
): AgentFingerprint {
  return {
    agentSessionId: init.session_id,
    permissionMode: init.permissionMode,
    cwd: init.cwd,
    model: init.model,
    tools: [...init.tools].sort(),
  };
}
