import type { RunCommand } from "../sessions/node-mailbox.ts";
import type { RunContext } from "../sessions/run-context.ts";
import { BETWEEN_TURNS, WORKING } from "../sessions/session-status.ts";
import {
  selectInterruptRequestedAmong,
  selectKilledAmong,
  selectPendingDeliveries,
} from "../store/node-command-queries.ts";
import { selectSessionById } from "../store/session-queries.ts";

/**
 * What this node does with a run command another node sent it (node-mailbox.ts), always in the session's
 * serial queue and from what the database says now: the sender committed before it sent, so a command that
 * arrives late, twice, or for a session that moved on does the right thing or nothing.
 */
export function carryOutRunCommand(ctx: RunContext, command: RunCommand): void {
  const { sessionId } = command;
  // A stopping node starts nothing; what the command asked for stays in the rows for whoever runs it next.
  if (ctx.stopping) return;
  switch (command.kind) {
    case "dispatch":
      ctx.detach(sessionId, "delivering messages sent through another node", () => ctx.dispatch(sessionId));
      return;
    case "interrupt":
      ctx.detach(sessionId, "interrupting for another node", () => ctx.interrupt(sessionId));
      return;
    case "close":
      ctx.detach(sessionId, "closing for another node", () => closeEndedRun(ctx, sessionId));
      return;
    case "permission_answered":
      void ctx.permissions
        .settleAnswered(sessionId, command.requestId)
        .catch((error: unknown) => ctx.onError(error, `answering ${command.requestId} for another node`));
      return;
  }
}

/**
 * Ends this node's process of a session that was killed (force), or cleared between turns (graceful: its
 * next message starts a new conversation, not this process's old one). A working session keeps its process.
 */
async function closeEndedRun(ctx: RunContext, sessionId: string): Promise<void> {
  if (!ctx.runs.has(sessionId)) return;
  const row = await selectSessionById(ctx.store.db, sessionId);
  if (row?.status === "killed") {
    await ctx.close(sessionId, "force");
    void ctx.drainQueue();
    return;
  }
  if (row && BETWEEN_TURNS.includes(row.status) && row.agent_session_id === null)
    await ctx.close(sessionId, "graceful");
}

/**
 * The heartbeat's catch-up for commands lost with a broken LISTEN connection: processes here of sessions
 * since killed are closed; turns whose interrupt was asked for elsewhere are interrupted; sessions with pending messages are dispatched, those this node owns and those
 * between turns whose owner died (once per newest message: one that cannot be delivered now waits for the
 * next event, as on a single node; two nodes dispatching one orphan start it once, by its status); answered
 * permission requests reach their waiting calls; lock waiters retry.
 */
export class RunCommandCatchUp {
  private readonly ctx: RunContext;
  private readonly node: string;
  private readonly locksReleased: () => void;
  /** Per session, the newest pending message already dispatched by a catch-up. */
  private readonly dispatched = new Map<string, number>();
  private readonly queued = new Set<string>();

  constructor(ctx: RunContext, node: string, locksReleased: () => void) {
    this.ctx = ctx;
    this.node = node;
    this.locksReleased = locksReleased;
  }

  async run(): Promise<void> {
    const { ctx } = this;
    for (const id of await selectKilledAmong(ctx.store.db, ctx.runs.sessionIds()))
      this.once(id, "closing a session killed through another node", () => closeEndedRun(ctx, id));
    const query = {
      node: this.node,
      now: new Date().toISOString(),
      owned: [...WORKING, ...BETWEEN_TURNS],
      unowned: BETWEEN_TURNS,
    };
    const pending = await selectPendingDeliveries(ctx.store.db, query);
    const current = new Set(pending.map(({ sessionId }) => sessionId));
    for (const id of this.dispatched.keys()) if (!current.has(id)) this.dispatched.delete(id);
    for (const { sessionId, newest } of pending) {
      if (this.dispatched.get(sessionId) === newest) continue;
      this.dispatched.set(sessionId, newest);
      this.once(sessionId, "delivering messages left pending", () => ctx.dispatch(sessionId));
    }
    // An interrupt asked for through another node whose nudge never came: once per turn (the run's own
    // flag stays set until the turn ends and clears the request).
    for (const id of await selectInterruptRequestedAmong(ctx.store.db, ctx.runs.sessionIds()))
      if (!ctx.runs.get(id)?.interruptRequested)
        this.once(id, "interrupting for another node", () => ctx.interrupt(id));
    for (const answered of await ctx.permissions.answeredElsewhere())
      carryOutRunCommand(ctx, { kind: "permission_answered", ...answered });
    this.locksReleased();
  }

  /** Queues a task for the session unless one from an earlier beat still waits in its queue. */
  private once(sessionId: string, context: string, task: () => Promise<unknown>): void {
    if (this.queued.has(sessionId)) return;
    this.queued.add(sessionId);
    this.ctx.detach(sessionId, context, () => task().finally(() => this.queued.delete(sessionId)));
  }
}
