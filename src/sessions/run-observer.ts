import type { LiveRun } from "./live-run.ts";
import { OutputDeltas } from "./output-deltas.ts";
import { findResumeMismatch } from "./resume-check.ts";
import type { RunContext } from "./run-context.ts";
import type { RunStarts } from "./run-starts.ts";
import type { RunObserver } from "./runner-port.ts";
import { type EventSpec, recordSessionEvents } from "./session-writes.ts";
import type { TurnEnds } from "./turn-end.ts";
import { recordToolCall } from "./usage-writes.ts";

/** How long after its subagents finished a deferred turn waits for the CLI's own follow-up turn. */
const BACKGROUND_TURN_GRACE_MS = 5000;

/**
 * The runner's callbacks for one live run, turned into session work. Each callback queues its work in the
 * session's serial queue and drops it if the run was replaced meanwhile; streamed text is flushed before
 * anything that follows it, so the log keeps the order the model produced.
 */
export function observeRun(
  ctx: RunContext,
  roles: { starts: RunStarts; turnEnds: TurnEnds },
  sessionId: string,
  live: LiveRun,
  permissionTimeoutMs: number | undefined,
): RunObserver {
  const deltas = new OutputDeltas(ctx.settings.outputDeltaMs, (delta) =>
    event(["session.output", { ...delta }]),
  );
  const queue = (context: string, task: () => Promise<void>) => {
    deltas.flush(); // a text's deltas go before anything that follows them
    ctx.detach(sessionId, context, async () => {
      if (ctx.runs.isCurrent(sessionId, live)) await task();
    });
  };
  const event = (spec: EventSpec) => queue(spec[0], () => recordSessionEvents(ctx.log, sessionId, [spec]));
  return {
    onSpawned: (info) => {
      live.process = info;
      // Called while runner.start() runs (live.run not yet set), the pid goes out with session.spawned. A
      // process started later (a resume that first loads its transcript from the database; a spare that
      // refused its claim) reaches the row now: crash recovery reaps by it. The serial queue puts this
      // after session.spawned, which wrote no pid.
      if (live.run !== undefined)
        queue("pid", () =>
          recordSessionEvents(ctx.log, sessionId, [], {
            pid: info.pid,
            pid_start_time: info.startTime ?? null,
          }),
        );
    },
    onInit: (fingerprint) => {
      if (live.fingerprintStored) return;
      live.fingerprintStored = true;
      queue("fingerprint", () =>
        recordSessionEvents(ctx.log, sessionId, [], { agent_fingerprint: JSON.stringify(fingerprint) }),
      );
    },
    verifyResume: (fingerprint) => {
      const check = live.resumeCheck;
      const mismatch = check ? findResumeMismatch(check.expected, fingerprint) : undefined;
      if (mismatch === undefined)
        queue("resume verified", () => roles.starts.resumeVerified(sessionId, live, fingerprint));
      return mismatch;
    },
    onPermissionRequest: (ask) => ctx.permissions.ask(sessionId, ask, permissionTimeoutMs),
    onPreToolUse: async (call) => (ctx.checkToolCall ? ctx.checkToolCall(sessionId, call) : undefined),
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
        ctx.log.write(async (context) => {
          await context.emit("session.tool_use", sessionId, data);
          await recordToolCall(context, tool.name);
        }),
      );
    },
    onToolDone: (tool) => {
      live.openTools.delete(tool.toolUseId);
      event(["session.tool_done", tool]);
    },
    onOutput: (output) => event(["session.output", output]),
    onOutputDelta: (piece) => deltas.add(piece),
    onBackgroundSubagents: (count) => {
      live.backgroundSubagents = count;
      if (count > 0 || !live.deferredOutcome || live.backgroundTimer) return;
      // The CLI reports finished subagents to the parent and runs a turn of its own on that (measured:
      // ~60 ms later); that turn's end completes the session. Should none come, the deferred one does.
      live.backgroundTimer = setTimeout(() => {
        live.backgroundTimer = undefined;
        queue("subagents done", () => roles.turnEnds.completeDeferred(sessionId, live));
      }, BACKGROUND_TURN_GRACE_MS);
      live.backgroundTimer.unref();
    },
    onModelTurn: () => {
      if (live.backgroundTimer) clearTimeout(live.backgroundTimer);
      live.backgroundTimer = undefined;
      live.turnsInTurn += 1;
      live.turnTrace?.begin(); // a turn the CLI started by itself (after a steer that raced a result)
      // The SDK's maxTurns counts per turn; the session's limit is for the whole conversation.
      if (live.turnsBase + live.turnsInTurn > live.maxTurns && !live.turnLimitHit) {
        live.turnLimitHit = true;
        void live.run?.interrupt().catch((error) => ctx.onError(error, "turn-limit interrupt"));
      }
    },
    onTurnEnd: (outcome) => queue("turn end", () => roles.turnEnds.onResult(sessionId, live, outcome)),
    // The session goes on (the CLI's own file has the lines); only a resume from the database would miss them.
    onTranscriptMirrorError: (error) =>
      ctx.onError(error, `transcript lines of ${sessionId} not stored in the database`),
    onModelLimit: (limit) => {
      if (ctx.limits.shouldPark(limit))
        queue("model limit", async () => void (await ctx.park(sessionId, live, limit)));
    },
    onExit: (info) => {
      deltas.discard();
      ctx.detach(sessionId, "exit", () => roles.turnEnds.onExit(sessionId, live, info));
    },
  };
}
