import type { AgentRun, ProcessInfo } from "./runner-port.ts";

/**
 * What the supervisor knows about a session whose `claude` process is alive, and the two timers that
 * watch it: the idle watchdog while a turn runs, and the keep-alive that releases a warm process.
 */
export interface LiveRun {
  run: AgentRun | undefined;
  process: ProcessInfo | undefined;
  costBase: number;
  /** The session's cost when its conversation was last cleared: the SDK counts cost per conversation. */
  costOffset: number;
  turnsBase: number;
  maxTurns: number;
  /** Model requests in the running turn; with turnsBase, enforces maxTurns per conversation. */
  turnsInTurn: number;
  turnLimitHit: boolean;
  openTools: Set<string>;
  lastActivity: number;
  /** False until the process sent its first message: start-up time is not idleness. */
  heardFrom: boolean;
  idleReported: boolean;
  idleTimer: NodeJS.Timeout | undefined;
  keepAliveTimer: NodeJS.Timeout | undefined;
  interruptRequested: boolean;
  /** A resumed run whose process dies before finishing a turn failed to resume (e.g. transcript gone). */
  resumed: boolean;
  turnEnded: boolean;
}

export function newLiveRun(start: {
  costBase: number;
  costOffset: number;
  turnsBase: number;
  maxTurns: number;
  resumed: boolean;
}): LiveRun {
  return {
    ...start,
    run: undefined,
    process: undefined,
    turnsInTurn: 0,
    turnLimitHit: false,
    openTools: new Set(),
    lastActivity: Date.now(),
    heardFrom: false,
    idleReported: false,
    idleTimer: undefined,
    keepAliveTimer: undefined,
    interruptRequested: false,
    turnEnded: false,
  };
}

const STARTUP_ALLOWANCE_MS = 30_000;

/**
 * The idle watchdog: calls `onIdle` once per quiet period of a running turn. Activity is any message from
 * the SDK; a tool call in progress is never idle (the CLI is working, not stuck); before the process's
 * first message, start-up gets STARTUP_ALLOWANCE_MS instead (several spawns at once on a small machine
 * take seconds).
 */
export function watchIdle(
  live: LiveRun,
  timeoutMs: number,
  hooks: { isCurrent(): boolean; onIdle(quietForMs: number): void },
): void {
  const check = () => {
    live.idleTimer = undefined;
    if (!hooks.isCurrent()) return;
    const limit = live.heardFrom ? timeoutMs : Math.max(timeoutMs, STARTUP_ALLOWANCE_MS);
    const quietFor = Date.now() - live.lastActivity;
    const busy = live.openTools.size > 0;
    if (quietFor >= limit && !busy && !live.idleReported) {
      live.idleReported = true;
      hooks.onIdle(quietFor);
    }
    // Never sleep longer than timeoutMs: the start-up allowance ends early when the first message arrives.
    const wait = busy || live.idleReported ? timeoutMs : Math.min(timeoutMs, limit - quietFor);
    live.idleTimer = setTimeout(check, Math.max(50, wait));
    live.idleTimer.unref();
  };
  live.idleTimer = setTimeout(check, timeoutMs);
  live.idleTimer.unref();
}

export function clearTimers(live: LiveRun): void {
  if (live.idleTimer) clearTimeout(live.idleTimer);
  if (live.keepAliveTimer) clearTimeout(live.keepAliveTimer);
  live.idleTimer = undefined;
  live.keepAliveTimer = undefined;
}
