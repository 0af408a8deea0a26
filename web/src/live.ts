import type { ClientFrame, ServerFrame, SubscribeFrame } from "../../src/api/ws/ws-protocol.ts";
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
const PAGE = "page";

/** A narrower subscription a view adds on the same socket (e.g. one session's streamed text). */
export type WatchFilter = Pick<SubscribeFrame, "session" | "topics" | "output" | "deltas">;

interface Watch {
  filter: WatchFilter;
  onEvent(event: BatonEvent): void;
  /** Its own cursor: it replays from here after a reconnect, like the page's. */
  lastSeq: number | undefined;
}

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
  private readonly watches = new Map<string, Watch>();
  private nextWatch = 1;

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

  /**
   * Adds a subscription on the page's socket (still one WebSocket) from the page's current cursor on;
   * the returned function ends it.
   */
  watch(filter: WatchFilter, onEvent: (event: BatonEvent) => void): () => void {
    const id = `watch-${this.nextWatch++}`;
    const watch: Watch = { filter, onEvent, lastSeq: this.lastSeq };
    this.watches.set(id, watch);
    if (this.socket?.readyState === WebSocket.OPEN) this.subscribeWatch(id, watch);
    return () => {
      this.watches.delete(id);
      if (this.socket?.readyState === WebSocket.OPEN) this.send({ type: "unsubscribe", id });
    };
  }

  private connect(): void {
    const socket = new WebSocket(`${location.origin.replace(/^http/, "ws")}/ws`);
    this.socket = socket;
    let opened = false;
    socket.addEventListener("open", () => {
      opened = true;
      this.subscribe(this.lastSeq);
      for (const [id, watch] of this.watches) this.subscribeWatch(id, watch);
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
    this.send({
      type: "subscribe",
      id: PAGE,
      topics: ["*"],
      output: true,
      deltas: false,
      ...(after !== undefined && { after }),
    });
  }

  private subscribeWatch(id: string, watch: Watch): void {
    const { lastSeq } = watch;
    this.send({
      type: "subscribe",
      id,
      ...watch.filter,
      ...(lastSeq !== undefined && { after: lastSeq }),
    });
  }

  private send(frame: ClientFrame): void {
    this.socket?.send(JSON.stringify(frame));
  }

  private receive(frame: ServerFrame): void {
    if ("subscription" in frame && frame.subscription !== undefined && frame.subscription !== PAGE) {
      // A view's own subscription (or one it just ended, whose last frames are still arriving).
      const watch = this.watches.get(frame.subscription);
      if (watch) this.receiveWatched(frame.subscription, frame, watch);
      return;
    }
    if (frame.type === "event") {
      if (this.lastSeq !== undefined && frame.seq <= this.lastSeq) return; // a replay seam: no doubles
      this.lastSeq = frame.seq;
      const { type: _type, subscription: _subscription, ...event } = frame;
      this.handlers.onEvent(event);
    } else if (frame.type === "subscribed" && frame.id === PAGE) {
      this.lastSeq ??= frame.after;
      this.delayMs = 500;
      this.handlers.onState("live");
    } else if (frame.type === "reset" && frame.subscription === PAGE) {
      // Our cursor is gone (pruned, or another database): go on from the newest event and reload.
      this.lastSeq = frame.latestSeq;
      this.subscribe(frame.latestSeq);
      this.handlers.onGap();
    }
  }

  private receiveWatched(id: string, frame: ServerFrame, watch: Watch): void {
    if (frame.type === "event") {
      if (watch.lastSeq !== undefined && frame.seq <= watch.lastSeq) return;
      watch.lastSeq = frame.seq;
      const { type: _type, subscription: _subscription, ...event } = frame;
      watch.onEvent(event);
    } else if (frame.type === "reset") {
      // What it missed is gone from the log; the view's own history load covers what is kept.
      watch.lastSeq = frame.latestSeq;
      this.subscribeWatch(id, watch);
    }
  }
}
