import { performance } from "node:perf_hooks";
import type {
  AgentRun,
  AgentRunner,
  InputMessage,
  ProcessInfo,
  RunObserver,
  RunSpec,
} from "../src/sessions/runner-port.ts";

export interface RunnerMark {
  kind: "start" | "deliver" | "turn_end";
  sessionId: string;
  /** For `deliver`: the input message id (a Baton message id for a follow-up). */
  messageId?: string;
  /** performance.now() at the call. */
  at: number;
}

/**
 * Wraps Baton's runner port to time-stamp the moments Baton hands work to the agent (`start`: the SDK query
 * and its child are created; `deliver`: a message is pushed into the query's input) and gets it back
 * (`turn_end`: the SDK's `result` reached Baton). Everything is passed through unchanged.
 */
export class TimedRunner implements AgentRunner {
  readonly marks: RunnerMark[] = [];
  private readonly inner: AgentRunner;

  constructor(inner: AgentRunner) {
    this.inner = inner;
  }

  prepare(): Promise<void> {
    return this.inner.prepare?.() ?? Promise.resolve();
  }

  start(spec: RunSpec, observer: RunObserver): AgentRun {
    const { sessionId } = spec;
    this.marks.push({ kind: "start", sessionId, at: performance.now() });
    const timed: RunObserver = {
      onSpawned: (info) => observer.onSpawned(info),
      onInit: (fingerprint) => observer.onInit(fingerprint),
      verifyResume: (fingerprint) => observer.verifyResume(fingerprint),
      onPermissionRequest: (ask) => observer.onPermissionRequest(ask),
      onPreToolUse: (call) => observer.onPreToolUse(call),
      onToolUse: (event) => observer.onToolUse(event),
      onToolDone: (event) => observer.onToolDone(event),
      onBackgroundSubagents: (count) => observer.onBackgroundSubagents(count),
      onOutput: (event) => observer.onOutput(event),
      onOutputDelta: (event) => observer.onOutputDelta(event),
      onModelTurn: () => observer.onModelTurn(),
      onActivity: () => observer.onActivity(),
      onTurnEnd: (outcome) => {
        this.marks.push({ kind: "turn_end", sessionId, at: performance.now() });
        observer.onTurnEnd(outcome);
      },
      onExit: (info) => observer.onExit(info),
    };
    const run = this.inner.start(spec, timed);
    const marks = this.marks;
    return {
      get pid() {
        return run.pid;
      },
      deliver(message: InputMessage) {
        marks.push({ kind: "deliver", sessionId, messageId: message.id, at: performance.now() });
        run.deliver(message);
      },
      interrupt: () => run.interrupt(),
      close: (mode) => run.close(mode),
    };
  }

  reapStale(process: ProcessInfo): Promise<boolean> {
    return this.inner.reapStale(process);
  }

  /** The `nth` (1-based) mark of `kind` for `sessionId`, after `after` (performance.now() time). */
  find(kind: RunnerMark["kind"], sessionId: string, after = 0): RunnerMark | undefined {
    return this.marks.find((mark) => mark.kind === kind && mark.sessionId === sessionId && mark.at >= after);
  }
}
