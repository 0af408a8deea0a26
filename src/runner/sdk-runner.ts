import { existsSync } from "node:fs";
import { join } from "node:path";
import type {
  CanUseTool,
  HookInput,
  HookJSONOutput,
  PermissionResult,
  Query,
} from "@anthropic-ai/claude-agent-sdk";
import { describeError } from "../core/errors.ts";
import type { ModelCredentials } from "../sessions/credential-id.ts";
import type {
  AgentRun,
  AgentRunner,
  AgentTool,
  InputMessage,
  ProcessInfo,
  RunObserver,
  RunSpec,
} from "../sessions/runner-port.ts";
import { buildAgentEnv } from "./agent-env.ts";
import { agentSdk, loadAgentSdk } from "./agent-sdk.ts";
import type { ChildHandle } from "./child-handle.ts";
import { InputQueue, userMessage } from "./input-queue.ts";
import { mapSdkMessage } from "./message-mapper.ts";
import { explainLoginFailure, withLoginHint } from "./model-access.ts";
import { askPermissionOf, checkToolCallWith } from "./observer-callbacks.ts";
import {
  isAlive,
  isSameProcess,
  killProcessTree,
  listDescendants,
  readProcessStartTime,
} from "./process-tree.ts";
import { fingerprintOf, ResumeProbe } from "./resume-probe.ts";
import { type CallbackTarget, coldOptions, type SdkRunnerSettings } from "./sdk-options.ts";
import type { Spare } from "./spare.ts";
import { DEFAULT_POOL, WarmPool } from "./warm-pool.ts";
import { trustWorkspace } from "./workspace-trust.ts";

export type { SdkRunnerSettings } from "./sdk-options.ts";

/**
 * Runs each session as one streaming-input `query()` of the Claude Agent SDK, on a parked spare of the warm
 * pool when one with the same start-time options is ready (warm-pool.ts), else on a process started now.
 */
export class SdkRunner implements AgentRunner {
  private readonly settings: SdkRunnerSettings;
  readonly pool: WarmPool;

  constructor(settings: SdkRunnerSettings, warmPool = 0) {
    this.settings = settings;
    this.pool = new WarmPool({ ...DEFAULT_POOL, size: warmPool }, settings);
  }

  /** Loads the Agent SDK at the first start, not with Baton (agent-sdk.ts). */
  async prepare(): Promise<void> {
    await loadAgentSdk();
  }

  start(spec: RunSpec, observer: RunObserver): AgentRun {
    // A folder trusted only now is unknown to a parked spare (it read the CLI's config when it started, and
    // would ignore the folder's .claude/settings.json: measured, test/e2e/warm-pool-edges): start cold.
    const newlyTrusted = this.settings.trustWorkDirs !== false && trustWorkDirsOf(spec, this.settings);
    return new SdkRun(spec, observer, this.settings, this.pool.take(spec, !newlyTrusted));
  }

  warmSpares(): { size: number; ready: number } {
    return { size: this.pool.size, ready: this.pool.readyCount };
  }

  releaseSpare(): Promise<boolean> {
    return this.pool.releaseOne();
  }

  stop(): Promise<void> {
    return this.pool.stop();
  }

  /** A reloaded configuration's model credentials (SIGHUP): processes started from now on get them. */
  setModelCredentials(credentials: ModelCredentials): void {
    Object.assign(this.settings, credentials);
  }

  async conversationStored(agentSessionId: string): Promise<boolean | undefined> {
    return this.settings.transcripts?.hasConversation(agentSessionId);
  }

  async reapStale(process: ProcessInfo): Promise<boolean> {
    if (!isSameProcess(process.pid, process.startTime)) return false;
    // An orphan has no one to report to and its transcript is appended as it goes: no grace needed (a CLI
    // busy in a tool ignores SIGTERM for seconds, measured, and every restart would wait for it).
    await killProcessTree(process.pid, 0);
    return true;
  }
}

/**
 * Records the session's folders as trusted; true when one was not before and has files that only apply in a
 * trusted folder (project settings, `.mcp.json`: CLAUDE.md loads either way).
 */
function trustWorkDirsOf(spec: RunSpec, settings: SdkRunnerSettings): boolean {
  // A git worktree's trust is looked up under the repository it belongs to, so both are trusted.
  const worktreeRepo = spec.config.worktree?.repo;
  const dirs = [spec.config.workDir, ...(worktreeRepo ? [worktreeRepo] : [])];
  const newlyTrusted = trustWorkspace(buildAgentEnv(settings, spec.env), dirs);
  return newlyTrusted && dirs.some((dir) => TRUSTED_ONLY_FILES.some((file) => existsSync(join(dir, file))));
}

const TRUSTED_ONLY_FILES = [".claude/settings.json", ".claude/settings.local.json", ".mcp.json"];

class SdkRun implements AgentRun, CallbackTarget {
  private readonly input = new InputQueue();
  private readonly observer: RunObserver;
  private readonly settings: SdkRunnerSettings;
  private readonly spec: RunSpec;
  private readonly tools: Map<string, AgentTool>;
  readonly agentSessionId: string;
  private query: Query;
  /** The spare this run claimed, until the claim proved good (or failed and the run started cold). */
  private spare: Spare | undefined;
  private child: ChildHandle | undefined;
  private closing = false;
  private readonly mapping = {
    interruptRequested: false,
    lastModelMessageId: undefined as string | undefined,
    streamMessageId: undefined as string | undefined,
  };
  private readonly finished: Promise<void>;
  /** Set on a resumed run until the process proved it is the stored agent (resume-probe.ts). */
  private readonly probe: ResumeProbe | undefined;

  constructor(spec: RunSpec, observer: RunObserver, settings: SdkRunnerSettings, spare: Spare | undefined) {
    this.observer = observer;
    this.settings = settings;
    this.spec = spec;
    this.tools = new Map(spec.tools.map((tool) => [tool.name, tool]));
    if (spec.resume) {
      this.probe = new ResumeProbe();
      this.input.push(this.probe.firstMessage());
    }
    this.spare = spare;
    this.agentSessionId = spare?.agentSessionId ?? spec.agentSessionId;
    if (spare?.child) {
      this.query = spare.claim(this, spec, this.input);
      this.adoptChild(spare.child);
    } else {
      this.spare = undefined;
      this.query = this.startCold();
    }
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

  adoptChild(child: ChildHandle): void {
    this.child = child;
    if (child.pid) this.observer.onSpawned({ pid: child.pid, startTime: readProcessStartTime(child.pid) });
  }

  tool(name: string): AgentTool | undefined {
    return this.tools.get(name);
  }

  private startCold(): Query {
    const options = coldOptions(this.spec, this.settings, this, this.agentSessionId);
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
    return agentSdk().query({ prompt: this.input, options });
  }

  private async waitForExitOrKill(pid: number, graceMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), graceMs);
    });
    const outcome = await Promise.race([this.child?.exit ?? Promise.resolve(undefined), graceOver]);
    clearTimeout(timer);
    // Tools that detached into their own process group can outlive the CLI: reap the whole tree either way.
    if (outcome === "timeout" || isAlive(pid) || listDescendants(pid).length > 0)
      await killProcessTree(pid, 2000);
  }

  /**
   * A claimed spare that refused the claim (its folder's settings, a mode it cannot take, it died) has not
   * read any input (the claim's settings overlay holds the prompt): the run starts cold instead, with the
   * same conversation id.
   */
  private async settleClaim(): Promise<void> {
    const spare = this.spare;
    if (!spare) return;
    const claimed = await spare.claimSucceeded();
    this.spare = undefined;
    if (claimed || this.closing) return;
    await spare.close();
    this.query = this.startCold();
  }

  checkToolCall(
    input: HookInput,
    toolUseId: string | undefined,
    signal: AbortSignal,
  ): Promise<HookJSONOutput> {
    return checkToolCallWith(this.observer, input, toolUseId, signal);
  }

  askPermission(...args: Parameters<CanUseTool>): Promise<PermissionResult> {
    return askPermissionOf(this.observer, ...args);
  }

  private async consume(): Promise<void> {
    let failure: string | undefined;
    let lastWasResult = false;
    try {
      await this.settleClaim();
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
    const exit = (await this.child?.exit) ?? { code: null, signal: null };
    // The CLI's own words first (e.g. why it refused to start), then what the SDK made of the exit.
    const stderr = this.closing ? undefined : this.child?.stderrTail.trim() || undefined;
    const error = [stderr, failure].filter((part) => part !== undefined).join(" — ") || undefined;
    this.observer.onExit({
      expected: this.closing,
      code: exit.code,
      signal: exit.signal,
      ...(error ? { error: explainLoginFailure(error) } : {}),
    });
  }
}
