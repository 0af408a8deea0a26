import type { WriteContext } from "../events/event-log.ts";
import { refusePendingMessages } from "../store/message-queries.ts";
import { type SessionRow, selectSessionById, updateSessionRow } from "../store/session-queries.ts";
import { clearTimers, type LiveRun } from "./live-run.ts";
import { writeMessage } from "./message-writes.ts";
import type { RunContext } from "./run-context.ts";
import type { RunObserver, TurnOutcome } from "./runner-port.ts";
import { WORKING } from "./session-status.ts";
import type { EventSpec } from "./session-writes.ts";
import { treeBudgetOf } from "./tree-budget.ts";
import { decideTurnEnd, type TurnCounts, type TurnFailure } from "./turn-outcome.ts";
import { turnResultOf } from "./turn-trace.ts";
import { recordTurnUsage } from "./usage-writes.ts";

/**
 * Applies what ends a turn: the SDK's result (decided by turn-outcome.ts, written here in one
 * transaction) and the process's exit. Afterwards the session's held locks are released, its process kept
 * warm or closed, its next message delivered, its tree's budget enforced and the queue drained.
 */
export class TurnEnds {
  private readonly ctx: RunContext;

  constructor(ctx: RunContext) {
    this.ctx = ctx;
  }

  /** The SDK reported a turn's result. Call inside `serial.run(sessionId)`. */
  async onResult(sessionId: string, live: LiveRun, reported: TurnOutcome): Promise<void> {
    const { counts, decision } = decideTurnEnd(live, reported);
    if (decision.kind !== "defer") live.turnTrace?.end(turnResultOf(counts));
    live.turnEnded = true;
    live.openTools.clear();
    live.interruptRequested = false;
    live.costBase = counts.costUsd;
    live.turnsBase = counts.turns;
    live.turnsInTurn = 0;
    live.turnLimitHit = false;
    live.deferredOutcome = undefined;
    const limit = counts.outcome.limit;
    if (limit && this.ctx.limits.shouldPark(limit) && (await this.ctx.park(sessionId, live, limit, counts)))
      return;
    if (decision.kind === "defer") {
      live.deferredOutcome = counts.outcome;
      await recordTurnCounts(this.ctx, sessionId, counts);
      return;
    }
    if (
      decision.kind === "heal" &&
      (await this.ctx.heal(sessionId, "api_error", counts.outcome.text, counts))
    )
      return;
    const completed = decision.kind === "complete";
    if (completed) this.ctx.healthy(sessionId);
    const updated = completed
      ? await this.complete(sessionId, counts)
      : await this.failTurn(
          sessionId,
          decision.kind === "heal" ? decision.otherwise : decision.failure,
          counts,
        );
    if (!updated) return;
    clearTimers(live);
    await this.ctx.settled(sessionId);
    if (completed) this.ctx.armKeepAlive(sessionId, live);
    // A failed query refuses every later turn (the SDK counts limits per query): end it, resume afresh.
    else await this.ctx.close(sessionId, "graceful");
    await this.ctx.dispatch(sessionId);
    await this.enforceTreeBudget(sessionId);
    void this.ctx.drainQueue();
  }

  /** The subagents a turn left working are done and the CLI ran no turn of its own: complete it now. */
  async completeDeferred(sessionId: string, live: LiveRun): Promise<void> {
    const outcome = live.deferredOutcome;
    if (!outcome || live.backgroundSubagents > 0) return;
    // Its cost, requests and usage were counted when it ended: counted again here as nothing new.
    await this.onResult(sessionId, live, { ...outcome, turns: 0, usage: [] });
  }

  /** The process is gone. Unexpected exits fail the session. Call inside `serial.run(sessionId)`. */
  async onExit(sessionId: string, live: LiveRun, info: Parameters<RunObserver["onExit"]>[0]): Promise<void> {
    live.turnTrace?.end({ outcome: info.expected ? "closed" : "exited" });
    if (!this.ctx.runs.isCurrent(sessionId, live)) return;
    clearTimers(live);
    this.ctx.runs.delete(sessionId);
    this.ctx.treeBudget.release(sessionId);
    this.ctx.permissions.dropWaiters(sessionId);
    await this.ctx.settled(sessionId);
    if (!info.expected) {
      const how = info.signal ? `signal ${info.signal}` : `code ${info.code}`;
      const detail = info.error ? `: ${info.error}` : "";
      const [reason, error] =
        live.resumed && !live.turnEnded
          ? ([
              "resume_failed",
              `could not resume the conversation (claude exited with ${how})${detail}`,
            ] as const)
          : (["process_exited", `claude process exited unexpectedly (${how})${detail}`] as const);
      await this.ctx.lifecycle.fail(sessionId, reason, error, { from: WORKING });
    }
    void this.ctx.drainQueue();
  }

  private async complete(sessionId: string, counts: TurnCounts): Promise<SessionRow | undefined> {
    const { outcome } = counts;
    const current = await selectSessionById(this.ctx.store.db, sessionId);
    // A steer that raced the end of a turn makes the CLI run one more turn on its own: its result still
    // counts, and the history says the session went on before it completed again.
    const continued: EventSpec[] =
      current?.status === "completed" ? [["session.resumed", { reason: "continued" }]] : [];
    return this.ctx.lifecycle.endTurn(sessionId, {
      to: "completed",
      from: [...WORKING, "completed"],
      also: usageOf(counts),
      changes: {
        ...countChanges(counts),
        result: outcome.text,
        error: null,
        failure_reason: null,
        ended_at: new Date().toISOString(),
      },
      events: [
        ...continued,
        [
          "session.completed",
          {
            result: outcome.text,
            costUsd: counts.costUsd,
            turns: counts.turns,
            ...(outcome.reason === "interrupted" ? { interrupted: true } : {}),
          },
        ],
      ],
    });
  }

  private async failTurn(
    sessionId: string,
    failure: TurnFailure,
    counts: TurnCounts,
  ): Promise<SessionRow | undefined> {
    // Messages a refused resume was for never reached the model: their receipts say so, and they do not
    // resume the session again by themselves (it would be refused the same way).
    if (failure.refuseMessages)
      await this.ctx.log.write((context) => refusePendingMessages(context.tx, sessionId));
    return this.ctx.lifecycle.fail(sessionId, failure.reason, failure.error, {
      changes: countChanges(counts),
      from: WORKING,
      also: usageOf(counts),
    });
  }

  /**
   * After a turn's cost is counted: if the tree's root set maxTreeBudgetUsd and the tree spent it, every
   * working session of the tree stops with reason tree_budget and the root is told.
   */
  private async enforceTreeBudget(sessionId: string): Promise<void> {
    const session = await selectSessionById(this.ctx.store.db, sessionId);
    if (!session) return;
    const budget = await treeBudgetOf(this.ctx.store.db, session);
    if (!budget || budget.spentUsd < budget.limitUsd) return;
    const why = `the tree budget of $${budget.limitUsd} set on ${budget.root.id} is spent ($${budget.spentUsd.toFixed(4)})`;
    const working = budget.members.filter((member) => WORKING.includes(member.status));
    for (const member of working) {
      const stop = async () => {
        if (await this.ctx.lifecycle.fail(member.id, "tree_budget", why, { from: WORKING }))
          await this.ctx.close(member.id, "force");
      };
      if (member.id === sessionId) await stop();
      else this.ctx.detach(member.id, "tree budget stop", stop);
    }
    if (working.length === 0 || budget.root.status === "killed") return;
    await this.ctx.log.write((context) =>
      writeMessage(context, {
        sessionId: budget.root.id,
        text: `[Baton] Stopped ${working.length} session(s): ${why}.`,
        mode: "queue",
      }),
    );
  }
}

export function countChanges(counts: TurnCounts): Partial<SessionRow> {
  return { cost_usd: counts.costUsd, turns: counts.turns };
}

export function usageOf(counts: TurnCounts): (context: WriteContext, row: SessionRow) => Promise<void> {
  return (context, row) => recordTurnUsage(context, row, counts.outcome, counts.costDeltaUsd);
}

/** A turn's cost and requests (and its usage rows) without a status change, with `events`. */
export async function recordTurnCounts(
  ctx: Pick<RunContext, "log">,
  sessionId: string,
  counts: TurnCounts | undefined,
  events: readonly EventSpec[] = [],
): Promise<void> {
  await ctx.log.write(async (context) => {
    const changes = counts ? countChanges(counts) : {};
    await updateSessionRow(context.tx, sessionId, { ...changes, updated_at: new Date().toISOString() });
    for (const [topic, data] of events) await context.emit(topic, sessionId, data);
    const updated = await selectSessionById(context.tx, sessionId);
    if (updated && counts) await usageOf(counts)(context, updated);
  });
}
