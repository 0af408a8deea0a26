import { randomUUID } from "node:crypto";
import { selectPendingMessages, selectSessionsWithPendingMessages } from "../store/message-queries.ts";
import { type SessionRow, selectSessionById, selectSessionsInStatuses } from "../store/session-queries.ts";
import type { RunContext } from "./run-context.ts";
import { configOf } from "./session-mapper.ts";
import { WORKING } from "./session-status.ts";
import { recordSessionEvents, transitionSession } from "./session-writes.ts";

const RESTART_NOTE =
  "[Baton note: the session manager restarted while you were working, so your last step may not have finished. " +
  "Check the state of your work and continue the task where you left off.]";

/**
 * After a restart: reap processes the previous Baton left behind, then resume (or fail, by policy) the
 * sessions that were working, deliver accepted messages, and start the queue.
 */
export async function recoverSessions(ctx: RunContext): Promise<void> {
  const db = ctx.store.db;
  // In a cluster only the sessions no live node owns (src/cluster); alone, every working one.
  const working = ctx.ownership
    ? await ctx.ownership.claimOrphans(true)
    : await selectSessionsInStatuses(db, WORKING);
  await resumeOrphans(ctx, working, "baton_restarted");
  for (const sessionId of await selectSessionsWithPendingMessages(db))
    await ctx.serial.run(sessionId, () => ctx.dispatch(sessionId));
  await ctx.drainQueue();
}

/**
 * Resumes working sessions that have no process here: after a restart, or adopted from a dead node
 * (`reason` says which in `session.resumed`).
 */
export async function resumeOrphans(
  ctx: RunContext,
  working: readonly SessionRow[],
  reason: "baton_restarted" | "node_lost",
): Promise<void> {
  // Parked sessions wait for their limit's reset (credential-limits.ts), not for a restart.
  const parked = await ctx.limits.parkedIds();
  const orphans = working.filter((row) => !ctx.runs.has(row.id) && !parked.has(row.id));
  // Old-generation children must be gone before a resume writes to the same transcript (two writers
  // would branch it); they are reaped together, then every session resumes concurrently.
  await Promise.all(
    orphans.map((row) =>
      row.pid ? ctx.runner.reapStale({ pid: row.pid, startTime: row.pid_start_time ?? undefined }) : false,
    ),
  );
  await Promise.all(orphans.map((row) => ctx.serial.run(row.id, () => recoverWorking(ctx, row.id, reason))));
}

async function recoverWorking(ctx: RunContext, sessionId: string, reason: string): Promise<void> {
  const row = await selectSessionById(ctx.store.db, sessionId);
  if (!row || !WORKING.includes(row.status)) return;
  if (ctx.settings.recoveryPolicy === "fail") {
    const why = "Baton restarted while the session was working (recoveryPolicy: fail)";
    await ctx.lifecycle.fail(sessionId, "interrupted", why);
    return;
  }
  if (row.status === "waiting")
    await transitionSession(ctx.log, sessionId, { to: "running", from: ["waiting"] });
  const pending = await selectPendingMessages(ctx.store.db, sessionId);
  const announce = { reason };
  if (row.agent_session_id === null || (await firstTurnLost(ctx, row))) {
    await recordSessionEvents(ctx.log, sessionId, [["session.resumed", announce]]);
    // A lost first turn starts over as a new conversation (a new id: the old one may exist on some disk).
    await ctx.startRun(
      { ...row, agent_session_id: null, agent_fingerprint: null },
      {
        resume: false,
        inputs: [{ id: randomUUID(), text: configOf(row).prompt }],
        pending,
      },
    );
    return;
  }
  // session.resumed follows once the new process proved it is the stored agent (resume-check.ts).
  await ctx.startRun(row, {
    resume: true,
    inputs: [{ id: randomUUID(), text: RESTART_NOTE }],
    pending,
    announce,
  });
}

/**
 * A first turn cut short before any of its transcript lines reached the database (the CLI hands them over
 * when it flushes its file, up to seconds late): no node can resume that conversation, so it is begun
 * again from the prompt, as if the turn had never started. Only with transcripts in the database (the
 * runner says whether its store holds the conversation); local files are left to the resume itself.
 */
async function firstTurnLost(ctx: RunContext, row: SessionRow): Promise<boolean> {
  if (row.agent_session_id === null || row.turns > 0) return false;
  return (await ctx.runner.conversationStored?.(row.agent_session_id)) === false;
}
