import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { type Options, type Query, query, type SDKMessage } from "@anthropic-ai/claude-agent-sdk";
import { InputQueue, userMessage } from "../src/runner/input-queue.ts";
import { within } from "./deadline.ts";

interface Stamped {
  message: SDKMessage;
  /** performance.now() when the SDK yielded the message. */
  at: number;
}

/**
 * A bare Agent SDK streaming-input `query()`, no Baton in between: the baseline the session benchmark
 * compares against. It records when each SDK message arrives and can push follow-ups into the live query.
 */
export class BareRun {
  readonly startedAt: number;
  private readonly input = new InputQueue();
  private readonly query: Query;
  private readonly received: Stamped[] = [];
  private readonly listeners = new Set<() => void>();
  private readonly consumed: Promise<void>;
  private closing = false;
  private ended = false;

  /** Starts the query and pushes the first prompt at once, as Baton does for a new session. */
  constructor(options: Options, prompt: string) {
    this.startedAt = performance.now();
    this.query = query({ prompt: this.input, options });
    this.input.push(userMessage(randomUUID(), prompt));
    this.consumed = this.consume();
  }

  push(text: string): void {
    this.input.push(userMessage(randomUUID(), text));
  }

  /** The `system/init` of the first turn (the CLI emits one per turn). */
  waitForInit(timeoutMs: number, signal?: AbortSignal): Promise<Stamped> {
    return this.waitFor((stamped) => isInit(stamped.message), 1, timeoutMs, signal);
  }

  /** The `count`-th `result` (one per turn); rejects on an error result. */
  async waitForResult(count: number, timeoutMs: number, signal?: AbortSignal): Promise<Stamped> {
    const stamped = await this.waitFor((entry) => entry.message.type === "result", count, timeoutMs, signal);
    if (stamped.message.type === "result" && stamped.message.is_error) {
      throw new Error(
        `bare query ended with an error result: ${JSON.stringify(stamped.message).slice(0, 300)}`,
      );
    }
    return stamped;
  }

  /** Ends the input and closes the query; resolves when the message loop has finished. */
  async close(): Promise<void> {
    if (!this.closing) {
      this.closing = true;
      this.input.end();
      this.query.close();
    }
    await this.consumed;
  }

  private waitFor(
    matches: (stamped: Stamped) => boolean,
    count: number,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<Stamped> {
    const find = () => this.received.filter(matches)[count - 1];
    const found = find();
    if (found) return Promise.resolve(found);
    let listener: (() => void) | undefined;
    const arrived = new Promise<Stamped>((resolve, reject) => {
      listener = () => {
        const match = find();
        if (match) resolve(match);
        else if (this.ended) reject(new Error("bare query ended before the awaited message"));
      };
      this.listeners.add(listener);
    });
    return within(arrived, timeoutMs, "a bare SDK message", signal).finally(() => {
      if (listener) this.listeners.delete(listener);
    });
  }

  private async consume(): Promise<void> {
    try {
      for await (const message of this.query) {
        this.received.push({ message, at: performance.now() });
        for (const listener of [...this.listeners]) listener();
      }
    } catch {
      // After an error result the SDK's iterator throws; waitForResult reports the result itself.
    } finally {
      this.ended = true;
      for (const listener of [...this.listeners]) listener();
    }
  }
}

function isInit(message: SDKMessage): boolean {
  return message.type === "system" && message.subtype === "init";
}
