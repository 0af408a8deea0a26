import { randomUUID } from "node:crypto";
import { describeError } from "../core/errors.ts";
import { type MessageRow, markMessagesDelivered, selectPendingMessages } from "../store/message-queries.ts";
import { type SessionRow, selectSessionById } from "../store/session-queries.ts";
import { readConversationStart } from "./conversation-start.ts";
import { clearTimers, type LiveRun, newLiveRun } from "./live-run.ts";
import { parseFingerprint, verifiedFields } from "./resume-check.ts";
import type { RunContext, RunStart } from "./run-context.ts";
import { observeRun } from "./run-observer.ts";
import type { AgentFingerprint, InputMessage } from "./runner-port.ts";
import { configOf } from "./session-mapper.ts";
import { BETWEEN_TURNS, WORKING } from "./session-status.ts";
import { recordSessionEvents } from "./session-writes.ts";
import type { TurnEnds } from "./turn-end.ts";
import { renderMessage } from "./turn-helpers.ts";
import { TurnTrace } from "./turn-trace.ts";

/**
 * Starting runs and feeding them: a new process for a session (fresh or resumed, within its budget and
 * turn limits), the resume check's outcome, and delivery of messages into a live process.
 */
export class RunStarts {
  private readonly ctx: RunContext;
  private readonly turnEnds: TurnEnds;

  constructor(ctx: RunContext, turnEnds: TurnEnds) {
    this.ctx = ctx;
    this.turnEnds = turnEnds;
  }

  /** Starts a session that the scheduler moved to running. Call inside `serial.run(sessionId)`. */
  async startClaimed(sessionId: string): Promise<void> {
    const db = this.ctx.store.db;
    const row = await selectSessionById(db, sessionId);
    if (row?.status !== "running") return;
    const pending = await selectPendingMessages(db, sessionId);
    const live = this.ctx.runs.get(sessionId);
    if (live) {
      await this.continueWarm(row, live, pending);
      return;
    }
    // A session that has had a process before continues its conversation; a new one starts with its prompt.
    const resume = row.agent_session_id !== null;
    // A cleared session starts its new conversation from its messages alone (conversation-start.ts).
    const fresh = !resume && !(await readConversationStart(db, sessionId)).cleared;
    const inputs: InputMessage[] = fresh ? [{ id: randomUUID(), text: configOf(row).prompt }] : [];
    const announce = pending[0] ? { messageId: pending[0].id } : {};
    await this.startRun(row, { resume, inputs, pending, announce });
  }

  /** Delivers a session's pending messages as its status allows. Call inside `serial.run(sessionId)`. */
  async dispatch(sessionId: string): Promise<void> {
    const db = this.ctx.store.db;
    const row = await selectSessionById(db, sessionId);
    if (!row) return;
    const pending = await selectPendingMessages(db, sessionId);
    if (pending.length === 0) return;
    // A session another live node runs (or holds warm) takes its messages there, not in a second process here.
    const runsElsewhere =
      !this.ctx.runs.has(sessionId) && [...WORKING, ...BETWEEN_TURNS].includes(row.status);
    if (runsElsewhere && (await this.ctx.mailbox?.forward({ kind: "dispatch", sessionId }))) return;
    if (WORKING.includes(row.status)) {
      const live = this.ctx.runs.get(sessionId);
      if (!live?.run) return;
      const steer = pending.filter((message) => message.mode === "steer");
      if (steer.length > 0) await this.deliver(sessionId, live, steer);
      if (pending.some((message) => message.mode === "interrupt") && !live.interruptRequested) {
        live.interruptRequested = true;
        await live.run.interrupt();
      }
      return;
    }
    if (row.status === "completed" || row.status === "failed") await this.resume(row, pending);
  }

  /**
   * A follow-up that waited in the queue for a slot while its process stayed warm, now claimed: its turn
   * starts in that process, announced as a follow-up that found a slot at once is (a turn ending there
   * without a `session.resumed` would be a turn nobody started, and without this the message sat pending
   * in a session marked running). Nothing pending (the message was withdrawn meanwhile): nothing to start.
   */
  private async continueWarm(row: SessionRow, live: LiveRun, pending: MessageRow[]): Promise<void> {
    const first = pending[0];
    if (!live.run || !first) return;
    await this.deliverWarm(row, live, pending, first.id);
  }

  /**
   * Starts a turn in a process that stayed warm between turns: its idle timers give way to the turn's.
   * `resumedBy`: the turn is announced with `session.resumed` for that message first.
   */
  private async deliverWarm(
    row: SessionRow,
    live: LiveRun,
    pending: MessageRow[],
    resumedBy?: string,
  ): Promise<void> {
    clearTimers(live);
    if (resumedBy)
      await recordSessionEvents(this.ctx.log, row.id, [["session.resumed", { messageId: resumedBy }]]);
    await this.deliver(row.id, live, pending);
    this.ctx.armWatchdogs(row.id, live, configOf(row).idleTimeoutMs);
  }

  /** A follow-up for a session between turns: into its warm process, or a resumed one when a slot is free. */
  private async resume(row: SessionRow, pending: MessageRow[]): Promise<void> {
    const live = this.ctx.runs.get(row.id);
    const cold = !live?.run && row.agent_session_id !== null;
    const admitted = await this.ctx.scheduler.admitResume(row, pending[0]?.id, !cold);
    if (!admitted) return;
    if (live?.run) {
      await this.deliverWarm(row, live, pending);
      return;
    }
    // A cleared session has no conversation to resume: it starts a new one with these messages.
    const announce = pending[0] ? { messageId: pending[0].id } : {};
    await this.startRun(admitted, {
      resume: admitted.agent_session_id !== null,
      inputs: [],
      pending,
      announce,
    });
  }

  async startRun(row: SessionRow, start: RunStart): Promise<void> {
    const config = configOf(row);
    const { lifecycle } = this.ctx;
    const ownLeft = config.maxBudgetUsd - row.cost_usd;
    let budgetLeft = ownLeft;
    if (ownLeft > 0) {
      try {
        budgetLeft = (await this.ctx.treeBudget.reserveForRun(row, ownLeft)) ?? ownLeft;
      } catch (error) {
        await lifecycle.fail(row.id, "tree_budget", describeError(error));
        return;
      }
    }
    const turnsLeft = config.maxTurns - row.turns;
    if (budgetLeft <= 0) {
      const spent = `budget of $${config.maxBudgetUsd} is spent ($${row.cost_usd.toFixed(4)} used)`;
      await lifecycle.fail(row.id, "max_budget", spent);
      return;
    }
    if (turnsLeft <= 0) {
      await lifecycle.fail(row.id, "max_turns", `turn limit of ${config.maxTurns} reached`);
      return;
    }
    const { resume, inputs, pending, announce = {} } = start;
    const agentSessionId = row.agent_session_id ?? randomUUID();
    const { costOffsetUsd } = await readConversationStart(this.ctx.store.db, row.id);
    try {
      await this.ctx.runner.prepare?.();
    } catch (error) {
      await lifecycle.fail(row.id, resume ? "resume_failed" : "start_failed", describeError(error));
      return;
    }
    const agent = await this.ctx.prepareAgent(row.id, config.coordinationTools !== false);
    const live = newLiveRun({
      costBase: row.cost_usd,
      costOffset: costOffsetUsd,
      turnsBase: row.turns,
      maxTurns: config.maxTurns,
      resumed: resume,
      fingerprintStored: row.agent_fingerprint !== null,
      turnTrace:
        this.ctx.tracer &&
        new TurnTrace(this.ctx.tracer, { sessionId: row.id, owner: row.owner, model: config.model }),
      ...(resume && {
        resumeCheck: {
          expected: {
            agentSessionId,
            permissionMode: config.permissionMode,
            workDir: config.workDir,
            stored: parseFingerprint(row.agent_fingerprint),
          },
          announce,
        },
      }),
    });
    // Starts are throttled (CPU): the permit goes back when the process first speaks (start-throttle.ts).
    const permit = await this.ctx.throttle?.acquire();
    this.ctx.runs.set(row.id, live);
    try {
      const observer = observeRun(
        this.ctx,
        { starts: this, turnEnds: this.turnEnds },
        row.id,
        live,
        config.permissionTimeoutMs,
      );
      live.run = this.ctx.runner.start(
        {
          sessionId: row.id,
          agentSessionId,
          resume,
          config,
          maxBudgetUsd: budgetLeft,
          maxTurns: turnsLeft,
          env: agent.env,
          tools: agent.tools,
        },
        permit?.watch(observer) ?? observer,
      );
    } catch (error) {
      permit?.release();
      this.ctx.runs.delete(row.id);
      await lifecycle.fail(row.id, resume ? "resume_failed" : "start_failed", describeError(error));
      return;
    }
    const pid = live.process?.pid ?? live.run.pid ?? null;
    // A run on a parked spare serves the spare's conversation id (runner-port.ts).
    const conversationId = live.run.agentSessionId ?? agentSessionId;
    const spawned = {
      agentSessionId: conversationId,
      ...(pid ? { pid } : {}),
      ...(resume ? { resumed: true } : {}),
    };
    await recordSessionEvents(this.ctx.log, row.id, [["session.spawned", spawned]], {
      agent_session_id: conversationId,
      pid,
      pid_start_time: live.process?.startTime ?? null,
    });
    // A resumed process gets its input once it proved who it is (resumeVerified).
    if (resume) live.heldInputs = inputs;
    else await this.deliver(row.id, live, pending, inputs);
    this.ctx.armWatchdogs(row.id, live, config.idleTimeoutMs);
  }

  /** The resumed process is the stored agent: say so, then deliver what it was resumed for. */
  async resumeVerified(sessionId: string, live: LiveRun, fingerprint: AgentFingerprint): Promise<void> {
    const check = live.resumeCheck;
    if (!check) return;
    live.resumeCheck = undefined;
    const store = live.fingerprintStored ? undefined : { agent_fingerprint: JSON.stringify(fingerprint) };
    live.fingerprintStored = true;
    const verified = verifiedFields(fingerprint);
    await recordSessionEvents(
      this.ctx.log,
      sessionId,
      [["session.resumed", { ...check.announce, verified }]],
      store,
    );
    const pending = await selectPendingMessages(this.ctx.store.db, sessionId);
    await this.deliver(sessionId, live, pending, live.heldInputs.splice(0));
  }

  /**
   * Pushes messages into a live run as ONE input, then marks them delivered (at-least-once across a crash).
   * One input, because inputs pushed back-to-back into an idle CLI run as separate turns (measured), and
   * a caller who queued several messages expects them read together, in order, in the next turn.
   */
  async deliver(
    sessionId: string,
    live: LiveRun,
    messages: readonly MessageRow[],
    leading: readonly InputMessage[] = [],
  ): Promise<void> {
    if (!live.run || messages.length + leading.length === 0) return;
    const parts = [...leading.map((input) => input.text), ...messages.map(renderMessage)];
    const id = leading[0]?.id ?? messages[0]?.id ?? randomUUID();
    live.turnTrace?.begin();
    live.run.deliver({ id, text: parts.join("\n\n") });
    if (messages.length === 0) return;
    const now = new Date().toISOString();
    await this.ctx.log.write(async (context) => {
      await markMessagesDelivered(
        context.tx,
        messages.map((message) => message.id),
        now,
      );
      for (const message of messages) {
        await context.emit("session.message_delivered", sessionId, {
          messageId: message.id,
          mode: message.mode,
          ...(message.sender_session_id ? { from: message.sender_session_id } : {}),
        });
      }
    });
  }
}
