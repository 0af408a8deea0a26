import type { Socket } from "node:net";
import type { FastifyBaseLogger } from "fastify";
import type { RawData, WebSocket } from "ws";
import { describeError, type ErrorCode, isBatonError } from "../../core/errors.ts";
import type { BatonEvent } from "../../events/catalogue.ts";
import type { DeliveryStamp } from "../../events/delivery-timing.ts";
import { EventFeed } from "../../events/event-feed.ts";
import { eventJson } from "../../events/event-json.ts";
import type { EventLog } from "../../events/event-log.ts";
import { WriteBatch } from "../write-batch.ts";
import {
  parseClientFrame,
  type ServerFrame,
  type SubscribeFrame,
  WS_CLOSE,
  WS_LIMITS,
} from "./ws-protocol.ts";

export interface WsConnectionDeps {
  log: EventLog;
  /** The TCP socket under the WebSocket: frames are written to it directly (see sendFrame). */
  tcp: Socket;
  /**
   * A session filter may name the session; subscriptions always filter by id. Throws when the session is
   * unknown or the connection's principal may not read it.
   */
  resolveSessionId: (idOrName: string) => Promise<string>;
  /** What this connection's principal may see (undefined: everything). */
  visibility: () => Promise<((event: BatonEvent) => boolean) | undefined>;
  logger: FastifyBaseLogger;
  pingIntervalMs?: number;
}

interface Subscription {
  feed: EventFeed | undefined;
  /** Set by unsubscribe or close while the subscribe is still resolving: it must not start its feed. */
  cancelled: boolean;
}

/**
 * One client on `GET /ws`: parses its frames, holds its subscriptions (each an EventFeed, so replay-then-live
 * has no gap and no duplicate), cuts it off when it cannot keep up, and pings it to find dead peers.
 */
export class WsConnection {
  private readonly socket: WebSocket;
  private readonly deps: WsConnectionDeps;
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly pinger: NodeJS.Timeout;
  /** Settles when the socket has closed (handshake done, or terminated). */
  readonly ended: Promise<void>;
  private nextId = 1;
  private answeredPing = true;
  private closed = false;
  private readonly batch: WriteBatch;

  constructor(socket: WebSocket, deps: WsConnectionDeps) {
    this.socket = socket;
    this.deps = deps;
    // ws's own writes (pings, the close frame) go to the same socket immediately; ours wait for the turn to
    // end, and none may follow the close frame.
    this.batch = new WriteBatch(
      (chunk) => {
        if (socket.readyState === socket.OPEN) deps.tcp.write(chunk);
      },
      { timing: deps.log.timing },
    );
    socket.on("message", (data, isBinary) => this.onMessage(data, isBinary));
    socket.on("pong", () => {
      this.answeredPing = true;
    });
    this.ended = new Promise((resolve) => {
      socket.on("close", () => {
        this.dispose();
        resolve();
      });
    });
    this.pinger = setInterval(() => this.ping(), deps.pingIntervalMs ?? WS_LIMITS.pingIntervalMs);
    this.pinger.unref();
  }

  /**
   * Closes with a code and reason; the client's subscriptions stop at once. The close frame queues behind
   * any backlog, so a client that never reads that far is dropped after closeGraceMs: its buffer is freed.
   */
  close(code: number, reason: string): void {
    this.batch.flush();
    this.dispose();
    this.socket.close(code, reason);
    const dropper = setTimeout(() => this.socket.terminate(), WS_LIMITS.closeGraceMs);
    dropper.unref();
    void this.ended.then(() => clearTimeout(dropper));
  }

  /** Drops the TCP connection without a close handshake: for peers that do not answer one. */
  terminate(): void {
    this.batch.clear();
    this.dispose();
    this.socket.terminate();
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (this.closed) return;
    if (isBinary) {
      this.sendError("VALIDATION_FAILED", "binary frames are not understood; send JSON text frames");
      return;
    }
    const parsed = parseClientFrame(rawText(data));
    if ("error" in parsed) {
      this.sendError("VALIDATION_FAILED", parsed.error);
      return;
    }
    const { frame } = parsed;
    if (frame.type === "ping") this.send({ type: "pong" });
    else if (frame.type === "unsubscribe") this.unsubscribe(frame.id);
    else void this.subscribe(frame);
  }

  private async subscribe(frame: SubscribeFrame): Promise<void> {
    const id = frame.id ?? this.freshId();
    if (this.subscriptions.has(id)) {
      this.sendError("VALIDATION_FAILED", `id: "${id}" is in use`, id);
      return;
    }
    if (this.subscriptions.size >= WS_LIMITS.maxSubscriptions) {
      const message = `at most ${WS_LIMITS.maxSubscriptions} subscriptions per connection; unsubscribe one`;
      this.sendError("VALIDATION_FAILED", message, id);
      return;
    }
    // Reserved before the first await, so an unsubscribe or a duplicate id that arrives meanwhile sees it.
    const subscription: Subscription = { feed: undefined, cancelled: false };
    this.subscriptions.set(id, subscription);
    try {
      const { log } = this.deps;
      const sessionId = frame.session ? await this.deps.resolveSessionId(frame.session) : undefined;
      const after = frame.after ?? log.bus.latestSeq;
      const filter = {
        topics: frame.topics,
        sessionId,
        includeOutput: frame.output,
        includeDeltas: frame.deltas,
        visible: await this.deps.visibility(),
      };
      const feed = new EventFeed(log, filter, after, (event) => this.sendEvent(id, event));
      subscription.feed = feed;
      await log.assertCursorKept(after);
      if (subscription.cancelled) return;
      this.send({ type: "subscribed", id, after });
      await feed.start();
    } catch (error) {
      if (this.subscriptions.get(id) === subscription) this.subscriptions.delete(id);
      subscription.feed?.close();
      if (!subscription.cancelled) this.refuse(id, error);
    }
  }

  /**
   * A cursor the log does not cover gets a `reset`: one older than retention kept (possibly after
   * `subscribed`, when pruning overtook replay), or one past the newest event.
   */
  private refuse(id: string, error: unknown): void {
    if (isBatonError(error) && (error.code === "CURSOR_EXPIRED" || error.code === "CURSOR_AHEAD")) {
      const oldestSeq = Number(error.details?.oldestSeq);
      this.send({ type: "reset", subscription: id, oldestSeq, latestSeq: this.deps.log.bus.latestSeq });
      return;
    }
    if (isBatonError(error)) {
      this.sendError(error.code, error.message, id);
      return;
    }
    this.deps.logger.error({ err: error }, "websocket subscribe failed");
    this.sendError("INTERNAL", `internal error: ${describeError(error)}`, id);
  }

  private unsubscribe(id: string): void {
    const subscription = this.subscriptions.get(id);
    if (!subscription) {
      this.sendError("VALIDATION_FAILED", `no subscription "${id}"`, id);
      return;
    }
    subscription.cancelled = true;
    subscription.feed?.close();
    this.subscriptions.delete(id);
    this.send({ type: "unsubscribed", id });
  }

  private freshId(): string {
    let id = `s${this.nextId++}`;
    while (this.subscriptions.has(id)) id = `s${this.nextId++}`;
    return id;
  }

  private sendEvent(subscription: string, event: BatonEvent): void {
    this.sendFrame(encodeEventFrame(subscription, event), this.deps.log.timing.stampOf(event));
  }

  /** Error frames carry the same stable codes as HTTP errors; the connection stays open. */
  private sendError(code: ErrorCode, message: string, subscription?: string): void {
    this.send({ type: "error", code, message, ...(subscription !== undefined && { subscription }) });
  }

  private send(frame: ServerFrame): void {
    this.sendFrame(textFrame(JSON.stringify(frame)));
  }

  /**
   * Queues a complete WebSocket frame for the end of the turn (see WriteBatch), then checks the backlog that
   * bounds memory: a client whose unsent bytes pass the limit is closed with 4008 instead of queueing
   * without end (see close for how long the last backlog may stay).
   */
  private sendFrame(frame: Buffer, stamp?: DeliveryStamp): void {
    if (this.closed) return;
    this.batch.push(frame, stamp);
    if (this.deps.tcp.writableLength + this.batch.pendingBytes > WS_LIMITS.maxBufferedBytes) {
      this.close(WS_CLOSE.tooSlow, "too slow: send buffer over 4 MiB");
    }
  }

  /** A peer that did not answer the previous ping is gone (half-open TCP): terminate it. */
  private ping(): void {
    if (!this.answeredPing) {
      this.terminate();
      return;
    }
    this.answeredPing = false;
    this.socket.ping();
  }

  private dispose(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.pinger);
    for (const subscription of this.subscriptions.values()) {
      subscription.cancelled = true;
      subscription.feed?.close();
    }
    this.subscriptions.clear();
  }
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  return Buffer.isBuffer(data) ? data.toString("utf8") : Buffer.from(data).toString("utf8");
}

/**
 * Each event's whole frame is built once per subscription id, however many connections carry it (clients
 * mostly reuse the same ids): server frames are unmasked, so the bytes are the same on every connection,
 * and at 100 subscribers serialising and framing is otherwise the fan-out's main CPU cost.
 */
const ENCODED = new WeakMap<BatonEvent, Map<string, Buffer>>();

function encodeEventFrame(subscription: string, event: BatonEvent): Buffer {
  let byId = ENCODED.get(event);
  if (!byId) {
    byId = new Map();
    ENCODED.set(event, byId);
  }
  let frame = byId.get(subscription);
  if (!frame) {
    const body = eventJson(event).slice(1);
    frame = textFrame(`{"type":"event","subscription":${JSON.stringify(subscription)},${body}`);
    byId.set(subscription, frame);
  }
  return frame;
}

/**
 * An unmasked, final text frame (RFC 6455 §5.2): the header is 2, 4 or 10 bytes by payload length. The
 * text is encoded straight into the frame, with no intermediate buffer.
 */
function textFrame(payload: string): Buffer {
  const length = Buffer.byteLength(payload);
  const headerLength = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = 0x81; // FIN + opcode 1 (text)
  if (length < 126) frame[1] = length;
  else if (length < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  frame.write(payload, headerLength, "utf8");
  return frame;
}
