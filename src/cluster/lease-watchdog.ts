import type { RunContext } from "../sessions/run-context.ts";

export interface LeaseWatchdogDeps {
  runs: RunContext;
  /** Stops a session's process here and writes nothing for it (cluster-node.ts, abandonRun). */
  abandon(sessionId: string): Promise<void>;
  warn(message: string): void;
}

/**
 * Self-fencing. A node that cannot renew its lease (the database out of its reach but not out of the
 * others') is taken for dead once the lease runs out, and another node adopts and resumes its sessions.
 * Its own agents must not run on beside the adopted ones, and it cannot learn of the adoption without the
 * database; so it stops them itself, a margin before the lease it last wrote runs out, writing nothing.
 * When it reaches the database again, the sessions it stopped that nobody adopted are still its own: it
 * resumes them (cluster-node.ts, resumeStopped).
 *
 * A timer that fires late says this process was not running (stopped, a VM paused, the event loop
 * blocked), not that the database is gone: it waits a little more for the heartbeat's renewal first, so a
 * pause alone does not restart every agent (what peers adopted meanwhile the heartbeat fences off anyway).
 */
export class LeaseWatchdog {
  private readonly deps: LeaseWatchdogDeps;
  private readonly marginMs: number;
  private timer: NodeJS.Timeout | undefined;
  private lastRenewedAt = Date.now();
  private readonly stopped = new Set<string>();

  constructor(deps: LeaseWatchdogDeps, settings: { nodeHeartbeatMs: number; nodeLeaseMs: number }) {
    this.deps = deps;
    // One beat before the lease ends (a third of the lease at most): a peer adopts only after it has ended.
    this.marginMs = Math.min(settings.nodeHeartbeatMs, Math.floor(settings.nodeLeaseMs / 3));
  }

  /** The lease was written, ending at `expiresAt` (ms): the deadline moves there. */
  renewed(expiresAt: number): void {
    this.lastRenewedAt = Date.now();
    this.arm(expiresAt - this.marginMs);
  }

  /** The sessions this node stopped on its own and has not yet dealt with (resumed, or found adopted). */
  stoppedIds(): string[] {
    return [...this.stopped];
  }

  forget(ids: readonly string[]): void {
    for (const id of ids) this.stopped.delete(id);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(dueAt: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.fire(dueAt), Math.max(0, dueAt - Date.now()));
    this.timer.unref();
  }

  private fire(dueAt: number): void {
    const late = Date.now() - dueAt;
    if (late > this.marginMs / 2) {
      this.arm(Date.now() + this.marginMs);
      return;
    }
    const ids = this.deps.runs.runs.sessionIds();
    if (ids.length === 0) return;
    const silentFor = Date.now() - this.lastRenewedAt;
    this.deps.warn(
      `this node could not renew its lease for ${silentFor} ms (the database is out of its reach): ` +
        `stopping its ${ids.length} agent process(es) before another node adopts their sessions`,
    );
    for (const id of ids) {
      this.stopped.add(id);
      this.deps.runs.detach(id, "stopping a session whose lease is lapsing", () => this.deps.abandon(id));
    }
  }
}

/**
 * A write to a database that stopped answering (packets dropped, not refused) would hang the heartbeat
 * for as long as TCP retries; failing it lets the next beat try again on a fresh connection.
 */
export async function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer from the database in ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
