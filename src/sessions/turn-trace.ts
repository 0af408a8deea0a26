import type { ModelUsageDelta } from "./runner-port.ts";
import type { TurnCounts } from "./turn-outcome.ts";

/**
 * The port through which a turn is traced (one span from its input's delivery to its end). The session
 * domain knows only this; the OpenTelemetry adapter lives in ops/tracing-sdk.ts and is given to the
 * supervisor only when tracing is configured, so without it a turn costs one `undefined` check.
 */
export interface TurnTracer {
  startTurn(labels: TurnLabels): OpenTurn;
}

/** What is known when a turn starts. */
export interface TurnLabels {
  sessionId: string;
  owner: string;
  /** The configured model, if the session chose one. */
  model: string | undefined;
}

export interface OpenTurn {
  end(result: TurnResult): void;
}

/**
 * How a turn ended: the SDK's reason (`success`, `error`, `max_budget`, …), the limit that parked it
 * (`usage_limit`, `auth`), or `exited` (the process died mid-turn) / `closed` (Baton ended it: kill, stop).
 */
export interface TurnResult {
  outcome: string;
  costUsd?: number;
  modelRequests?: number;
  usage?: readonly ModelUsageDelta[];
}

/**
 * One live run's turn spans: at most one open at a time. `begin` is idempotent (a steer delivered into a
 * running turn does not open a second span), `end` is a no-op when no turn is open.
 */
export class TurnTrace {
  private readonly tracer: TurnTracer;
  private readonly labels: TurnLabels;
  private open: OpenTurn | undefined;

  constructor(tracer: TurnTracer, labels: TurnLabels) {
    this.tracer = tracer;
    this.labels = labels;
  }

  begin(): void {
    this.open ??= this.tracer.startTurn(this.labels);
  }

  end(result: TurnResult): void {
    this.open?.end(result);
    this.open = undefined;
  }
}

/** A turn's figures as its span reports them. */
export function turnResultOf(counts: TurnCounts): TurnResult {
  const { outcome } = counts;
  return {
    outcome: outcome.limit?.kind ?? outcome.reason,
    costUsd: counts.costDeltaUsd,
    modelRequests: outcome.turns,
    ...(outcome.usage ? { usage: outcome.usage } : {}),
  };
}
