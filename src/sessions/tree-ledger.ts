import { BatonError } from "../core/errors.ts";
import { KeyedSerial } from "../core/serial.ts";
import type { Db } from "../store/schema.ts";
import type { SessionRow } from "../store/session-queries.ts";
import { selectMaxRequestCost } from "../store/usage-queries.ts";
import { configOf } from "./session-mapper.ts";
import { WORKING } from "./session-status.ts";
import { findRoot, treeMembers } from "./tree-budget.ts";

interface Reservation {
  rootId: string;
  /** What the process may spend (its SDK maxBudgetUsd). */
  grantUsd: number;
  /** Kept on top of the grant for the one request that crosses it (the SDK stops only after it). */
  marginUsd: number;
  /** The session's cost when the grant was made: what it spent since is taken off the reservation. */
  costAtStartUsd: number;
  /** Made at spawn, not yet taken by a run. */
  fresh: boolean;
}

/**
 * Tree budgets without overshoot. Every session of a tree whose root set `maxTreeBudgetUsd` runs on a
 * reservation: its process's budget, capped by what the tree has unreserved, plus a margin of one model
 * request (the dearest request the tree has made so far), because the SDK stops a query only after the
 * request that crossed its budget. Reservations are made one at a time per tree, so five children started
 * at once cannot each be handed the whole remainder; the unspent part returns to the tree when the process
 * ends. A spawn the tree cannot afford is refused with TREE_BUDGET_EXHAUSTED. The root itself is capped by
 * what is unreserved but reserves nothing, so a manager at work never locks out its own children; its spend
 * is counted when its turn reports it. In memory: after a restart the
 * sessions that resume reserve again, one at a time, against what the store says was spent.
 */
export class TreeBudgetLedger {
  private readonly serial = new KeyedSerial();
  private readonly reservations = new Map<string, Reservation>();
  private readonly db: Db;
  private readonly isLive: (sessionId: string) => boolean;

  constructor(deps: { db: Db; isLive: (sessionId: string) => boolean }) {
    this.db = deps.db;
    this.isLive = deps.isLive;
  }

  /**
   * Reserves for a session that is about to be written (a spawn under `parent`). Resolves undefined when
   * the tree has no budget; throws TREE_BUDGET_EXHAUSTED when it cannot afford another session.
   */
  async reserveForSpawn(
    sessionId: string,
    parent: SessionRow,
    wantedUsd: number,
  ): Promise<number | undefined> {
    return this.reserve(sessionId, parent, wantedUsd, 0, true);
  }

  /**
   * The budget a process of `session` may spend: its spawn-time reservation when it has one, else a new
   * one. Undefined when the tree has no budget.
   */
  async reserveForRun(session: SessionRow, wantedUsd: number): Promise<number | undefined> {
    const held = this.reservations.get(session.id);
    if (held?.fresh) {
      held.fresh = false;
      return Math.min(held.grantUsd, wantedUsd);
    }
    return this.reserve(session.id, session, wantedUsd, session.cost_usd, false);
  }

  /** The session's process ended (or its spawn was not written): the unspent part returns to the tree. */
  release(sessionId: string): void {
    const held = this.reservations.get(sessionId);
    if (held && !held.fresh) this.reservations.delete(sessionId);
  }

  /** Drops a spawn-time reservation whose session was never written. */
  cancel(sessionId: string): void {
    this.reservations.delete(sessionId);
  }

  private async reserve(
    sessionId: string,
    inTree: SessionRow,
    wantedUsd: number,
    costNowUsd: number,
    fresh: boolean,
  ): Promise<number | undefined> {
    const root = await findRoot(this.db, inTree);
    const limitUsd = configOf(root).maxTreeBudgetUsd;
    if (limitUsd === undefined) return undefined;
    return this.serial.run(root.id, async () => {
      const members = await treeMembers(this.db, root);
      const spentUsd = members.reduce((sum, member) => sum + Number(member.cost_usd), 0);
      const outstanding = this.outstanding(root.id, sessionId, members);
      const marginUsd = await selectMaxRequestCost(this.db, root.id);
      const availableUsd = limitUsd - spentUsd - outstanding.usd - marginUsd;
      if (availableUsd <= 0) {
        throw new BatonError(
          "TREE_BUDGET_EXHAUSTED",
          `the tree budget of $${limitUsd} set on ${root.id} cannot cover another session: ` +
            `$${spentUsd.toFixed(4)} spent, $${outstanding.usd.toFixed(4)} reserved by ${outstanding.count} ` +
            `running session(s), $${marginUsd.toFixed(4)} kept for one more model request`,
          {
            rootSessionId: root.id,
            limitUsd,
            spentUsd,
            reservedUsd: outstanding.usd,
            marginUsd,
          },
        );
      }
      const grantUsd = Math.min(wantedUsd, availableUsd);
      // The root (the manager) holds no reservation: it is capped by what its children left unreserved,
      // but a root at work must not lock its own children out (its spend counts once reported).
      if (sessionId !== root.id)
        this.reservations.set(sessionId, {
          rootId: root.id,
          grantUsd,
          marginUsd,
          costAtStartUsd: costNowUsd,
          fresh,
        });
      return grantUsd;
    });
  }

  /**
   * What other sessions of the tree still hold: grant plus margin, less what they spent since. A
   * reservation counts while its session is queued or working, or has a live process (a warm process may
   * take more turns on the same grant), or is not written yet (a spawn in flight).
   */
  private outstanding(
    rootId: string,
    sessionId: string,
    members: readonly SessionRow[],
  ): { usd: number; count: number } {
    const byId = new Map(members.map((member) => [member.id, member]));
    let usd = 0;
    let count = 0;
    for (const [id, held] of this.reservations) {
      if (held.rootId !== rootId || id === sessionId) continue;
      const member = byId.get(id);
      const holds =
        !member || member.status === "queued" || WORKING.includes(member.status) || this.isLive(id);
      if (!holds) {
        this.reservations.delete(id);
        continue;
      }
      const spentSince = member ? Number(member.cost_usd) - held.costAtStartUsd : 0;
      usd += Math.max(0, held.grantUsd + held.marginUsd - spentSince);
      count += 1;
    }
    return { usd, count };
  }
}
