import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { BatonEvent } from "../events/catalogue.ts";
import { EventFeed, type FeedFilter } from "../events/event-feed.ts";
import { eventJson } from "../events/event-json.ts";
import type { EventLog } from "../events/event-log.ts";
import { type FanoutProcess, fanoutProcessOf } from "./fanout/fanout-process.ts";
import { CHUNKED, SSE_HEARTBEAT, SSE_MAX_BUFFERED_BYTES, sseMessage } from "./sse-wire.ts";
import { WriteBatch } from "./write-batch.ts";

export function wantsEventStream(request: FastifyRequest): boolean {
  return (request.headers.accept ?? "").includes("text/event-stream");
}

/** The resume cursor: `Last-Event-ID` (set by EventSource on reconnect) wins over `?after=`. */
export function sseCursor(request: FastifyRequest, after: number | undefined, fallback: number): number {
  const header = request.headers["last-event-id"];
  const lastEventId = Number(Array.isArray(header) ? header[0] : header);
  if (Number.isInteger(lastEventId) && lastEventId >= 0) return lastEventId;
  return after ?? fallback;
}

/** What a route needs to stream: the log, and how often an idle stream gets a heartbeat comment. */
export interface SseDeps {
  log: EventLog;
  heartbeatMs: number;
}

/**
 * Streams events as SSE: `id:` is the seq, `event:` the topic, `data:` the JSON event. Replay and live are
 * joined by EventFeed; a comment line every `heartbeatMs` keeps proxies from closing an idle stream. The
 * first block names the cursor (`id:` without data), so a client that loses the stream before any event
 * arrived still resumes from the right place: EventSource takes it as its Last-Event-ID.
 */
export async function streamEvents(
  request: FastifyRequest,
  reply: FastifyReply,
  deps: SseDeps,
  filter: FeedFilter,
  after: number,
): Promise<void> {
  const { log } = deps;
  const raw = reply.raw;
  const socket = raw.socket;
  const streams = openStreams(request.server);
  // Frames go to the TCP socket directly, as chunks of the chunked body Node started (RFC 9112 §7.1), so
  // that one turn's events cost one small write and not ServerResponse's per-write machinery, whose
  // bookkeeping objects outlived young-generation GCs under fan-out load and showed up as GC pauses.
  const batch = new WriteBatch(
    (chunk) => {
      if (!raw.writableEnded && socket && !socket.destroyed) socket.write(chunk);
    },
    { framing: CHUNKED, timing: log.timing },
  );
  const feed = new EventFeed(log, filter, after, (event) => {
    batch.push(encodeSseMessage(event), log.timing.stampOf(event));
    if ((socket?.writableLength ?? 0) + batch.pendingBytes > SSE_MAX_BUFFERED_BYTES) {
      feed.close();
      batch.clear();
      raw.end(": closed: client too slow\n\n");
    }
  });
  await log.assertCursorKept(after); // before any header: a too-old cursor gets a plain 410
  reply.hijack();
  raw.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache, no-transform",
    connection: "keep-alive",
    "x-accel-buffering": "no",
  });
  raw.flushHeaders();
  batch.push(Buffer.from(`: connected\nid: ${after}\n\n`));
  await feed.start();
  const fanout = fanoutProcessOf(request.server);
  if (fanout && (await handOver(fanout, { raw, batch, feed, filter, heartbeatMs: deps.heartbeatMs }))) return;
  if (raw.writableEnded || !socket || socket.destroyed) {
    feed.close(); // cut off as too slow, or the client left, before the stream got going
    return;
  }
  const heartbeat = setInterval(() => batch.push(SSE_HEARTBEAT), deps.heartbeatMs);
  heartbeat.unref();
  const end = () => {
    clearInterval(heartbeat);
    feed.close();
    batch.flush(); // on shutdown the last events still go out; a client that hung up gets nothing
    streams.delete(end);
    if (!raw.writableEnded) raw.end();
  };
  streams.add(end);
  request.raw.on("close", end);
}

/**
 * Moves a caught-up stream to the fan-out process. Nothing of it may be left unwritten here (the child
 * gets the connection, not this process's buffers), so what is queued is written first; then, in one
 * synchronous step, the child is told every event up to this feed's cursor, gets the socket and the
 * cursor, and this feed stops. A stream whose principal sees only some sessions stays here: the child
 * knows nothing about access. False: it stays here (the socket closed, or the child is gone).
 */
async function handOver(
  fanout: FanoutProcess,
  stream: {
    raw: FastifyReply["raw"];
    batch: WriteBatch;
    feed: EventFeed;
    filter: FeedFilter;
    heartbeatMs: number;
  },
): Promise<boolean> {
  const { raw, batch, feed, filter } = stream;
  const socket = raw.socket;
  if (!socket || filter.visible) return false;
  for (;;) {
    batch.flush();
    // Ended here (too slow: its last chunk is written) or gone: there is nothing to hand over.
    if (socket.destroyed || raw.writableEnded) return false;
    if (socket.writableLength === 0) break;
    // Its callback runs once every write before it has reached the kernel.
    await new Promise<void>((resolve) => socket.write("", () => resolve()));
  }
  const { visible: _everything, ...wireFilter } = filter;
  if (!fanout.handOverSse(socket, wireFilter, feed.cursor, stream.heartbeatMs)) return false;
  feed.close();
  return true;
}

/** Each event is formatted and UTF-8 encoded once, however many streams carry it. */
const ENCODED = new WeakMap<BatonEvent, Buffer>();

function encodeSseMessage(event: BatonEvent): Buffer {
  let message = ENCODED.get(event);
  if (message === undefined) {
    message = sseMessage(event.seq, event.topic, eventJson(event));
    ENCODED.set(event, message);
  }
  return message;
}

/** Keyed by the Node HTTP server, which every encapsulated plugin instance shares with the root. */
const STREAMS = new WeakMap<FastifyInstance["server"], Set<() => void>>();

/**
 * Open SSE streams per server. Hijacked replies are invisible to Fastify's close, which would otherwise
 * wait for every client to hang up: shutdown ends them itself (see closeOpenStreams).
 */
function openStreams(instance: FastifyInstance): Set<() => void> {
  const server = instance.server;
  let streams = STREAMS.get(server);
  if (!streams) {
    streams = new Set();
    STREAMS.set(server, streams);
  }
  return streams;
}

/** How many SSE streams are open (for /health), here and in the fan-out process. */
export function sseStreamCount(instance: FastifyInstance): number {
  return (STREAMS.get(instance.server)?.size ?? 0) + (fanoutProcessOf(instance)?.streamCount ?? 0);
}

/** Shutdown: ends every stream after what is queued, the fan-out process's too (it then exits). */
export async function closeOpenStreams(instance: FastifyInstance): Promise<void> {
  for (const end of [...openStreams(instance)]) end();
  await fanoutProcessOf(instance)?.stop();
}
