import { BatonError } from "../core/errors.ts";
import type { LiveRuns } from "../sessions/live-runs.ts";
import type { SessionFence } from "../sessions/session-fence.ts";
import { type SessionStatus, WORKING } from "../sessions/session-status.ts";
import { claimOrphanSessions, selectOwnership } from "../store/node-queries.ts";
import type { Store } from "../store/open-store.ts";
import type { SessionRow } from "../store/session-queries.ts";

export interface OwnershipDeps {
  node: string;
  store: Store;
  runs: LiveRuns;
  /** This node runs a session another node has taken over: stop its process, write nothing for it. */
  onFenced(sessionId: string): void;
}

/**
 * Which sessions this node owns, at which epoch (`sessions.owner_node`, `sessions.lease_epoch`), and the
 * fence that keeps a node that lost a session from writing for it. A node becomes a session's owner when it
 * starts a turn of it (the status write that makes it working) or adopts it from a dead node; each move
 * raises the epoch. A node that was paused or cut off past its lease finds, on its next write or heartbeat,
 * that the row names another owner or epoch than the one it holds: the write is refused and its process
 * stopped.
 */
export class SessionOwnership implements SessionFence {
  /** The epoch this node holds for each session it owns. */
  private readonly held = new Map<string, number>();
  private readonly deps: OwnershipDeps;

  constructor(deps: OwnershipDeps) {
    this.deps = deps;
  }

  get node(): string {
    return this.deps.node;
  }

  check(row: SessionRow, to: SessionStatus): Partial<SessionRow> {
    const held = this.held.get(row.id);
    // Stale: this node still runs it, or its run just ended and it would fail the session (an exit's
    // "failed" is written after the run left the live table) while the row says it works on for another
    // node. Other writes for a session working elsewhere (a kill, an answer relayed here) are commands.
    const stale =
      this.deps.runs.has(row.id) ||
      (to === "failed" && WORKING.includes(row.status) && row.owner_node !== this.node);
    if (held !== undefined && !this.ownedAt(row, held) && stale) {
      // The epoch held stays: a later write of the same stale run (its exit's "failed") is refused too.
      if (this.deps.runs.has(row.id)) this.deps.onFenced(row.id);
      throw new BatonError(
        "LEASE_LOST",
        `node ${this.node} lost session ${row.id} (epoch ${held}) to ${row.owner_node} (epoch ` +
          `${row.lease_epoch ?? 0}): its write is refused and its process stopped`,
      );
    }
    // Only a turn starting here (from queued or between turns) moves the session to this node: unblocking
    // a session that works on another node (a permission answered through this one) leaves it there.
    if (!WORKING.includes(to) || WORKING.includes(row.status) || row.owner_node === this.node) return {};
    return { owner_node: this.node, lease_epoch: (row.lease_epoch ?? 0) + 1 };
  }

  committed(row: SessionRow): void {
    if (row.owner_node === this.node) this.held.set(row.id, row.lease_epoch ?? 0);
    else this.held.delete(row.id);
  }

  /** Takes over the working sessions no live node owns (and, at start-up, this node's own). */
  async claimOrphans(includeOwn: boolean): Promise<SessionRow[]> {
    const { store } = this.deps;
    const query = { node: this.node, now: new Date().toISOString(), statuses: WORKING, includeOwn };
    const claimed = await store.transaction((tx) => claimOrphanSessions(tx, query, store.dialect));
    for (const row of claimed) this.committed(row);
    return claimed;
  }

  /**
   * The heartbeat's check: every session this node runs whose row moved to another owner or epoch (taken
   * over while this node was silent) is fenced off, even if its process never writes again.
   */
  async fenceLost(): Promise<string[]> {
    const running = this.deps.runs.sessionIds();
    const lost: string[] = [];
    for (const row of await selectOwnership(this.deps.store.db, running)) {
      const held = this.held.get(row.id);
      if (held === undefined || this.ownedAt(row, held)) continue;
      // Not forgotten: the run's exit may already be queued to write "failed", and must be refused.
      this.deps.onFenced(row.id);
      lost.push(row.id);
    }
    return lost;
  }

  private ownedAt(row: Pick<SessionRow, "owner_node" | "lease_epoch">, epoch: number): boolean {
    return row.owner_node === this.node && (row.lease_epoch ?? 0) === epoch;
  }
}
