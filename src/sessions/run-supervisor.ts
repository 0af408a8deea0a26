import { randomUUID } from "node:crypto";
import { describeError } from "../core/errors.ts";
import { roundUsd } from "../core/money.ts";
import { KeyedSerial } from "../core/serial.ts";
import type { EventLog, WriteContext } from "../events/event-log.ts";
import {
  type MessageRow,
  markMessagesDelivered,
  refusePendingMessages,
  selectPendingMessages,
} from "../store/message-queries.ts";
import type { Store } from "../store/open-store.ts";
import { type SessionRow, selectSessionById, updateSessionRow } from "../store/session-queries.ts";
import { selectExpiredWaits } from "../store/wait-queries.ts";
import { readConversationStart } from "./conversation-start.ts";
import { clearTimers, type LiveRun, newLiveRun, watchIdle, watchStall } from "./live-run.ts";
import { writeMessage } from "./message-writes.ts";
import { OutputDeltas } from "./output-deltas.ts";
import { PermissionBroker } from "./permission-broker.ts";
import { findResumeMismatch, parseFingerprint, verifiedFields } from "./resume-check.ts";
import type {
  AgentFingerprint,
  AgentRunner,
  AgentTool,
  InputMessage,
  RunObserver,
  ToolCallCheck,
  TurnOutcome,
} from "./runner-port.ts";
import {
  type HealthSettings,
  isRetryableFailure,
  type RestartReason,
  restartDelayMs,
  restartNote,
} from "./self-healing.ts";
import { configOf } from "./session-mapper.ts";
import { type FailureReason, type SessionStatus, SLOT_HOLDING } from "./session-status.ts";
import { type EventSpec, recordSessionEvents, transitionSession } from "./session-writes.ts";
import { SlotScheduler } from "./slot-scheduler.ts";
import { treeBudgetOf } from "./tree-budget.ts";
import { TreeBudgetLedger } from "./tree-ledger.ts";
import { pickNumbers, renderMessage, toFailureReason } from "./turn-helpers.ts";
import { recordToolCall, recordTurnUsage } from "./usage-writes.ts";
import { queueWaitExpiry, queueWakeMessages } from "./wake.ts";

export interface SupervisorSettings extends HealthSettings {
  maxConcurrent: number;
  maxPerOwner: number;
  keepAliveMs: number;
  idleAction: "notify" | "interrupt" | "fail";
  recoveryPolicy: "resume" | "fail";
  queueTimeoutMs: number;
  /** Streamed text is coalesced into one session.output delta per this many ms (see OutputDeltas). */
  outputDeltaMs: number;
}

export interface SupervisorDeps {
  store: Store;
  log: EventLog;
  runner: AgentRunner;
  settings: SupervisorSettings;
  /**
   * What a new process of the session gets: its environment (BATON_URL, BATON_SESSION_ID and a token of
   * its own) and, when `withTools`, Baton's coordination tools acting with that token.
   */
  prepareAgent(
    sessionId: string,
    withTools: boolean,
  ): Promise<{ env: Record<string, string>; tools: AgentTool[] }>;
  /** Checks a tool call before it runs (workspace locks); may wait, may deny. */
  checkToolCall?(sessionId: string, call: ToolCallCheck): Promise<{ deny: string } | undefined>;
  /** A session's turn ended, or its process is gone: release what it held for the turn (locks). */
  onTurnSettled?(sessionId: string): Promise<void>;
  onError(error: unknown, context: string): void;
}

const ACTIVE: readonly SessionStatus[] = ["running", "waiting"];

/** How long after its subagents finished a deferred turn waits for the CLI's own follow-up turn. */
const BACKGROUND_TURN_GRACE_MS = 5000;

const RESTART_NOTE =
  "[Baton note: the session manager restarted while you were working, so your last step may not have finished. " +
  "Check the state of your work and continue the task where you left off.]";

/**
 * Owns every live agent process: starts runs when a slot is free, turns the runner's callbacks into state
 * transitions and events, delivers pending messages, and releases processes. All work on one session runs
 * through `serial` (one task at a time per session); slot decisions run in the SlotScheduler (one at a time).
 * Lock order is always session first, then the scheduler, never the reverse.
 */
export class RunSupervisor {
  readonly serial = new KeyedSerial();
  readonly permissions: PermissionBroker;
  /** Reservations against tree budgets (maxTreeBudgetUsd): see tree-ledger.ts. */
  readonly treeBudget: TreeBudgetLedger;
  private readonly live = new Map<string, LiveRun>();
  private readonly scheduler: SlotScheduler;
  private readonly deps: SupervisorDeps;
  private stopping = false;
  private queueSweeper: NodeJS.Timeout | undefined;
  /** Fire-and-forget work (queue drains, sweeps) that stop() must wait for. */
  private readonly background = new Set<Promise<unknown>>();
  /** Restarts in a row per session (self-healing.ts); a successful turn clears the count. */
  private readonly restarts = new Map<string, number>();
  /** Restarts waiting out their backoff; stop() cancels them (the next start recovers those sessions). */
  private readonly restartTimers = new Set<NodeJS.Timeout>();

  constructor(deps: SupervisorDeps) {
    this.deps = deps;
    this.permissions = new PermissionBroker({ store: deps.store, log: deps.log, serial: this.serial });
    this.scheduler = new SlotScheduler({ store: deps.store, log: deps.log, limits: deps.settings });
    this.treeBudget = new TreeBudgetLedger({ db: deps.store.db, isLive: (id) => this.live.has(id) });
  }

  get liveCount(): number {
    return this.live.size;
  }

  /** Pids of the live agent processes (for the memory gauge). */
  livePids(): number[] {
    return [...this.live.values()].flatMap((live) => live.process?.pid ?? live.run?.pid ?? []);
  }

  isLive(sessionId: string): boolean {
    return this.live.has(sessionId);
  }

  /** Delivers a session's pending messages as its status allows. Call inside `serial.run(sessionId)`. */
  async dispatch(sessionId: string): Promise<void> {
    const row = await selectSessionById(this.deps.store.db, sessionId);
    if (!row) return;
    const pending = await selectPendingMessages(this.deps.store.db, sessionId);
    if (pending.length === 0) return;
    const status = row.status as SessionStatus;
    if (status === "running" || status === "waiting") {
      const live = this.live.get(sessionId);
      if (!live?.run) return;
      const steer = pending.filter((message) => message.mode === "steer");
      if (steer.length > 0) await this.deliver(sessionId, live, steer);
      if (pending.some((message) => message.mode === "interrupt") && !live.interruptRequested) {
        live.interruptRequested = true;
        await live.run.interrupt();
      }
      return;
    }
    if (status === "completed" || status === "failed") await this.resume(row, pending);
  }

  /** Starts queued sessions while slots are free, in queue order. */
  drainQueue(): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return this.inBackground(this.drainQueueNow());
  }

  private async drainQueueNow(): Promise<void> {
    for (const row of await this.scheduler.claimQueued()) {
      void this.serial
        .run(row.id, () => this.startClaimed(row.id))
        .catch((error) => this.deps.onError(error, `starting ${row.id}`));
    }
    await this.scheduler.renumber();
  }

  /** A new session: claims a slot (resolves undefined) or leaves it queued (resolves its position). */
  admit(row: SessionRow): Promise<number | undefined> {
    return this.scheduler.admit(row);
  }

  /** Starts a session that `admit` or `drainQueue` moved to running. Call inside `serial.run(sessionId)`. */
  async startClaimed(sessionId: string): Promise<void> {
    const row = await selectSessionById(this.deps.store.db, sessionId);
    if (row?.status !== "running" || this.live.has(sessionId)) return;
    const pending = await selectPendingMessages(this.deps.store.db, sessionId);
    // A session that has had a process before continues its conversation; a new one starts with its prompt.
    const resumed = row.agent_session_id !== null;
    // A cleared session starts its new conversation from its messages alone (conversation-start.ts).
    const fresh = !resumed && !(await readConversationStart(this.deps.store.db, sessionId)).cleared;
    const inputs: InputMessage[] = fresh ? [{ id: randomUUID(), text: configOf(row).prompt }] : [];
    await this.startRun(row, resumed, inputs, pending, pending[0] ? { messageId: pending[0].id } : {});
  }

  async interrupt(sessionId: string): Promise<boolean> {
    const live = this.live.get(sessionId);
    if (!live?.run) return false;
    live.interruptRequested = true;
    await live.run.interrupt();
    return true;
  }

  /** Ends a session's process (if any). Call inside `serial.run(sessionId)`. */
  async close(sessionId: string, mode: "graceful" | "force"): Promise<void> {
    const live = this.live.get(sessionId);
    if (!live) return;
    clearTimers(live);
    this.permissions.dropWaiters(sessionId);
    await live.run?.close(mode);
    this.live.delete(sessionId);
    this.treeBudget.release(sessionId);
    await this.settled(sessionId);
  }

  /**
   * After a restart: reap processes the previous Baton left behind, then resume (or fail, by policy) the
   * sessions that were working, deliver accepted messages, and start the queue.
   */
  async recover(): Promise<void> {
    const db = this.deps.store.db;
    const working = await db
      .selectFrom("sessions")
      .selectAll()
      .where("status", "in", [...SLOT_HOLDING])
      .execute();
    const orphans = working.filter((row) => !this.live.has(row.id));
    // Old-generation children must be gone before a resume writes to the same transcript (two writers
    // would branch it); they are reaped together, then every session resumes concurrently.
    await Promise.all(
      orphans.map((row) =>
        row.pid
          ? this.deps.runner.reapStale({ pid: row.pid, startTime: row.pid_start_time ?? undefined })
          : false,
      ),
    );
    await Promise.all(orphans.map((row) => this.serial.run(row.id, () => this.recoverWorking(row.id))));
    const withMail = await db
      .selectFrom("messages")
      .select("session_id")
      .distinct()
      .where("status", "=", "pending")
      .execute();
    for (const { session_id } of withMail) await this.serial.run(session_id, () => this.dispatch(session_id));
    await this.drainQueue();
  }

  private async recoverWorking(sessionId: string): Promise<void> {
    const row = await selectSessionById(this.deps.store.db, sessionId);
    if (!row || !SLOT_HOLDING.includes(row.status as SessionStatus)) return;
    if (this.deps.settings.recoveryPolicy === "fail") {
      await this.fail(
        sessionId,
        "interrupted",
        "Baton restarted while the session was working (recoveryPolicy: fail)",
      );
      return;
    }
    if (row.status === "waiting")
      await transitionSession(this.deps.log, sessionId, { to: "running", from: ["waiting"] });
    const pending = await selectPendingMessages(this.deps.store.db, sessionId);
    const announce = { reason: "baton_restarted" };
    if (row.agent_session_id === null) {
      await recordSessionEvents(this.deps.log, sessionId, [["session.resumed", announce]]);
      await this.startRun(row, false, [{ id: randomUUID(), text: configOf(row).prompt }], pending);
      return;
    }
    // session.resumed follows once the new process proved it is the stored agent (resume-check.ts).
    const note = { id: randomUUID(), text: RESTART_NOTE };
    await this.startRun(row, true, [note], pending, announce);
  }

  /**
   * Fails sessions that waited in the queue longer than `queueTimeoutMs`. The queue entry time is the
   * row's `updated_at` (a queued row changes only when it leaves the queue), so this survives restarts.
   */
  startQueueSweeper(): void {
    if (this.queueSweeper) return;
    const period = Math.max(50, Math.min(1000, Math.floor(this.deps.settings.queueTimeoutMs / 4)));
    const sweep = async () => {
      const cutoff = new Date(Date.now() - this.deps.settings.queueTimeoutMs).toISOString();
      const expired = await this.deps.store.db
        .selectFrom("sessions")
        .select("id")
        .where("status", "=", "queued")
        .where("updated_at", "<", cutoff)
        .execute();
      await this.expireWaits();
      for (const { id } of expired) {
        await this.serial.run(id, () =>
          this.fail(
            id,
            "queue_timeout",
            `still queued after ${this.deps.settings.queueTimeoutMs} ms (queueTimeoutMs)`,
          ),
        );
      }
      if (expired.length > 0) await this.scheduler.renumber();
    };
    this.queueSweeper = setInterval(() => {
      if (!this.stopping)
        void this.inBackground(sweep()).catch((error) => this.deps.onError(error, "queue sweep"));
    }, period);
    this.queueSweeper.unref();
  }

  /** Closes every process so that each session can be resumed by the next start; statuses stay as they are. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.queueSweeper) clearInterval(this.queueSweeper);
    for (const timer of this.restartTimers) clearTimeout(timer);
    // Work started before the stop (a queue drain, a sweep) finishes before the store is closed under it.
    await Promise.allSettled([...this.background]);
    await Promise.all(
      [...this.live.keys()].map((id) => this.serial.run(id, () => this.close(id, "graceful"))),
    );
    // Callbacks of the closed processes (exit handling) still write; bounded so a stuck task cannot hold
    // shutdown past its deadline.
    await Promise.race([this.serial.drain(), new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
    await Promise.allSettled([...this.background]);
  }

  private inBackground<T>(work: Promise<T>): Promise<T> {
    this.background.add(work);
    void work.finally(() => this.background.delete(work)).catch(() => undefined);
    return work;
  }

  /** Lets other parts release what the session held for its turn (workspace locks); never throws. */
  private async settled(sessionId: string): Promise<void> {
    await this.deps
      .onTurnSettled?.(sessionId)
      .catch((error) => this.deps.onError(error, `settling ${sessionId}`));
  }

  private async resume(row: SessionRow, pending: MessageRow[]): Promise<void> {
    const live = this.live.get(row.id);
    const cold = !live?.run && row.agent_session_id !== null;
    const admitted = await this.scheduler.admitResume(row, pending[0]?.id, !cold);
    if (!admitted) return;
    if (live?.run) {
      clearTimers(live);
      await this.deliver(row.id, live, pending);
      this.armIdle(row.id, live, configOf(row).idleTimeoutMs);
      return;
    }
    // A cleared session has no conversation to resume: it starts a new one with these messages.
    const announce = pending[0] ? { messageId: pending[0].id } : {};
    await this.startRun(admitted, admitted.agent_session_id !== null, [], pending, announce);
  }

  private async startRun(
    row: SessionRow,
    resume: boolean,
    inputs: InputMessage[],
    pending: MessageRow[],
    announce: Record<string, unknown> = {},
  ): Promise<void> {
    const config = configOf(row);
    const ownLeft = config.maxBudgetUsd - row.cost_usd;
    let budgetLeft = ownLeft;
    if (ownLeft > 0) {
      try {
        budgetLeft = (await this.treeBudget.reserveForRun(row, ownLeft)) ?? ownLeft;
      } catch (error) {
        await this.fail(row.id, "tree_budget", describeError(error));
        return;
      }
    }
    const turnsLeft = config.maxTurns - row.turns;
    if (budgetLeft <= 0) {
      await this.fail(
        row.id,
        "max_budget",
        `budget of $${config.maxBudgetUsd} is spent ($${row.cost_usd.toFixed(4)} used)`,
      );
      return;
    }
    if (turnsLeft <= 0) {
      await this.fail(row.id, "max_turns", `turn limit of ${config.maxTurns} reached`);
      return;
    }
    const agentSessionId = row.agent_session_id ?? randomUUID();
    const { costOffsetUsd } = await readConversationStart(this.deps.store.db, row.id);
    const agent = await this.deps.prepareAgent(row.id, config.coordinationTools !== false);
    const live = newLiveRun({
      costBase: row.cost_usd,
      costOffset: costOffsetUsd,
      turnsBase: row.turns,
      maxTurns: config.maxTurns,
      resumed: resume,
      fingerprintStored: row.agent_fingerprint !== null,
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
    this.live.set(row.id, live);
    try {
      live.run = this.deps.runner.start(
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
        this.observerFor(row.id, live, config.permissionTimeoutMs),
      );
    } catch (error) {
      this.live.delete(row.id);
      await this.fail(row.id, resume ? "resume_failed" : "start_failed", describeError(error));
      return;
    }
    const pid = live.process?.pid ?? live.run.pid ?? null;
    await recordSessionEvents(
      this.deps.log,
      row.id,
      [
        [
          "session.spawned",
          { agentSessionId, ...(pid ? { pid } : {}), ...(resume ? { resumed: true } : {}) },
        ],
      ],
      { agent_session_id: agentSessionId, pid, pid_start_time: live.process?.startTime ?? null },
    );
    // A resumed process gets its input once it proved who it is (resumeVerified).
    if (resume) live.heldInputs = inputs;
    else await this.deliver(row.id, live, pending, inputs);
    this.armIdle(row.id, live, config.idleTimeoutMs);
  }

  /** The resumed process is the stored agent: say so, then deliver what it was resumed for. */
  private async resumeVerified(
    sessionId: string,
    live: LiveRun,
    fingerprint: AgentFingerprint,
  ): Promise<void> {
    const check = live.resumeCheck;
    if (!check) return;
    live.resumeCheck = undefined;
    const store = live.fingerprintStored ? undefined : { agent_fingerprint: JSON.stringify(fingerprint) };
    live.fingerprintStored = true;
    const verified = verifiedFields(fingerprint);
    await recordSessionEvents(
      this.deps.log,
      sessionId,
      [["session.resumed", { ...check.announce, verified }]],
      store,
    );
    const pending = await selectPendingMessages(this.deps.store.db, sessionId);
    await this.deliver(sessionId, live, pending, live.heldInputs.splice(0));
  }

  /** Pushes messages into a live run, then marks them delivered (at-least-once across a crash). */
  /**
   * Pushes messages into a live run as ONE input, then marks them delivered (at-least-once across a crash).
   * One input, because inputs pushed back-to-back into an idle CLI run as separate turns (measured), and
   * a caller who queued several messages expects them read together, in order, in the next turn.
   */
  private async deliver(
    sessionId: string,
    live: LiveRun,
    messages: readonly MessageRow[],
    leading: readonly InputMessage[] = [],
  ): Promise<void> {
    if (!live.run || messages.length + leading.length === 0) return;
    const parts = [...leading.map((input) => input.text), ...messages.map(renderMessage)];
    const id = leading[0]?.id ?? messages[0]?.id ?? randomUUID();
    live.run.deliver({ id, text: parts.join("\n\n") });
    if (messages.length === 0) return;
    const now = new Date().toISOString();
    await this.deps.log.write(async (context) => {
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

  private observerFor(
    sessionId: string,
    live: LiveRun,
    permissionTimeoutMs: number | undefined,
  ): RunObserver {
    const isCurrent = () => this.live.get(sessionId) === live;
    const deltas = new OutputDeltas(this.deps.settings.outputDeltaMs, (delta) =>
      event("session.output", { ...delta }),
    );
    const queue = (context: string, task: () => Promise<void>) => {
      deltas.flush(); // a text's deltas go before anything that follows them
      void this.serial
        .run(sessionId, async () => {
          if (isCurrent()) await task();
        })
        .catch((error) => this.deps.onError(error, `${context} for ${sessionId}`));
    };
    const event = (topic: EventSpec[0], data: Record<string, unknown>) =>
      queue(topic, () => recordSessionEvents(this.deps.log, sessionId, [[topic, data]]));
    return {
      onSpawned: (info) => {
        live.process = info;
      },
      onInit: (fingerprint) => {
        if (live.fingerprintStored) return;
        live.fingerprintStored = true;
        queue("fingerprint", () =>
          recordSessionEvents(this.deps.log, sessionId, [], {
            agent_fingerprint: JSON.stringify(fingerprint),
          }),
        );
      },
      verifyResume: (fingerprint) => {
        const check = live.resumeCheck;
        const mismatch = check ? findResumeMismatch(check.expected, fingerprint) : undefined;
        if (mismatch === undefined)
          queue("resume verified", () => this.resumeVerified(sessionId, live, fingerprint));
        return mismatch;
      },
      onPermissionRequest: (ask) => this.permissions.ask(sessionId, ask, permissionTimeoutMs),
      onPreToolUse: async (call) =>
        this.deps.checkToolCall ? this.deps.checkToolCall(sessionId, call) : undefined,
      onActivity: () => {
        live.lastActivity = Date.now();
        live.heardFrom = true;
        live.idleReported = false;
      },
      onToolUse: (tool) => {
        live.openTools.add(tool.toolUseId);
        const data = {
          toolUseId: tool.toolUseId,
          name: tool.name,
          input: tool.input,
          ...(tool.truncated ? { truncated: true } : {}),
          ...(tool.parentToolUseId ? { parentToolUseId: tool.parentToolUseId } : {}),
        };
        // The call is counted for /metrics in the transaction that records it.
        queue("session.tool_use", () =>
          this.deps.log.write(async (context) => {
            await context.emit("session.tool_use", sessionId, data);
            await recordToolCall(context, tool.name);
          }),
        );
      },
      onToolDone: (tool) => {
        live.openTools.delete(tool.toolUseId);
        event("session.tool_done", tool);
      },
      onOutput: (output) => event("session.output", output),
      onOutputDelta: (piece) => deltas.add(piece),
      onBackgroundSubagents: (count) => {
        live.backgroundSubagents = count;
        if (count > 0 || !live.deferredOutcome || live.backgroundTimer) return;
        // The CLI reports finished subagents to the parent and runs a turn of its own on that (measured:
        // ~60 ms later); that turn's end completes the session. Should none come, the deferred one does.
        live.backgroundTimer = setTimeout(() => {
          live.backgroundTimer = undefined;
          queue("subagents done", () => this.completeDeferredTurn(sessionId, live));
        }, BACKGROUND_TURN_GRACE_MS);
        live.backgroundTimer.unref();
      },
      onModelTurn: () => {
        if (live.backgroundTimer) clearTimeout(live.backgroundTimer);
        live.backgroundTimer = undefined;
        live.turnsInTurn += 1;
        // The SDK's maxTurns counts per turn; the session's limit is for the whole conversation.
        if (live.turnsBase + live.turnsInTurn > live.maxTurns && !live.turnLimitHit) {
          live.turnLimitHit = true;
          void live.run?.interrupt().catch((error) => this.deps.onError(error, "turn-limit interrupt"));
        }
      },
      onTurnEnd: (outcome) => queue("turn end", () => this.handleTurnEnd(sessionId, live, outcome)),
      onExit: (info) => {
        deltas.discard();
        void this.serial
          .run(sessionId, () => this.handleExit(sessionId, live, info))
          .catch((error) => this.deps.onError(error, `exit of ${sessionId}`));
      },
    };
  }

  private async handleTurnEnd(sessionId: string, live: LiveRun, outcome: TurnOutcome): Promise<void> {
    // The CLI reports a conversation it cannot resume (transcript gone, other cwd) as a plain error result.
    const resumeFailed = live.resumed && !live.turnEnded && outcome.reason === "error";
    live.turnEnded = true;
    live.openTools.clear();
    live.interruptRequested = false;
    const costUsd = roundUsd(Math.max(live.costBase, live.costOffset + outcome.totalCostUsd));
    const costDeltaUsd = costUsd - live.costBase;
    const counted = live.turnsBase + Math.max(outcome.turns, live.turnsInTurn);
    // On error_max_turns the SDK counts the refused extra request too; the session never exceeds its limit.
    const limited = live.turnLimitHit || outcome.reason === "max_turns";
    const turns = limited ? Math.min(counted, live.maxTurns) : counted;
    live.costBase = costUsd;
    live.turnsBase = turns;
    live.turnsInTurn = 0;
    if (live.turnLimitHit)
      outcome = { ...outcome, reason: "max_turns", text: `turn limit of ${live.maxTurns} reached` };
    live.turnLimitHit = false;
    const succeeded = outcome.reason === "success" || outcome.reason === "interrupted";
    const changes = { cost_usd: costUsd, turns };
    const usage = (context: WriteContext, row: SessionRow) =>
      recordTurnUsage(context, row, outcome, costDeltaUsd);
    live.deferredOutcome = undefined;
    if (outcome.reason === "success" && live.backgroundSubagents > 0) {
      // Subagents still work in the background: the session is not done (see docs/events.md).
      live.deferredOutcome = outcome;
      await this.recordTurnCounts(sessionId, changes, usage);
      return;
    }
    if (succeeded) this.restarts.delete(sessionId);
    else if (!resumeFailed && isRetryableFailure(outcome)) {
      if (await this.heal(sessionId, "api_error", outcome.text, changes, usage)) return;
    }
    let woken: string[] = [];
    const current = await selectSessionById(this.deps.store.db, sessionId);
    // A steer that raced the end of a turn makes the CLI run one more turn on its own: its result still
    // counts, and the history says the session went on before it completed again.
    const continued: EventSpec[] =
      current?.status === "completed" ? [["session.resumed", { reason: "continued" }]] : [];
    const updated = succeeded
      ? await transitionSession(this.deps.log, sessionId, {
          to: "completed",
          from: [...ACTIVE, "completed"],
          also: async (context, row) => {
            await recordTurnUsage(context, row, outcome, costDeltaUsd);
            woken = await queueWakeMessages(context, row);
          },
          changes: {
            ...changes,
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
                costUsd,
                turns,
                ...(outcome.reason === "interrupted" ? { interrupted: true } : {}),
              },
            ],
          ],
        })
      : resumeFailed
        ? await this.fail(
            sessionId,
            "resume_failed",
            `could not resume the conversation: ${outcome.text}`,
            changes,
            ACTIVE,
            usage,
          )
        : await this.failTurn(sessionId, outcome, changes, usage);
    if (!updated) return;
    this.wake(woken);
    clearTimers(live);
    await this.settled(sessionId);
    if (succeeded) this.armKeepAlive(sessionId, live);
    // A failed query refuses every later turn (the SDK counts limits per query): end it, resume afresh.
    else await this.close(sessionId, "graceful");
    await this.dispatch(sessionId);
    await this.enforceTreeBudget(sessionId);
    void this.drainQueue();
  }

  private async completeDeferredTurn(sessionId: string, live: LiveRun): Promise<void> {
    const outcome = live.deferredOutcome;
    if (!outcome || live.backgroundSubagents > 0) return;
    // Its cost, requests and usage were counted when it ended: counted again here as nothing new.
    await this.handleTurnEnd(sessionId, live, { ...outcome, turns: 0, usage: [] });
  }

  private async failTurn(
    sessionId: string,
    outcome: TurnOutcome,
    changes: Record<string, unknown>,
    usage: (context: WriteContext, row: SessionRow) => Promise<void>,
  ): Promise<SessionRow | undefined> {
    // The messages a refused resume was for never reached the model: their receipts say so, and they do
    // not resume the session again by themselves (it would be refused the same way).
    if (outcome.reason === "resume_mismatch")
      await this.deps.log.write((context) => refusePendingMessages(context.tx, sessionId));
    return this.fail(sessionId, toFailureReason(outcome.reason), outcome.text, changes, ACTIVE, usage);
  }

  private async handleExit(
    sessionId: string,
    live: LiveRun,
    info: Parameters<RunObserver["onExit"]>[0],
  ): Promise<void> {
    if (this.live.get(sessionId) !== live) return;
    clearTimers(live);
    this.live.delete(sessionId);
    this.treeBudget.release(sessionId);
    this.permissions.dropWaiters(sessionId);
    await this.settled(sessionId);
    if (!info.expected) {
      const how = info.signal ? `signal ${info.signal}` : `code ${info.code}`;
      const detail = info.error ? `: ${info.error}` : "";
      if (live.resumed && !live.turnEnded) {
        await this.fail(
          sessionId,
          "resume_failed",
          `could not resume the conversation (claude exited with ${how})${detail}`,
          {},
          ACTIVE,
        );
      } else {
        await this.fail(
          sessionId,
          "process_exited",
          `claude process exited unexpectedly (${how})${detail}`,
          {},
          ACTIVE,
        );
      }
    }
    void this.drainQueue();
  }

  /**
   * Fails a queued or working session. Process events (a turn outcome, an exit) pass `ACTIVE`: a warm
   * process of a session that is queued for its next turn may die or report without failing that session.
   */
  async fail(
    sessionId: string,
    reason: FailureReason,
    error: string,
    changes: Record<string, unknown> = {},
    from: readonly SessionStatus[] = ["queued", "running", "waiting"],
    also?: (context: WriteContext, row: SessionRow) => Promise<void>,
  ): Promise<SessionRow | undefined> {
    let woken: string[] = [];
    const row = await transitionSession(this.deps.log, sessionId, {
      to: "failed",
      from,
      changes: { ...changes, error, failure_reason: reason, ended_at: new Date().toISOString() },
      events: [["session.failed", { error, reason, ...pickNumbers(changes) }]],
      also: async (context, updated) => {
        await also?.(context, updated);
        woken = await queueWakeMessages(context, updated);
      },
    });
    this.wake(woken);
    return row;
  }

  /** Waits whose time ran out: the waiter is told the target is still busy. */
  private async expireWaits(): Promise<void> {
    for (const wait of await selectExpiredWaits(this.deps.store.db, new Date().toISOString())) {
      const target = await selectSessionById(this.deps.store.db, wait.target_session_id);
      await this.deps.log.write((context) => queueWaitExpiry(context, wait, target));
      this.wake([wait.waiter_session_id]);
    }
  }

  /** Delivers wake-up messages to their recipients (each in its own serial queue, not awaited). */
  wake(recipients: readonly string[]): void {
    for (const id of recipients) {
      void this.serial
        .run(id, () => this.dispatch(id))
        .catch((error) => this.deps.onError(error, `waking ${id}`));
    }
  }

  /**
   * After a turn's cost is counted: if the tree's root set maxTreeBudgetUsd and the tree spent it, every
   * working session of the tree stops with reason tree_budget and the root is told.
   */
  private async enforceTreeBudget(sessionId: string): Promise<void> {
    const session = await selectSessionById(this.deps.store.db, sessionId);
    if (!session) return;
    const budget = await treeBudgetOf(this.deps.store.db, session);
    if (!budget || budget.spentUsd < budget.limitUsd) return;
    const why = `the tree budget of $${budget.limitUsd} set on ${budget.root.id} is spent ($${budget.spentUsd.toFixed(4)})`;
    const working = budget.members.filter((member) => ACTIVE.includes(member.status as SessionStatus));
    for (const member of working) {
      const stop = async () => {
        if (await this.fail(member.id, "tree_budget", why, {}, ACTIVE)) await this.close(member.id, "force");
      };
      if (member.id === sessionId) await stop();
      else
        void this.serial.run(member.id, stop).catch((error) => this.deps.onError(error, "tree budget stop"));
    }
    if (working.length === 0 || budget.root.status === "killed") return;
    await this.deps.log.write((context) =>
      writeMessage(context, {
        sessionId: budget.root.id,
        text: `[Baton] Stopped ${working.length} session(s): ${why}.`,
        mode: "queue",
      }),
    );
  }

  /**
   * Restarts a sick process in the same conversation after a backoff, or, past `maxRestarts`, fails the
   * session `unhealthy`. Resolves false when healing is off for it (maxRestarts 0): the caller goes on as
   * before. Call inside `serial.run(sessionId)`.
   */
  private async heal(
    sessionId: string,
    reason: RestartReason,
    error: string,
    changes: Record<string, unknown> = {},
    usage?: (context: WriteContext, row: SessionRow) => Promise<void>,
  ): Promise<boolean> {
    const row = await selectSessionById(this.deps.store.db, sessionId);
    if (!row || !ACTIVE.includes(row.status as SessionStatus)) return true;
    const maxRestarts = configOf(row).maxRestarts ?? this.deps.settings.maxRestarts;
    if (maxRestarts === 0) return false;
    const attempt = (this.restarts.get(sessionId) ?? 0) + 1;
    if (attempt > maxRestarts) {
      this.restarts.delete(sessionId);
      const why = `unhealthy: restarted ${maxRestarts} time(s) (maxRestarts) and it is still sick (${reason}): ${error}`;
      if (await this.fail(sessionId, "unhealthy", why, changes, ACTIVE, usage))
        await this.close(sessionId, "force");
      void this.drainQueue();
      return true;
    }
    this.restarts.set(sessionId, attempt);
    const delayMs = restartDelayMs(this.deps.settings, attempt);
    await this.recordTurnCounts(sessionId, changes, usage, [
      ["session.restarted", { reason, attempt, maxRestarts, delayMs, error }],
    ]);
    // The slot stays held (status running) while the backoff runs; a Baton stop meanwhile leaves the
    // session running, and the next start recovers it.
    await this.close(sessionId, "force");
    const timer = setTimeout(() => {
      this.restartTimers.delete(timer);
      void this.serial
        .run(sessionId, () => this.startRestarted(sessionId, reason))
        .catch((failure) => this.deps.onError(failure, `restarting ${sessionId}`));
    }, delayMs);
    this.restartTimers.add(timer);
    return true;
  }

  /** A turn's cost and requests (and its usage rows) without a status change, with `events`. */
  private async recordTurnCounts(
    sessionId: string,
    changes: Record<string, unknown>,
    usage: ((context: WriteContext, row: SessionRow) => Promise<void>) | undefined,
    events: readonly EventSpec[] = [],
  ): Promise<void> {
    await this.deps.log.write(async (context) => {
      await updateSessionRow(context.tx, sessionId, { ...changes, updated_at: new Date().toISOString() });
      for (const [topic, data] of events) await context.emit(topic, sessionId, data);
      const updated = await selectSessionById(context.tx, sessionId);
      if (updated) await usage?.(context, updated);
    });
  }

  private async startRestarted(sessionId: string, reason: RestartReason): Promise<void> {
    const row = await selectSessionById(this.deps.store.db, sessionId);
    if (this.stopping || row?.status !== "running" || this.live.has(sessionId)) return;
    const pending = await selectPendingMessages(this.deps.store.db, sessionId);
    const note = { id: randomUUID(), text: restartNote(reason) };
    const resume = row.agent_session_id !== null;
    await this.startRun(
      row,
      resume,
      resume ? [note] : [{ id: randomUUID(), text: configOf(row).prompt }],
      pending,
      {
        reason: "restarted",
      },
    );
  }

  private armIdle(sessionId: string, live: LiveRun, timeoutMs: number): void {
    this.armStall(sessionId, live);
    watchIdle(live, timeoutMs, {
      isCurrent: () => this.live.get(sessionId) === live,
      onIdle: (quietFor) => {
        void this.serial
          .run(sessionId, () => this.handleIdle(sessionId, live, quietFor))
          .catch((error) => this.deps.onError(error, "idle"));
      },
    });
  }

  private armStall(sessionId: string, live: LiveRun): void {
    watchStall(live, this.deps.settings.stallTimeoutMs, {
      isCurrent: () => this.live.get(sessionId) === live,
      onStall: (quietFor) => {
        void this.serial
          .run(sessionId, async () => {
            if (this.live.get(sessionId) !== live) return;
            const session = await selectSessionById(this.deps.store.db, sessionId);
            // Waiting on a human or a lock is not a stall: watch again from now.
            if (session?.status === "waiting") {
              live.lastActivity = Date.now();
              return this.armStall(sessionId, live);
            }
            if (session?.status !== "running") return;
            // With healing off (maxRestarts 0) a stall is left to the idle watchdog and idleAction.
            await this.heal(
              sessionId,
              "stalled",
              `no sign of life for ${quietFor} ms during a model request`,
            );
          })
          .catch((error) => this.deps.onError(error, "stall"));
      },
    });
  }

  private async handleIdle(sessionId: string, live: LiveRun, idleMs: number): Promise<void> {
    if (this.live.get(sessionId) !== live) return;
    const session = await selectSessionById(this.deps.store.db, sessionId);
    if (session?.status !== "running") return;
    await recordSessionEvents(this.deps.log, sessionId, [["session.idle", { idleMs }]]);
    if (this.deps.settings.idleAction === "interrupt") await this.interrupt(sessionId);
    if (this.deps.settings.idleAction === "fail") {
      await this.fail(sessionId, "idle", `no activity for ${idleMs} ms`);
      await this.close(sessionId, "force");
    }
  }

  private armKeepAlive(sessionId: string, live: LiveRun): void {
    live.keepAliveTimer = setTimeout(() => {
      void this.serial
        .run(sessionId, async () => {
          const session = await selectSessionById(this.deps.store.db, sessionId);
          if (this.live.get(sessionId) === live && session?.status === "completed")
            await this.close(sessionId, "graceful");
        })
        .catch((error) => this.deps.onError(error, "keep-alive release"));
    }, this.deps.settings.keepAliveMs);
    live.keepAliveTimer.unref();
  }
}
