import type { ClientFrame, ServerFrame } from "../../src/api/ws/ws-protocol.ts";
import type { BatonEvent } from "../../src/events/catalogue.ts";

export type LinkState = "connecting" | "live" | "reconnecting";

export interface LiveHandlers {
  onEvent(event: BatonEvent): void;
  onState(state: LinkState): void;
  /** The log no longer holds our cursor (or is another log): whatever was derived from events is stale. */
  onGap(): void;
  /** A socket closed before it opened: maybe the login ended (the caller checks, and may stop the feed). */
  onRefused(): void;
}

const MAX_DELAY_MS = 5000;

/**
 * The page's one WebSocket: every topic the login may see (Baton filters by principal), assistant text
 * included. It remembers the last seq it delivered and, after any disconnect or a Baton restart,
 * resubscribes from there, so the views get each event exactly once and none is missed.
 */
export class LiveFeed {
  private socket: WebSocket | undefined;
  private lastSeq: number | undefined;
  private delayMs = 500;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  private readonly handlers: LiveHandlers;

  constructor(handlers: LiveHandlers) {
    this.handlers = handlers;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.socket?.close(1000);
  }

  private connect(): void {
    const socket = new WebSocket(`${location.origin.replace(/^http/, "ws")}/ws`);
    this.socket = socket;
    let opened = false;
    socket.addEventListener("open", () => {
      opened = true;
      this.subscribe(this.lastSeq);
    });
    socket.addEventListener("message", (message) => {
      if (typeof message.data === "string") this.receive(JSON.parse(message.data) as ServerFrame);
    });
    socket.addEventListener("close", () => {
      if (this.stopped || socket !== this.socket) return;
      this.handlers.onState("reconnecting");
      if (!opened) this.handlers.onRefused();
      this.timer = setTimeout(() => this.connect(), this.delayMs);
      this.delayMs = Math.min(this.delayMs * 2, MAX_DELAY_MS);
    });
  }

  private subscribe(after: number | undefined): void {
    const frame: ClientFrame = {
      type: "subscribe",
      id: "page",
      topics: ["*"],
      output: true,
      deltas: false,
      ...(after !== undefined && { after }),
    };
    this.socket?.send(JSON.stringify(frame));
  }

  private receive(frame: ServerFrame): void {
    if (frame.type === "event") {
      if (this.lastSeq !== undefined && frame.seq <= this.lastSeq) return; // a replay seam: no doubles
      this.lastSeq = frame.seq;
      const { type: _type, subscription: _subscription, ...event } = frame;
      this.handlers.onEvent(event);
    } else if (frame.type === "subscribed") {
      this.lastSeq ??= frame.after;
      this.delayMs = 500;
      this.handlers.onState("live");
    } else if (frame.type === "reset") {
      // Our cursor is gone (pruned, or another database): go on from the newest event and reload.
      this.lastSeq = frame.latestSeq;
      this.subscribe(frame.latestSeq);
      this.handlers.onGap();
    }
  }
}
