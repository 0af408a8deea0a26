import type { ChildProcess } from "node:child_process";
import type { SpawnedProcess } from "@anthropic-ai/claude-agent-sdk";
import { spawnInOwnGroup } from "./process-tree.ts";

const STDERR_TAIL_CHARS = 2000;

export interface ChildExit {
  code: number | null;
  signal: string | null;
}

/**
 * One `claude` child as Baton tracks it: started in its own process group, its exit awaited, the tail of its
 * stderr kept (the CLI's own words when it refuses to start). A warm spare's child is handed over to the
 * run that claims it, so this lives apart from the run.
 */
export class ChildHandle {
  readonly child: ChildProcess;
  readonly exit: Promise<ChildExit>;
  private tail = "";

  constructor(command: string, args: string[], cwd: string | undefined, env: NodeJS.ProcessEnv) {
    const child = spawnInOwnGroup(command, args, { cwd, env });
    // A spare's child is awaited by prewarm, its claim, the pool and then its run: more than Node's default
    // of 10 exit listeners, none of them leaked (each settles with the exit).
    child.setMaxListeners(32);
    this.child = child;
    this.exit = new Promise((resolve) => {
      child.once("exit", (code, signal) => resolve({ code, signal }));
      child.once("error", () => resolve({ code: null, signal: null }));
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      this.tail = (this.tail + chunk.toString("utf8")).slice(-STDERR_TAIL_CHARS);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get stderrTail(): string {
    return this.tail;
  }

  /** Spawned with stdio "pipe", so the streams exist; SpawnedProcess just types them as non-null. */
  get spawned(): SpawnedProcess {
    return this.child as SpawnedProcess;
  }
}
