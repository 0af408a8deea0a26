import { EventSourceParserStream } from "eventsource-parser/stream";
import type { BatonEvent } from "../events/catalogue.ts";
import { abortableSleep } from "./abortable-sleep.ts";
import { BatonApiError } from "./baton-client.ts";

export interface FollowOptions {
  url: string;
  token?: string | undefined;
  /** `/events` or `/sessions/<idOrName>/events`. */
  path: string;
  after?: number | undefined;
  topics?: string[] | undefined;
  output?: boolean | undefined;
  /** Also the streamed pieces of assistant text (session.output with delta: true); implies output. */
  deltas?: boolean | undefined;
  signal: AbortSignal;
  onEvent: (event: BatonEvent) => void;
  /** Called when the stream dropped and the client is about to reconnect from `after`. */
  onReconnect?: (after: number, reason: string) => void;
  retryDelayMs?: number;
}

/**
 * Follows Baton's SSE stream and reconnects with the last seen seq, so a consumer sees every event exactly
 * once even across disconnects and Baton restarts. Resolves when `signal` aborts; rejects on a 4xx (e.g. a
 * 410 for a cursor older than the log keeps), which retrying cannot fix.
 */
export async function followEvents(options: FollowOptions): Promise<void> {
  let after = options.after;
  while (!options.signal.aborted) {
    try {
      await streamOnce(
        options,
        after,
        (event) => {
          if (after !== undefined && event.seq <= after) return; // never a duplicate at a reconnect seam
          after = event.seq;
          options.onEvent(event);
        },
        // The stream's opening `id:` is where it starts: a live follow that drops before its first event
        // resumes from there instead of from "now" again, which would skip what happened in between.
        (cursor) => {
          if (after === undefined || cursor > after) after = cursor;
        },
      );
      if (options.signal.aborted) return;
      options.onReconnect?.(after ?? 0, "stream ended");
    } catch (error) {
      if (options.signal.aborted) return;
      if (error instanceof BatonApiError && error.status >= 400 && error.status < 500) throw error;
      options.onReconnect?.(after ?? 0, (error as Error).message);
    }
    await abortableSleep(options.retryDelayMs ?? 500, options.signal);
  }
}

async function streamOnce(
  options: FollowOptions,
  after: number | undefined,
  onEvent: (event: BatonEvent) => void,
  onCursor: (seq: number) => void,
): Promise<void> {
  const query = new URLSearchParams();
  if (after !== undefined) query.set("after", String(after));
  if (options.topics?.length) query.set("topics", options.topics.join(","));
  if (options.output) query.set("output", "true");
  if (options.deltas) query.set("deltas", "true");
  const headers: Record<string, string> = { accept: "text/event-stream" };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const response = await fetch(`${options.url.replace(/\/$/, "")}${options.path}?${query}`, {
    headers,
    signal: options.signal,
  });
  if (!response.ok || !response.body) {
    const body = (await response.json().catch(() => undefined)) as
      | { error?: { code?: string; message?: string } }
      | undefined;
    throw new BatonApiError(
      response.status,
      body?.error?.code ?? `HTTP_${response.status}`,
      body?.error?.message ?? response.statusText,
    );
  }
  let opening = false;
  const messages = response.body.pipeThrough(new TextDecoderStream()).pipeThrough(
    new EventSourceParserStream({
      // Only the id in the opening `: connected` block is the cursor: later ones belong to events, and
      // the parser reports them as it parses, before the loop below has delivered the events themselves.
      onComment: (comment) => {
        opening = comment.trim() === "connected";
      },
      onId: (id) => {
        if (!opening) return;
        opening = false;
        const seq = Number(id);
        if (id !== "" && Number.isInteger(seq)) onCursor(seq);
      },
    }),
  );
  for await (const message of messages) {
    if (!message.data) continue;
    onEvent(JSON.parse(message.data) as BatonEvent);
  }
}
