import type { ServerFrame } from "../api/ws/ws-protocol.ts";
import { ERROR_CATALOGUE, type ErrorCode } from "../core/errors.ts";
import type { BatonEvent } from "../events/catalogue.ts";
import { abortableSleep } from "./abortable-sleep.ts";
import { BatonApiError, BatonClient } from "./baton-client.ts";

export interface ResetNotice {
  /** The cursor Baton could not honour. */
  after: number;
  oldestSeq: number;
  latestSeq: number;
}

export interface WsFollowOptions {
  /** Baton's base URL (`http://…`); the socket goes to `ws://…/ws`. */
  url: string;
  token?: string | undefined;
  topics?: string[] | undefined;
  /** Only this session's events (id or name). */
  session?: string | undefined;
  /** Replay after this seq first; without it the follow starts live. */
  after?: number | undefined;
  output?: boolean | undefined;
  /** Also the streamed pieces of assistant text (session.output with delta: true); implies output. */
  deltas?: boolean | undefined;
  signal: AbortSignal;
  onEvent: (event: BatonEvent) => void;
  /** Called when the connection dropped and the client is about to reconnect from `after`. */
  onReconnect?: (after: number, reason: string) => void;
  /**
   * The cursor is older than the log keeps, or past its newest event (`after > latestSeq`: a cursor from
   * another database). Return where to go on: `oldestSeq - 1` takes everything kept, `latestSeq` goes
   * live. Without this callback the follow rejects with CURSOR_EXPIRED or CURSOR_AHEAD (410).
   */
  onReset?: (reset: ResetNotice) => number;
  retryDelayMs?: number;
  /**
   * Reject with the UNREACHABLE error (status 0) when Baton cannot be reached before the first connection;
   * once connected, a lost connection is always retried.
   */
  requireFirstConnection?: boolean;
  /** A ping this often; a connection silent for a whole interval after one is given up and reconnected. */
  heartbeatMs?: number;
}

const SUBSCRIPTION = "follow";
const MAX_RETRY_DELAY_MS = 5000;

/**
 * Follows Baton over WebSocket and reconnects with the last seen seq, so a consumer sees every event exactly
 * once across disconnects, slow-consumer cut-offs and Baton restarts. Resolves when `signal` aborts; rejects
 * on what retrying cannot fix: a wrong token, an unknown session, a bad filter, an expired cursor.
 */
export async function followEventsOverWs(options: WsFollowOptions): Promise<void> {
  const cursor = { after: options.after };
  let delay = options.retryDelayMs ?? 500;
  let everOpened = false;
  while (!options.signal.aborted) {
    const { opened, reason } = await connectOnce(options, cursor);
    if (options.signal.aborted) return;
    everOpened ||= opened;
    // A socket that never opened may have been refused for good (401, 404): HTTP says which.
    if (!opened)
      await probeOverHttp(options, cursor.after, options.requireFirstConnection === true && !everOpened);
    delay = opened ? (options.retryDelayMs ?? 500) : Math.min(delay * 2, MAX_RETRY_DELAY_MS);
    options.onReconnect?.(cursor.after ?? 0, reason);
    await abortableSleep(delay, options.signal);
  }
}

/** One connection: subscribe, deliver, and settle when it closes (or throw what retrying cannot fix). */
function connectOnce(
  options: WsFollowOptions,
  cursor: { after: number | undefined },
): Promise<{ opened: boolean; reason: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};
    const socket = new WebSocket(`${options.url.replace(/\/$/, "").replace(/^http/, "ws")}/ws`, { headers });
    let opened = false;
    let heard = true;
    let settled = false;
    const settle = (outcome: { reason: string } | { error: Error }) => {
      if (settled) return;
      settled = true;
      clearInterval(heartbeat);
      options.signal.removeEventListener("abort", onAbort);
      if (socket.readyState === socket.OPEN || socket.readyState === socket.CONNECTING) socket.close(1000);
      if ("error" in outcome) reject(outcome.error);
      else resolve({ opened, reason: outcome.reason });
    };
    const subscribe = (after: number | undefined) =>
      socket.send(
        JSON.stringify({
          type: "subscribe",
          id: SUBSCRIPTION,
          topics: options.topics ?? [],
          output: options.output === true,
          deltas: options.deltas === true,
          ...(options.session !== undefined && { session: options.session }),
          ...(after !== undefined && { after }),
        }),
      );
    const onAbort = () => settle({ reason: "aborted" });
    options.signal.addEventListener("abort", onAbort, { once: true });
    const heartbeat = setInterval(() => {
      if (!opened) return;
      if (!heard) return settle({ reason: "no answer to ping" });
      heard = false;
      socket.send('{"type":"ping"}');
    }, options.heartbeatMs ?? 30_000);

    socket.addEventListener("open", () => {
      opened = true;
      subscribe(cursor.after);
    });
    socket.addEventListener("close", (event) => {
      settle({ reason: `closed ${event.code}${event.reason ? ` (${event.reason})` : ""}` });
    });
    socket.addEventListener("message", (message) => {
      heard = true;
      if (typeof message.data !== "string") return;
      const frame = JSON.parse(message.data) as ServerFrame;
      if (frame.type === "event") {
        if (cursor.after !== undefined && frame.seq <= cursor.after) return; // no duplicate at a seam
        cursor.after = frame.seq;
        const { type: _type, subscription: _subscription, ...event } = frame;
        options.onEvent(event);
      } else if (frame.type === "subscribed") {
        cursor.after ??= frame.after;
      } else if (frame.type === "reset") {
        const notice = { after: cursor.after ?? 0, oldestSeq: frame.oldestSeq, latestSeq: frame.latestSeq };
        const ahead = notice.after > notice.latestSeq;
        if (!options.onReset) return settle({ error: ahead ? cursorAhead(notice) : cursorExpired(notice) });
        // An expired cursor's reset can follow events already delivered (pruning overtook the replay):
        // never step back then. A cursor from another log has to.
        const next = options.onReset(notice);
        cursor.after = ahead ? next : Math.max(cursor.after ?? 0, next);
        subscribe(cursor.after);
      } else if (frame.type === "error" && frame.subscription === SUBSCRIPTION) {
        settle({ error: toApiError(frame.code, frame.message) });
      }
    });
  });
}

/**
 * Turns a refused handshake into its HTTP error (401, 404, 410), and Baton being unreachable into its error
 * when `unreachableIsFinal`; returns quietly when retrying may help.
 */
async function probeOverHttp(
  options: WsFollowOptions,
  after: number | undefined,
  unreachableIsFinal: boolean,
): Promise<void> {
  const client = new BatonClient({ url: options.url, token: options.token });
  const query = { limit: 1, ...(after !== undefined && { after }) };
  try {
    if (options.session) await client.sessionEvents(options.session, query);
    else await client.events(query);
  } catch (error) {
    if (!(error instanceof BatonApiError)) return;
    if ((error.status >= 400 && error.status < 500) || (error.status === 0 && unreachableIsFinal))
      throw error;
  }
}

function toApiError(code: string | undefined, message: string): BatonApiError {
  const status = code && code in ERROR_CATALOGUE ? ERROR_CATALOGUE[code as ErrorCode].status : 400;
  return new BatonApiError(status, code ?? "WS_ERROR", message);
}

function cursorAhead(notice: ResetNotice): BatonApiError {
  return new BatonApiError(
    410,
    "CURSOR_AHEAD",
    `cursor ${notice.after} is past the newest event (${notice.latestSeq}); restart from ${notice.oldestSeq - 1}`,
    { oldestSeq: notice.oldestSeq, latestSeq: notice.latestSeq, resetAfter: notice.oldestSeq - 1 },
  );
}

function cursorExpired(notice: ResetNotice): BatonApiError {
  return new BatonApiError(
    410,
    "CURSOR_EXPIRED",
    `cursor ${notice.after} is older than the oldest kept event (${notice.oldestSeq}); restart from ${notice.oldestSeq - 1}`,
    { oldestSeq: notice.oldestSeq, latestSeq: notice.latestSeq, resetAfter: notice.oldestSeq - 1 },
  );
}
