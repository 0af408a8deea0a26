import { followEvents } from "../../src/client/event-stream.ts";
import type { BatonEvent } from "../../src/events/catalogue.ts";
import { TEST_TOKEN } from "./auth.ts";

export interface WaitOptions {
  url: string;
  /** Defaults to the test admin token. */
  token?: string;
  timeoutMs?: number;
  after?: number;
  /** Restrict to one session's stream. */
  session?: string;
  output?: boolean;
}

/**
 * Resolves with the first event (replayed or live) that satisfies `predicate`; rejects at the deadline with
 * the events seen so far, so a failing test says what did happen.
 */
export async function waitForEvent(
  options: WaitOptions,
  predicate: (event: BatonEvent) => boolean,
): Promise<BatonEvent> {
  const controller = new AbortController();
  const seen: string[] = [];
  const timeoutMs = options.timeoutMs ?? 30_000;
  let found: BatonEvent | undefined;
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    await followEvents({
      url: options.url,
      token: options.token ?? TEST_TOKEN,
      path: options.session ? `/sessions/${encodeURIComponent(options.session)}/events` : "/events",
      after: options.after ?? 0,
      output: options.output,
      signal: controller.signal,
      retryDelayMs: 100,
      onEvent: (event) => {
        seen.push(`#${event.seq} ${event.topic}${event.sessionId ? ` ${event.sessionId}` : ""}`);
        if (!found && predicate(event)) {
          found = event;
          controller.abort();
        }
      },
    });
  } finally {
    clearTimeout(timer);
  }
  if (found) return found;
  throw new Error(
    `no matching event within ${timeoutMs} ms; saw:\n  ${seen.slice(-30).join("\n  ") || "(nothing)"}`,
  );
}

export function isTopic(topic: string, sessionId?: string): (event: BatonEvent) => boolean {
  return (event) => event.topic === topic && (sessionId === undefined || event.sessionId === sessionId);
}

/** One of several terminal topics for a session: handy for "wait until this turn is over". */
export function isTurnEnd(sessionId: string): (event: BatonEvent) => boolean {
  return (event) =>
    event.sessionId === sessionId &&
    (event.topic === "session.completed" || event.topic === "session.failed");
}
