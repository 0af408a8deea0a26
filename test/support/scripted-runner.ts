import type {
  AgentRun,
  AgentRunner,
  InputMessage,
  ProcessInfo,
  RunObserver,
  RunSpec,
} from "../../src/sessions/runner-port.ts";

/**
 * An in-process AgentRunner whose runs do exactly what the test says, when it says. Only for property tests
 * of scheduling logic, where thousands of interleavings cannot each start a real `claude` process; every
 * behaviour of the real runner is covered by the end-to-end tests.
 */
export class ScriptedRunner implements AgentRunner {
  readonly runs = new Map<string, ScriptedRun>();
  private nextPid = 100_000;

  start(spec: RunSpec, observer: RunObserver): AgentRun {
    const run = new ScriptedRun(spec, observer, this.nextPid++, () => {
      if (this.runs.get(spec.sessionId) === run) this.runs.delete(spec.sessionId);
    });
    this.runs.set(spec.sessionId, run);
    observer.onSpawned({ pid: run.pid, startTime: "scripted" });
    // Reports itself as the agent it was started as, so a resume passes its check (resume-check.ts).
    const fingerprint = {
      agentSessionId: spec.agentSessionId,
      permissionMode: spec.config.permissionMode,
      cwd: spec.config.workDir,
      model: "scripted",
      tools: [],
    };
    if (spec.resume) observer.verifyResume(fingerprint);
    else observer.onInit(fingerprint);
    return run;
  }

  async reapStale(_process: ProcessInfo): Promise<boolean> {
    return false;
  }
}

export class ScriptedRun implements AgentRun {
  readonly pid: number;
  readonly delivered: InputMessage[] = [];
  private readonly observer: RunObserver;
  private readonly onGone: () => void;
  private ended = false;
  private costUsd = 0;

  constructor(spec: RunSpec, observer: RunObserver, pid: number, onGone: () => void) {
    this.pid = pid;
    this.observer = observer;
    this.onGone = onGone;
    void spec;
  }

  get alive(): boolean {
    return !this.ended;
  }

  deliver(message: InputMessage): void {
    this.delivered.push(message);
    this.observer.onActivity();
  }

  async interrupt(): Promise<void> {
    this.endTurn("interrupted");
  }

  /** Ends the current turn the way the SDK would report it. */
  endTurn(reason: "success" | "error" | "interrupted"): void {
    if (this.ended) return;
    this.costUsd += 0.01;
    this.observer.onModelTurn();
    this.observer.onTurnEnd({ reason, text: reason, totalCostUsd: this.costUsd, turns: 1, messageIds: [] });
  }

  /** The process dies under Baton. */
  crash(): void {
    if (this.ended) return;
    this.ended = true;
    this.onGone();
    this.observer.onExit({ expected: false, code: null, signal: "SIGKILL" });
  }

  async close(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.onGone();
    this.observer.onExit({ expected: true, code: 0, signal: null });
  }
}
