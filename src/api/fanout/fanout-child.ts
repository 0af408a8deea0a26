/**
 * The fan-out process: writes live events to the SSE streams and WebSocket connections (fanout-ws.ts)
 * Baton's process handed it, so that the socket writes (most of a busy bus's CPU, see docs/capacity.md)
 * run on a second core. It is told every committed event once (fanout-messages.ts) and owns each stream
 * from the seq it was handed over at: filtering, write batching, heartbeats, the too-slow cut-off and the
 * end of the stream. It reads no database and decides nothing about access: only streams and connections
 * that may see every event come here.
 * Started by FanoutProcess (fanout-process.ts); exits when told to, or when Baton's process goes away.
 */
import type { Socket } from "node:net";
import { type DeliveryStamp, DeliveryTiming } from "../../events/delivery-timing.ts";
import { type FilterableEvent, feedMatches } from "../../events/event-feed.ts";
import { CHUNKED, LAST_CHUNK, SSE_HEARTBEAT, SSE_MAX_BUFFERED_BYTES, sseMessage } from "../sse-wire.ts";
import { WriteBatch } from "../write-batch.ts";
import {
  type FromFanout,
  stampOf,
  type ToFanout,
  type WireEvent,
  type WireFilter,
} from "./fanout-messages.ts";
import { FanoutWebSockets } from "./fanout-ws.ts";

/** How often the deliveries recorded here are reported to Baton's process (its /metrics lag this much). */
const REPORT_INTERVAL_MS = 1000;
/** How long an ended stream's client gets to close its side before the socket is dropped. */
const END_GRACE_MS = 1000;

const timing = new DeliveryTiming();
const streams = new Map<number, SseStream>();
const webSockets = new FanoutWebSockets(timing, (message) => send(message));

class SseStream {
  private readonly socket: Socket;
  private readonly batch: WriteBatch;
  private readonly heartbeat: NodeJS.Timeout;
  readonly filter: WireFilter;
  lastSent: number;
  private ended = false;
  readonly id: number;

  constructor(
    id: number,
    socket: Socket,
    message: { filter: WireFilter; after: number; heartbeatMs: number },
  ) {
    this.id = id;
    this.socket = socket;
    this.filter = message.filter;
    this.lastSent = message.after;
    this.batch = new WriteBatch(
      (chunk) => {
        if (!socket.destroyed) socket.write(chunk);
      },
      { framing: CHUNKED, timing },
    );
    this.heartbeat = setInterval(() => this.batch.push(SSE_HEARTBEAT), message.heartbeatMs);
    this.heartbeat.unref();
    // The client sends nothing after its request; reading finds out when it hangs up.
    socket.on("error", () => socket.destroy());
    socket.once("close", () => this.closed());
    socket.resume();
  }

  push(message: Buffer, stamp: DeliveryStamp | undefined): void {
    if (this.ended) return;
    this.batch.push(message, stamp);
    if (this.socket.writableLength + this.batch.pendingBytes > SSE_MAX_BUFFERED_BYTES) {
      this.batch.clear();
      this.end(": closed: client too slow\n\n");
    }
  }

  /** Ends the chunked body after what is queued (and `last`), as Baton's process ends its own streams. */
  end(last?: string): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.heartbeat);
    if (last) this.batch.push(Buffer.from(last));
    this.batch.flush();
    if (!this.socket.destroyed) this.socket.end(LAST_CHUNK);
    setTimeout(() => this.socket.destroy(), END_GRACE_MS).unref();
  }

  private closed(): void {
    this.ended = true;
    clearInterval(this.heartbeat);
    this.batch.clear();
    streams.delete(this.id);
    send({ type: "closed", stream: this.id });
  }
}

function deliver(events: readonly WireEvent[]): void {
  for (const event of events) {
    const filterable: FilterableEvent = {
      topic: event.topic,
      sessionId: event.sessionId,
      data: { delta: event.delta },
    };
    const stamp = stampOf(event);
    webSockets.deliver(event, filterable, stamp);
    let message: Buffer | undefined;
    for (const stream of streams.values()) {
      if (event.seq <= stream.lastSent) continue;
      stream.lastSent = event.seq;
      if (!feedMatches(stream.filter, filterable)) continue;
      message ??= sseMessage(event.seq, event.topic, event.json);
      stream.push(message, stamp);
    }
  }
}

function report(requested: boolean): void {
  if (!requested && timing.acceptToWrite.count === 0 && timing.writes === 0) return;
  const deliveries = timing.deliveries();
  timing.reset();
  send({ type: "deliveries", deliveries, requested });
}

function send(message: FromFanout): void {
  if (process.connected) process.send?.(message);
}

function shutdown(): void {
  clearInterval(reporter);
  report(true);
  for (const stream of streams.values()) stream.end();
  webSockets.closeAll();
  // Exits once the last socket has closed; the IPC channel must not keep it alive.
  process.channel?.unref();
}

const reporter = setInterval(() => report(false), REPORT_INTERVAL_MS);
reporter.unref();

process.on("message", (message: ToFanout, handle: unknown) => {
  if (message.type === "events") deliver(message.events);
  else if (message.type === "sse") {
    const socket = handle as Socket | undefined;
    if (socket) streams.set(message.stream, new SseStream(message.stream, socket, message));
    else send({ type: "closed", stream: message.stream });
  } else if (message.type === "ws") webSockets.accept(message, handle as Socket | undefined);
  else if (message.type === "report") report(true);
  else if (message.type === "shutdown") shutdown();
  else webSockets.answer(message);
});

// Baton's process is gone: its streams' clients reconnect to the next Baton with their last seq.
process.once("disconnect", () => {
  for (const stream of streams.values()) stream.end();
  webSockets.closeAll();
  clearInterval(reporter);
});

send({ type: "ready" });
