import type { LiveRun } from "./live-run.ts";

/**
 * The sessions whose `claude` process is alive, one LiveRun each. A callback of a process that was
 * replaced (closed, restarted) checks `isCurrent` and becomes a no-op.
 */
export class LiveRuns {
  private readonly runs = new Map<string, LiveRun>();

  get size(): number {
    return this.runs.size;
  }

  get(sessionId: string): LiveRun | undefined {
    return this.runs.get(sessionId);
  }

  has(sessionId: string): boolean {
    return this.runs.has(sessionId);
  }

  isCurrent(sessionId: string, live: LiveRun): boolean {
    return this.runs.get(sessionId) === live;
  }

  set(sessionId: string, live: LiveRun): void {
    this.runs.set(sessionId, live);
  }

  delete(sessionId: string): void {
    this.runs.delete(sessionId);
  }

  sessionIds(): string[] {
    return [...this.runs.keys()];
  }

  /** Pids of the live agent processes (for the memory gauge). */
  pids(): number[] {
    return [...this.runs.values()].flatMap((live) => live.process?.pid ?? live.run?.pid ?? []);
  }
}
