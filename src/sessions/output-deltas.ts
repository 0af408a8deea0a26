import type { OutputDelta } from "./runner-port.ts";

/**
 * Coalesces the model's streamed text pieces into `session.output` deltas. A model streams tens of
 * pieces a second and each stored event is a row and a commit, so pieces of one message are joined for up
 * to `intervalMs` and written as one delta: a watcher still sees text appear as it is written, the log
 * grows by at most a few rows a second per streaming session. `flush` runs before any other event of the
 * session is recorded, so the deltas of a text always precede its complete `session.output`.
 */
export class OutputDeltas {
  private readonly intervalMs: number;
  private readonly emit: (delta: OutputDelta & { delta: true }) => void;
  private pending: OutputDelta | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(intervalMs: number, emit: (delta: OutputDelta & { delta: true }) => void) {
    this.intervalMs = intervalMs;
    this.emit = emit;
  }

  add(piece: OutputDelta): void {
    const pending = this.pending;
    if (
      pending &&
      pending.messageId === piece.messageId &&
      pending.parentToolUseId === piece.parentToolUseId
    ) {
      pending.text += piece.text;
      return;
    }
    this.flush();
    this.pending = { ...piece };
    this.timer = setTimeout(() => this.flush(), this.intervalMs);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const pending = this.pending;
    if (!pending) return;
    this.pending = undefined;
    this.emit({ ...pending, delta: true });
  }

  /** The run is over: what is pending would arrive after its turn ended, so it is dropped. */
  discard(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
  }
}
