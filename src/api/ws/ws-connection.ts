import type { Socket } from "node:net";
import type { RawData, WebSocket } from "ws";
import type { ErrorCode } from "../../core/errors.ts";
import type { DeliveryStamp, DeliveryTiming } from "../../events/delivery-timing.ts";
import { WriteBatch } from "../write-batch.ts";
import { serverFrame } from "./ws-frames.ts";
import {
  parseClientFrame,
  type ServerFrame,
  type SubscribeFrame,
  WS_CLOSE,
  WS_LIMITS,
} from "./ws-protocol.ts";

/** How a subscription reports back to its connection, in this order: subscribed, events; or refused. */
export interface SubscriptionSink {
  subscribed(after: number): void;
  /** One event's complete frame (ws-frames.ts), with its delivery stamp. */
  event(frame: Buffer, stamp: DeliveryStamp | undefined): void;
  refused(frame: ServerFrame): void;
}

/**
 * Where a connection's subscriptions come from: Baton's own event log (local-subscriptions.ts), or, in the
 * fan-out process, Baton's process over IPC (fanout-ws.ts). The sink is never called from inside `open`,
 * and nothing reaches it after `close()`.
 */
export interface SubscriptionSource {
  open(id: string, frame: SubscribeFrame, sink: SubscriptionSink): { close(): void };
}

export interface WsConnectionDeps {
  source: SubscriptionSource;
  /** The TCP socket under the WebSocket: frames are written to it directly (see sendFrame). */
  tcp: Socket;
  /** Where each event frame's accept → write time is recorded. */
  timing: DeliveryTiming | undefined;
  pingIntervalMs?: number | undefined;
}

/**
 * One client on `GET /ws`: parses its frames, holds its subscriptions (from its SubscriptionSource), cuts it
 * off when it cannot keep up, and pings it to find dead peers. The same class serves a connection in
 * Baton's process and one handed to the fan-out process.
 */
export class WsConnection {
  private readonly socket: WebSocket;
  private readonly deps: WsConnectionDeps;
  private readonly subscriptions = new Map<string, { close(): void }>();
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
      { timing: deps.timing },
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
    else this.subscribe(frame);
  }

  private subscribe(frame: SubscribeFrame): void {
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
    // Sources answer later (after a read, or a message), never from inside `open`: it is held under its id
    // first, so an unsubscribe or a duplicate id that arrives meanwhile sees it.
    const subscription = this.deps.source.open(id, frame, {
      subscribed: (after) => this.send({ type: "subscribed", id, after }),
      event: (eventFrame, stamp) => this.sendFrame(eventFrame, stamp),
      refused: (answer) => {
        if (this.subscriptions.get(id) === subscription) this.subscriptions.delete(id);
        this.send(answer);
      },
    });
    this.subscriptions.set(id, subscription);
  }

  private unsubscribe(id: string): void {
    const subscription = this.subscriptions.get(id);
    if (!subscription) {
      this.sendError("VALIDATION_FAILED", `no subscription "${id}"`, id);
      return;
    }
    subscription.close();
    this.subscriptions.delete(id);
    this.send({ type: "unsubscribed", id });
  }

  private freshId(): string {
    let id = `s${this.nextId++}`;
    while (this.subscriptions.has(id)) id = `s${this.nextId++}`;
    return id;
  }

  /** Error frames carry the same stable codes as HTTP errors; the connection stays open. */
  private sendError(code: ErrorCode, message: string, subscription?: string): void {
    this.send({ type: "error", code, message, ...(subscription !== undefined && { subscription }) });
  }

  private send(frame: ServerFrame): void {
    this.sendFrame(serverFrame(frame));
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
    for (const subscription of this.subscriptions.values()) subscription.close();
    this.subscriptions.clear();
  }
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  return Buffer.isBuffer(data) ? data.toString("utf8") : Buffer.from(data).toString("utf8");
}
