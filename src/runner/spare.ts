import { randomUUID } from "node:crypto";
import { readdirSync } from "node:fs";
import { setPriority } from "node:os";
import type {
  HookJSONOutput,
  PermissionResult,
  Query,
  SDKUserMessage,
  SpareProcess,
} from "@anthropic-ai/claude-agent-sdk";
import type { AgentTool, RunSpec } from "../sessions/runner-port.ts";
import { agentSdk } from "./agent-sdk.ts";
import type { ChildHandle } from "./child-handle.ts";
import { killProcessTree } from "./process-tree.ts";
import { type CallbackTarget, claimOptionsOf, hostOptions, type SdkRunnerSettings } from "./sdk-options.ts";

/** A parked spare starts below ordinary priority: it must not slow the sessions that are working. */
const PARKED_NICE = 10;
const CLOSE_GRACE_MS = 2000;

/**
 * One parked `claude` process (the SDK's `prewarm()`): started, configured and handshaken with the options
 * of `key`, waiting for a session. Its callbacks and Baton tools forward to the run that claims it; its
 * conversation id is chosen here, so the claiming session records it like a cold start's.
 */
export class Spare implements CallbackTarget {
  readonly key: string;
  readonly agentSessionId = randomUUID();
  readonly parkedAt = Date.now();
  private process: SpareProcess | undefined;
  private handle: ChildHandle | undefined;
  private claimant: CallbackTarget | undefined;
  private closing: Promise<void> | undefined;

  private constructor(key: string) {
    this.key = key;
  }

  /** Starts a spare for specs like `template` (its tool definitions, limits, mode); rejects if it cannot. */
  static async start(key: string, template: RunSpec, settings: SdkRunnerSettings): Promise<Spare> {
    const spare = new Spare(key);
    const options = hostOptions(template, settings, spare, {});
    options.sessionId = spare.agentSessionId;
    try {
      spare.process = await agentSdk().prewarm({ options });
    } catch (error) {
      await spare.close();
      throw error;
    }
    return spare;
  }

  get pid(): number | undefined {
    return this.handle?.pid;
  }

  get child(): ChildHandle | undefined {
    return this.handle;
  }

  /** Settles when the parked process exits (a spare that died is dropped from the pool). */
  get exited(): Promise<void> {
    return this.process?.exited ?? Promise.resolve();
  }

  /** Hands the spare to `run` and sends its input: the Query is the run's from now on. */
  claim(run: CallbackTarget, spec: RunSpec, prompt: AsyncIterable<SDKUserMessage>): Query {
    if (!this.process) throw new Error("spare was never started");
    this.claimant = run;
    if (this.handle?.pid) renice(this.handle.pid, 0);
    return this.process.claim({ prompt, options: claimOptionsOf(spec) });
  }

  /** True once the process took the claim; false when it refused (the session must start cold). */
  async claimSucceeded(): Promise<boolean> {
    if (!this.process) return false;
    try {
      await this.process.claimed;
      return true;
    } catch (error) {
      // The one rejection after which the session does run (model not applied); Baton never claims a
      // model, so this is defensive.
      return error instanceof Error && error.message.startsWith("option_not_applied");
    }
  }

  /** Discards the spare: its process tree is gone when this resolves. */
  close(): Promise<void> {
    this.closing ??= this.closeNow();
    return this.closing;
  }

  private async closeNow(): Promise<void> {
    this.process?.close();
    const handle = this.handle;
    if (!handle?.pid) return;
    const exited = await Promise.race([
      handle.exit.then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), CLOSE_GRACE_MS)),
    ]);
    // A tool the spare never ran cannot have detached, but a stuck CLI is signalled with its group.
    await killProcessTree(handle.pid, exited ? 0 : CLOSE_GRACE_MS);
  }

  adoptChild(child: ChildHandle): void {
    this.handle = child;
    // Only where the priority can be raised again at claim (root): a claimed session must not stay niced.
    if (child.pid && process.getuid?.() === 0) renice(child.pid, PARKED_NICE);
  }

  tool(name: string): AgentTool | undefined {
    return this.claimant?.tool(name);
  }

  askPermission(...args: Parameters<CallbackTarget["askPermission"]>): Promise<PermissionResult> {
    if (this.claimant) return this.claimant.askPermission(...args);
    return Promise.resolve({ behavior: "deny", message: "this agent process serves no session yet" });
  }

  checkToolCall(...args: Parameters<CallbackTarget["checkToolCall"]>): Promise<HookJSONOutput> {
    return this.claimant ? this.claimant.checkToolCall(...args) : Promise.resolve({});
  }
}

/**
 * Every thread of the process (Linux keeps a nice value per thread, and the CLI runs worker threads).
 * Best effort: lowering a priority again needs privileges Baton may not have (then it stays as it is).
 */
function renice(pid: number, nice: number): void {
  let threads: string[];
  try {
    threads = readdirSync(`/proc/${pid}/task`);
  } catch {
    threads = [String(pid)];
  }
  for (const thread of threads) {
    try {
      setPriority(Number(thread), nice);
    } catch {
      // EACCES/EPERM without CAP_SYS_NICE, ESRCH when it already exited: nothing to do either way.
    }
  }
}
