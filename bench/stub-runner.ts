import type { AgentRun, AgentRunner, RunObserver, RunSpec } from "../src/sessions/runner-port.ts";

/**
 * An agent that costs nothing: every delivered message ends its turn `answerMs` later. With it, a benchmark
 * sees only Baton's own work (HTTP, validation, store commits, events, fan-out), free of the CLI's noise.
 */
export class StubRunner implements AgentRunner {
  private readonly answerMs: number;

  constructor(answerMs: number) {
    this.answerMs = answerMs;
  }

  start(_spec: RunSpec, observer: RunObserver): AgentRun {
    let closed = false;
    const answerMs = this.answerMs;
    return {
      pid: undefined,
      deliver(message) {
        setTimeout(() => {
          if (closed) return;
          observer.onTurnEnd({
            reason: "success",
            text: "stub answer",
            totalCostUsd: 0,
            turns: 1,
            messageIds: [message.id],
          });
        }, answerMs);
      },
      interrupt: async () => undefined,
      close: async () => {
        if (closed) return;
        closed = true;
        observer.onExit({ expected: true, code: 0, signal: null });
      },
    };
  }

  reapStale(): Promise<boolean> {
    return Promise.resolve(false);
  }
}
