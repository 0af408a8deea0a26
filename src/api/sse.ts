import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { BatonEvent } from "../events/catalogue.ts";
import { EventFeed, type FeedFilter } from "../events/event-feed.ts";
import { eventJson } from "../events/event-json.ts";
import type { EventLog } from "../events/event-log.ts";
import { type ChunkFraming, WriteBatch } from "./write-batch.ts";

/** A client whose unsent backlog passes this is cut off rather than growing Baton's memory without bound. */
export const SSE_MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

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
  const heartbeat = setInterval(() => batch.push(HEARTBEAT), deps.heartbeatMs);
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

const HEARTBEAT = Buffer.from(": heartbeat\n\n");
/** One chunk of a chunked body: its size in hex, CRLF, the data, CRLF. */
const CHUNKED: ChunkFraming = {
  prefix: (bytes) => Buffer.from(`${bytes.toString(16)}\r\n`),
  suffix: Buffer.from("\r\n"),
};

/** Each event is formatted and UTF-8 encoded once, however many streams carry it. */
const ENCODED = new WeakMap<BatonEvent, Buffer>();

function encodeSseMessage(event: BatonEvent): Buffer {
  let message = ENCODED.get(event);
  if (message === undefined) {
    message = Buffer.from(`id: ${event.seq}\nevent: ${event.topic}\ndata: ${eventJson(event)}\n\n`);
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

/** How many SSE streams are open (for /health). */
export function sseStreamCount(instance: FastifyInstance): number {
  return STREAMS.get(instance.server)?.size ?? 0;
}

export function closeOpenStreams(server: FastifyInstance): void {
  for (const end of [...openStreams(server)]) end();
}
