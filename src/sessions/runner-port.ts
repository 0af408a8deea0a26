import type { ZodRawShape } from "zod";
import type { ModelLimit } from "./model-limit.ts";
import type { SessionConfig } from "./session-schema.ts";

/**
 * A tool Baton gives every agent, served to it as the in-process MCP server "baton" (tool names reach the
 * model as `mcp__baton__<name>`). The same definitions are served to external MCP clients.
 */
export interface AgentTool {
  name: string;
  description: string;
  inputShape: ZodRawShape;
  handler(args: Record<string, unknown>): Promise<{ text: string; isError?: boolean }>;
}

/** A tool call about to run (PreToolUse): the domain may delay it (e.g. wait for a file lock) or deny it. */
export interface ToolCallCheck {
  toolName: string;
  input: unknown;
  toolUseId: string;
  signal: AbortSignal;
}

/**
 * The port between the session domain and whatever runs an agent. The domain owns this interface; the
 * Agent SDK adapter (runner/sdk-runner.ts) implements it. Nothing in `sessions/` imports the SDK.
 */
export interface RunSpec {
  sessionId: string;
  /** The SDK's conversation id: chosen up front for a new conversation, or the one to resume. */
  agentSessionId: string;
  resume: boolean;
  config: SessionConfig;
  /** What is left of the session's budget and turns: limits are per conversation, not per process. */
  maxBudgetUsd: number;
  maxTurns: number;
  /** Extra environment for the agent (BATON_URL, BATON_SESSION_ID, ...), on top of the runner's own. */
  env: Record<string, string>;
  /** Baton's coordination tools for this session. */
  tools: AgentTool[];
}

export interface InputMessage {
  /** Becomes the SDK input `uuid`, so results can be correlated with the sends they answer. */
  id: string;
  text: string;
}

/** The result an interrupted turn is recorded with (never the CLI's own diagnostic text). */
export const INTERRUPTED_RESULT = "interrupted";

export type TurnEndReason =
  | "success"
  | "interrupted"
  | "max_turns"
  | "max_budget"
  | "api_error"
  | "error"
  /** A resumed process is not the agent Baton stored (see resume-check.ts); the model was not asked. */
  | "resume_mismatch";

/** Who the agent process says it is when a turn starts (the SDK's `system/init` message). */
export interface AgentFingerprint {
  agentSessionId: string;
  permissionMode: string;
  cwd: string;
  model: string;
  /** Sorted tool names. */
  tools: string[];
}

/** One model's tokens and cost in one turn. */
export interface ModelUsageDelta {
  model: string;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  costUsd: number;
}

export interface TurnOutcome {
  reason: TurnEndReason;
  /** The turn's final text (success) or the readable error. */
  text: string;
  /** The conversation's total cost: the SDK reports it cumulatively, carried across resume (measured). */
  totalCostUsd: number;
  /** Model requests in this turn alone (the SDK's `num_turns` is per turn, not cumulative). */
  turns: number;
  messageIds: string[];
  /** This turn's usage per model (absent when the runner cannot tell). */
  usage?: ModelUsageDelta[];
  /** The turn ended on a usage/rate limit or a refused credential (credential-limits.ts parks it). */
  limit?: ModelLimit;
}

export interface ProcessInfo {
  pid: number;
  /** Kernel start time of the process, so a recycled pid is never mistaken for our child. */
  startTime: string | undefined;
}

/** A tool call the CLI will not run without a decision (the SDK's canUseTool). */
export interface PermissionAsk {
  toolName: string;
  input: Record<string, unknown>;
  toolUseId: string;
  suggestions: unknown[] | undefined;
  /** Aborts when the turn is interrupted: the question is moot. */
  signal: AbortSignal;
}

export type PermissionDecision =
  | {
      behavior: "allow";
      updatedInput?: Record<string, unknown> | undefined;
      alwaysAllow?: boolean | undefined;
    }
  | { behavior: "deny"; message: string };

export interface OutputDelta {
  text: string;
  /** The model message it belongs to; its complete text arrives later as onOutput with the same id. */
  messageId: string;
  parentToolUseId?: string;
}

export interface RunObserver {
  /** Before any tool runs; resolving `{deny}` refuses the call with that reason (the model reads it). */
  onPreToolUse(call: ToolCallCheck): Promise<{ deny: string } | undefined>;
  /** Resolves when someone with authority answers (or a timeout denies); the tool waits meanwhile. */
  onPermissionRequest(ask: PermissionAsk): Promise<PermissionDecision>;
  onSpawned(info: ProcessInfo): void;
  /** A turn of a new (not resumed) conversation started; the first one is the conversation's fingerprint. */
  onInit(fingerprint: AgentFingerprint): void;
  /**
   * A resumed process reported who it is, before any input reached the model. Returns a mismatch (one line
   * naming the field) to refuse it: the runner then ends the turn as `resume_mismatch` and sends nothing.
   */
  verifyResume(fingerprint: AgentFingerprint): string | undefined;
  /** `parentToolUseId`: the call was made inside a subagent, started by that tool call (Agent/Task). */
  onToolUse(event: {
    toolUseId: string;
    name: string;
    input: unknown;
    truncated: boolean;
    parentToolUseId?: string;
  }): void;
  onToolDone(event: { toolUseId: string; isError: boolean; summary: string; parentToolUseId?: string }): void;
  /** How many subagents run in the background now (the CLI reports the set whenever it changes). */
  onBackgroundSubagents(count: number): void;
  /** A complete text block of a model message. */
  onOutput(event: { text: string; messageId: string; parentToolUseId?: string }): void;
  /** A streamed piece of a text block, ahead of its onOutput (only when the runner streams). */
  onOutputDelta(event: OutputDelta): void;
  /** A new top-level model response began (one "turn" in the SDK's counting). */
  onModelTurn(): void;
  /** Any sign of life from the agent (messages, tool progress, heartbeats): resets the idle watchdog. */
  onActivity(): void;
  onTurnEnd(outcome: TurnOutcome): void;
  /** The model API refused a request mid-turn for a limit or the credential; the CLI may be retrying. */
  onModelLimit?(limit: ModelLimit): void;
  /** Transcript lines the transcript store refused (after the SDK's retries): a resume from it lacks them. */
  onTranscriptMirrorError?(error: string): void;
  /** The run is over: `expected` when Baton closed it; otherwise the process died under us. */
  onExit(info: { expected: boolean; code: number | null; signal: string | null; error?: string }): void;
}

export interface AgentRun {
  readonly pid: number | undefined;
  /** The conversation this run serves when the runner chose it (a parked spare has its own id). */
  readonly agentSessionId?: string;
  deliver(message: InputMessage): void;
  interrupt(): Promise<void>;
  /**
   * Ends the run; resolves once the process tree is gone. `graceful` lets the CLI finish writing its
   * transcript (for a later resume) before SIGTERM/SIGKILL; `force` signals the whole tree at once.
   */
  close(mode: "graceful" | "force"): Promise<void>;
}

export interface AgentRunner {
  /** Resolves once `start` can run (the SDK runner loads the Agent SDK at its first start). */
  prepare?(): Promise<void>;
  start(spec: RunSpec, observer: RunObserver): AgentRun;
  /**
   * Kills a process tree left by a previous Baton (after a crash) if `process` is still that very process
   * (same pid and start time, so a recycled pid is never hit). Resolves true when something was killed.
   */
  reapStale(process: ProcessInfo): Promise<boolean>;
  /**
   * Whether the runner's transcript store holds any line of this conversation; undefined when the runner
   * keeps no store (local transcript files only: then only a resume can tell).
   */
  conversationStored?(agentSessionId: string): Promise<boolean | undefined>;
  /** Parked spare processes (the warm pool): configured per option set, and ready now. */
  warmSpares?(): { size: number; ready: number };
  /** Gives back one parked spare's memory; resolves false when none was parked. */
  releaseSpare?(): Promise<boolean>;
  /** Stops whatever the runner keeps on its own (parked spares); runs are closed before. */
  stop?(): Promise<void>;
}
