import type {
  CanUseTool,
  ClaimOptions,
  HookInput,
  HookJSONOutput,
  Options,
  PermissionResult,
} from "@anthropic-ai/claude-agent-sdk";
import type { AgentTool, RunSpec } from "../sessions/runner-port.ts";
import type { TranscriptStore } from "../sessions/transcript-store.ts";
import { type AgentEnvSettings, buildAgentEnv } from "./agent-env.ts";
import { buildBatonMcpServer } from "./baton-mcp-server.ts";
import { ChildHandle } from "./child-handle.ts";

export interface SdkRunnerSettings extends AgentEnvSettings {
  claudeExecutable?: string | undefined;
  /** How long a graceful close waits for the CLI before signalling the tree. */
  closeGraceMs: number;
  /** Ask the CLI for the model's streamed pieces (token deltas), reported through onOutputDelta. */
  outputDeltas?: boolean;
  /** Mark each workDir trusted for the CLI, so the project's settings apply (workspace-trust.ts). */
  trustWorkDirs?: boolean;
  /** Mirror every transcript here and resume from here (the SDK's `sessionStore`); absent: local files. */
  transcripts?: TranscriptStore | undefined;
}

/**
 * What the callbacks of an agent process reach. For a cold start that is the run itself; a parked spare
 * registers its callbacks before any session exists, so it forwards them to the run that claims it.
 */
export interface CallbackTarget {
  askPermission(
    toolName: string,
    input: Record<string, unknown>,
    context: Parameters<CanUseTool>[2],
  ): Promise<PermissionResult>;
  checkToolCall(
    input: HookInput,
    toolUseId: string | undefined,
    signal: AbortSignal,
  ): Promise<HookJSONOutput>;
  adoptChild(child: ChildHandle): void;
  /** The session's own coordination tool of that name. */
  tool(name: string): AgentTool | undefined;
}

/**
 * The options fixed for the life of a process (the SDK's `prewarm()` takes exactly these): limits,
 * permission mode, tool lists, model, callbacks, the environment the CLI reads at start-up. `runEnv` is the
 * session's own environment; a spare has none yet and gets it at claim (claimOptionsOf).
 */
export function hostOptions(
  spec: RunSpec,
  settings: SdkRunnerSettings,
  target: CallbackTarget,
  runEnv: Record<string, string>,
): Options {
  const { config } = spec;
  const options: Options = {
    env: buildAgentEnv(settings, runEnv),
    maxTurns: spec.maxTurns,
    maxBudgetUsd: spec.maxBudgetUsd,
    permissionMode: config.permissionMode,
    canUseTool: (toolName, input, context) => target.askPermission(toolName, input, context),
    hooks: {
      PreToolUse: [
        { hooks: [(input, toolUseId, context) => target.checkToolCall(input, toolUseId, context.signal)] },
      ],
    },
    spawnClaudeCodeProcess: ({ command, args, cwd, env }) => {
      const child = new ChildHandle(command, args, cwd, env);
      target.adoptChild(child);
      return child.spawned;
    },
  };
  if (config.permissionMode === "bypassPermissions") options.allowDangerouslySkipPermissions = true;
  if (spec.tools.length > 0) options.mcpServers = { baton: buildBatonMcpServer(spec.tools, target) };
  if (config.allowedTools) options.allowedTools = config.allowedTools;
  if (config.disallowedTools) options.disallowedTools = config.disallowedTools;
  if (config.model) options.model = config.model;
  if (settings.claudeExecutable) options.pathToClaudeCodeExecutable = settings.claudeExecutable;
  if (settings.outputDeltas) options.includePartialMessages = true;
  if (settings.transcripts) {
    options.sessionStore = settings.transcripts;
    // Each line is mirrored as soon as the CLI wrote it (the default batches until the turn ends): a node
    // killed mid-turn would otherwise take the whole turn with it, and a first turn its whole conversation.
    options.sessionStoreFlush = "eager";
  }
  return options;
}

/** A cold start: the host options plus the session's folder, conversation and project context. */
export function coldOptions(
  spec: RunSpec,
  settings: SdkRunnerSettings,
  target: CallbackTarget,
  agentSessionId: string,
): Options {
  const options = hostOptions(spec, settings, target, spec.env);
  options.cwd = spec.config.workDir;
  if (spec.resume) options.resume = agentSessionId;
  else options.sessionId = agentSessionId;
  if (spec.config.claudeMdContent) {
    options.systemPrompt = { type: "preset", preset: "claude_code", append: spec.config.claudeMdContent };
  }
  return options;
}

/**
 * What a claim binds to a spare: the folder, the permission mode (part of the claim, so it fails closed),
 * project context, and the session's environment as a settings overlay (measured with CLI 2.1.329: the
 * overlay's `env` reaches the agent's shells, and the prompt waits until the overlay is accepted, so a
 * refused claim has not consumed any input).
 */
export function claimOptionsOf(spec: RunSpec): ClaimOptions {
  const { config } = spec;
  const options: ClaimOptions = {
    cwd: config.workDir,
    settings: { env: { ...spec.env } },
  };
  if (config.permissionMode) options.permissionMode = config.permissionMode;
  if (config.claudeMdContent) options.appendSystemPrompt = config.claudeMdContent;
  return options;
}

/**
 * The identity of a spawn's start-time options: two specs with the same key can be served by the same
 * parked spare. Resumes never can (a spare has no conversation). The runner's own environment is the same
 * for every spawn (the SDK adds to `process.env` as it goes, so it is not compared); the session's variables
 * arrive with the claim, so only their names matter.
 */
export function startKeyOf(spec: RunSpec): string | undefined {
  if (spec.resume) return undefined;
  const { config } = spec;
  return JSON.stringify([
    config.model ?? null,
    config.permissionMode ?? null,
    config.allowedTools ?? null,
    config.disallowedTools ?? null,
    spec.maxTurns,
    spec.maxBudgetUsd,
    spec.tools.map((tool) => [tool.name, tool.description]),
    Object.keys(spec.env).sort(),
  ]);
}
