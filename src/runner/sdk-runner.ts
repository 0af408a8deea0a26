import type { ChildProcess } from "node:child_process";
import {
  type CanUseTool,
  type HookInput,
  type HookJSONOutput,
  type Options,
  type PermissionResult,
  type Query,
  query,
  type SpawnedProcess,
} from "@anthropic-ai/claude-agent-sdk";
import { describeError } from "../core/errors.ts";
import type { ModelCredentials } from "../sessions/credential-id.ts";
import type {
  AgentRun,
  AgentRunner,
  InputMessage,
  ProcessInfo,
  RunObserver,
  RunSpec,
} from "../sessions/runner-port.ts";
import { type AgentEnvSettings, buildAgentEnv } from "./agent-env.ts";
import { buildBatonMcpServer } from "./baton-mcp-server.ts";
import { InputQueue, userMessage } from "./input-queue.ts";
import { mapSdkMessage } from "./message-mapper.ts";
import { explainLoginFailure, withLoginHint } from "./model-access.ts";
import {
  isAlive,
  isSameProcess,
  killProcessTree,
  listDescendants,
  readProcessStartTime,
  spawnInOwnGroup,
} from "./process-tree.ts";
import { fingerprintOf, ResumeProbe } from "./resume-probe.ts";
import { trustWorkspace } from "./workspace-trust.ts";

export interface SdkRunnerSettings extends AgentEnvSettings {
  claudeExecutable?: string | undefined;
  /** How long a graceful close waits for the CLI before signalling the tree. */
  closeGraceMs: number;
  /** Ask the CLI for the model's streamed pieces (token deltas), reported through onOutputDelta. */
  outputDeltas?: boolean;
  /** Mark each workDir trusted for the CLI, so the project's settings apply (workspace-trust.ts). */
  trustWorkDirs?: boolean;
}

/** Runs each session as one streaming-input `query()` of the Claude Agent SDK. */
export class SdkRunner implements AgentRunner {
  private readonly settings: SdkRunnerSettings;

  constructor(settings: SdkRunnerSettings) {
    this.settings = settings;
  }

  start(spec: RunSpec, observer: RunObserver): AgentRun {
    return new SdkRun(spec, observer, this.settings);
  }

  /** A reloaded configuration's model credentials (SIGHUP): processes started from now on get them. */
  setModelCredentials(credentials: ModelCredentials): void {
    Object.assign(this.settings, credentials);
  }

  async reapStale(process: ProcessInfo): Promise<boolean> {
    if (!isSameProcess(process.pid, process.startTime)) return false;
    // An orphan has no one to report to and its transcript is appended as it goes: no grace needed (a CLI
    // busy in a tool ignores SIGTERM for seconds, measured, and every restart would wait for it).
    await killProcessTree(process.pid, 0);
    return true;
  }
}

const STDERR_TAIL_CHARS = 2000;
const BATON_TOOL_PREFIX = "mcp__baton__";

class SdkRun implements AgentRun {
  private readonly input = new InputQueue();
  private readonly observer: RunObserver;
  private readonly settings: SdkRunnerSettings;
  private readonly query: Query;
  private child: ChildProcess | undefined;
  private childExit: Promise<{ code: number | null; signal: string | null }> | undefined;
  private stderrTail = "";
  private closing = false;
  private readonly mapping = {
    interruptRequested: false,
    lastModelMessageId: undefined as string | undefined,
    streamMessageId: undefined as string | undefined,
  };
  private readonly finished: Promise<void>;
  /** Set on a resumed run until the process proved it is the stored agent (resume-probe.ts). */
  private readonly probe: ResumeProbe | undefined;

  constructor(spec: RunSpec, observer: RunObserver, settings: SdkRunnerSettings) {
    this.observer = observer;
    this.settings = settings;
    if (spec.resume) {
      this.probe = new ResumeProbe();
      this.input.push(this.probe.firstMessage());
    }
    const options = this.buildOptions(spec);
    if (settings.trustWorkDirs !== false) {
      // A git worktree's trust is looked up under the repository it belongs to, so both are trusted.
      const worktreeRepo = spec.config.worktree?.repo;
      trustWorkspace(options.env ?? {}, [spec.config.workDir, ...(worktreeRepo ? [worktreeRepo] : [])]);
    }
    this.query = query({ prompt: this.input, options });
    this.finished = this.consume();
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  deliver(message: InputMessage): void {
    const input = userMessage(message.id, message.text);
    if (this.probe?.active) this.probe.hold(input);
    else this.input.push(input);
  }

  async interrupt(): Promise<void> {
    this.mapping.interruptRequested = true;
    await this.query.interrupt();
  }

  async close(mode: "graceful" | "force"): Promise<void> {
    if (!this.closing) {
      this.closing = true;
      const pid = this.child?.pid;
      if (mode === "force" && pid) await killProcessTree(pid, 2000);
      this.input.end();
      this.query.close();
      // Ending the input lets the CLI flush its transcript and exit on its own (~0.1 s when idle); only a
      // child that outlives the grace period is signalled.
      if (pid) await this.waitForExitOrKill(pid, this.settings.closeGraceMs);
    }
    await this.finished;
  }

  private async waitForExitOrKill(pid: number, graceMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), graceMs);
    });
    const outcome = await Promise.race([this.childExit ?? Promise.resolve(undefined), graceOver]);
    clearTimeout(timer);
    // Tools that detached into their own process group can outlive the CLI: reap the whole tree either way.
    if (outcome === "timeout" || isAlive(pid) || listDescendants(pid).length > 0)
      await killProcessTree(pid, 2000);
  }

  private buildOptions(spec: RunSpec): Options {
    const { config } = spec;
    const options: Options = {
      cwd: config.workDir,
      env: buildAgentEnv(this.settings, spec.env),
      maxTurns: spec.maxTurns,
      maxBudgetUsd: spec.maxBudgetUsd,
      permissionMode: config.permissionMode,
      canUseTool: (toolName, input, context) => this.askPermission(toolName, input, context),
      hooks: {
        PreToolUse: [
          { hooks: [(input, toolUseId, context) => this.checkToolCall(input, toolUseId, context.signal)] },
        ],
      },
      spawnClaudeCodeProcess: (spawnOptions) =>
        this.spawnChild(spawnOptions.command, spawnOptions.args, spawnOptions.cwd, spawnOptions.env),
    };
    // Only a resumed run registers the probe's hook: with it registered, a message steered into a fresh
    // session's first turn missed that turn's model request (seen in test/sessions/keys-and-idempotency).
    const probe = this.probe;
    if (probe && options.hooks) {
      options.hooks.UserPromptSubmit = [
        {
          hooks: [
            async (input) =>
              input.hook_event_name === "UserPromptSubmit" ? probe.blockIfProbe(input.prompt) : {},
          ],
        },
      ];
    }
    if (spec.resume) options.resume = spec.agentSessionId;
    else options.sessionId = spec.agentSessionId;
    if (config.permissionMode === "bypassPermissions") options.allowDangerouslySkipPermissions = true;
    if (spec.tools.length > 0) options.mcpServers = { baton: buildBatonMcpServer(spec.tools) };
    if (config.allowedTools) options.allowedTools = config.allowedTools;
    if (config.disallowedTools) options.disallowedTools = config.disallowedTools;
    if (config.model) options.model = config.model;
    if (config.claudeMdContent) {
      options.systemPrompt = { type: "preset", preset: "claude_code", append: config.claudeMdContent };
    }
    if (this.settings.claudeExecutable) options.pathToClaudeCodeExecutable = this.settings.claudeExecutable;
    if (this.settings.outputDeltas) options.includePartialMessages = true;
    return options;
  }

  private async checkToolCall(
    input: HookInput,
    toolUseId: string | undefined,
    signal: AbortSignal,
  ): Promise<HookJSONOutput> {
    if (input.hook_event_name !== "PreToolUse") return {};
    const verdict = await this.observer.onPreToolUse({
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

  private async askPermission(
    toolName: string,
    input: Record<string, unknown>,
    context: Parameters<CanUseTool>[2],
  ): Promise<PermissionResult> {
    // Baton's own coordination tools never need a human (they enforce their own rules). Allowed here rather
    // than through allowedTools, which would shadow canUseTool for them (the SDK warns about that).
    if (toolName.startsWith(BATON_TOOL_PREFIX)) return { behavior: "allow", updatedInput: input };
    const decision = await this.observer.onPermissionRequest({
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

  private spawnChild(
    command: string,
    args: string[],
    cwd: string | undefined,
    env: NodeJS.ProcessEnv,
  ): SpawnedProcess {
    const child = spawnInOwnGroup(command, args, { cwd, env });
    this.child = child;
    this.childExit = new Promise((resolve) => {
      child.once("exit", (code, signal) => resolve({ code, signal }));
      child.once("error", () => resolve({ code: null, signal: null }));
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString("utf8")).slice(-STDERR_TAIL_CHARS);
    });
    if (child.pid) this.observer.onSpawned({ pid: child.pid, startTime: readProcessStartTime(child.pid) });
    // Spawned with stdio "pipe", so the streams exist; SpawnedProcess just types them as non-null.
    return child as SpawnedProcess;
  }

  private async consume(): Promise<void> {
    let failure: string | undefined;
    let lastWasResult = false;
    try {
      for await (const message of this.query) {
        if (this.probe?.active) {
          const step = this.probe.handle(message, this.observer);
          if (step.kind === "release") for (const input of step.input) this.input.push(input);
          if (step.kind !== "pass") continue;
        } else if (message.type === "system" && message.subtype === "init") {
          this.observer.onInit(fingerprintOf(message));
        }
        const outcome = mapSdkMessage(message, this.observer, this.mapping);
        lastWasResult = outcome !== undefined;
        if (outcome) {
          this.mapping.interruptRequested = false;
          this.observer.onTurnEnd(withLoginHint(outcome));
        }
      }
    } catch (error) {
      // After an error result the SDK's iterator throws "returned an error result"; the result itself was
      // already handled above, so only other throws are failures of the run.
      if (!lastWasResult) failure = describeError(error);
    }
    const pid = this.child?.pid;
    if (pid && !this.closing) await this.waitForExitOrKill(pid, this.settings.closeGraceMs);
    const exit = (await this.childExit) ?? { code: null, signal: null };
    // The CLI's own words first (e.g. why it refused to start), then what the SDK made of the exit.
    const stderr = this.closing ? undefined : this.stderrTail.trim() || undefined;
    const error = [stderr, failure].filter((part) => part !== undefined).join(" — ") || undefined;
    this.observer.onExit({
      expected: this.closing,
      code: exit.code,
      signal: exit.signal,
      ...(error ? { error: explainLoginFailure(error) } : {}),
    });
  }
}
