import { roundUsd } from "../core/money.ts";
import type { LiveRun } from "./live-run.ts";
import type { TurnOutcome } from "./runner-port.ts";
import { isRetryableFailure } from "./self-healing.ts";
import type { FailureReason } from "./session-status.ts";
import { toFailureReason } from "./turn-helpers.ts";

/** A finished turn's figures as the session counts them (the SDK counts per query, Baton per session). */
export interface TurnCounts {
  costUsd: number;
  /** What this turn added: the usage records' cost. */
  costDeltaUsd: number;
  turns: number;
  /** The outcome as recorded: a turn stopped at the session's turn limit reads as `max_turns`. */
  outcome: TurnOutcome;
}

export interface TurnFailure {
  reason: FailureReason;
  error: string;
  /** The messages the turn was for never reached the model (a refused resume): say so on their receipts. */
  refuseMessages: boolean;
}

/** What becomes of the session when a turn ends. */
export type TurnDecision =
  /** Subagents still work in the background: count the turn, the session is not done (docs/events.md). */
  | { kind: "defer" }
  | { kind: "complete" }
  /** A retryable failure: restart in the same conversation, or, with healing off, fail as `otherwise`. */
  | { kind: "heal"; otherwise: TurnFailure }
  | { kind: "fail"; failure: TurnFailure };

/** The part of a live run the decision reads. */
export type TurnState = Pick<
  LiveRun,
  | "costBase"
  | "costOffset"
  | "turnsBase"
  | "turnsInTurn"
  | "turnLimitHit"
  | "maxTurns"
  | "resumed"
  | "turnEnded"
  | "backgroundSubagents"
>;

/** Decides a turn's end from the run's state and the SDK's outcome; pure, so every branch is testable. */
export function decideTurnEnd(
  state: TurnState,
  reported: TurnOutcome,
): { counts: TurnCounts; decision: TurnDecision } {
  const costUsd = roundUsd(Math.max(state.costBase, state.costOffset + reported.totalCostUsd));
  const counted = state.turnsBase + Math.max(reported.turns, state.turnsInTurn);
  // On error_max_turns the SDK counts the refused extra request too; the session never exceeds its limit.
  const limited = state.turnLimitHit || reported.reason === "max_turns";
  const outcome: TurnOutcome = state.turnLimitHit
    ? { ...reported, reason: "max_turns", text: `turn limit of ${state.maxTurns} reached` }
    : reported;
  const counts: TurnCounts = {
    costUsd,
    costDeltaUsd: costUsd - state.costBase,
    turns: limited ? Math.min(counted, state.maxTurns) : counted,
    outcome,
  };
  return { counts, decision: decide(state, outcome) };
}

function decide(state: TurnState, outcome: TurnOutcome): TurnDecision {
  if (outcome.reason === "success" && state.backgroundSubagents > 0) return { kind: "defer" };
  if (outcome.reason === "success" || outcome.reason === "interrupted") return { kind: "complete" };
  // The CLI reports a conversation it cannot resume (transcript gone, other cwd) as a plain error result.
  const resumeFailed = state.resumed && !state.turnEnded && outcome.reason === "error";
  if (resumeFailed) {
    const error = `could not resume the conversation: ${outcome.text}`;
    return { kind: "fail", failure: { reason: "resume_failed", error, refuseMessages: false } };
  }
  const failure: TurnFailure = {
    reason: toFailureReason(outcome.reason),
    error: outcome.text,
    refuseMessages: outcome.reason === "resume_mismatch",
  };
  return isRetryableFailure(outcome) ? { kind: "heal", otherwise: failure } : { kind: "fail", failure };
}
