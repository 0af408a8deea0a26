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

  /**
   * The completed session whose warm process has been idle longest, if idle at least `graceMs` (memory
   * pressure gives it back first: it resumes on its next message).
   */
  idlest(graceMs: number): [string, LiveRun] | undefined {
    const now = Date.now();
    return [...this.runs]
      .filter(([, live]) => live.keepAliveTimer && now - live.lastActivity >= graceMs)
      .sort(([, a], [, b]) => a.lastActivity - b.lastActivity)[0];
  }

  /** Pids of the live agent processes (for the memory gauge). */
  pids(): number[] {
    return [...this.runs.values()].flatMap((live) => live.process?.pid ?? live.run?.pid ?? []);
  }
}
