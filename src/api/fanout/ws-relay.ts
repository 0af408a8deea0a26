import type { BatonEvent } from "../../events/catalogue.ts";
import { type LocalSubscriptionDeps, openLocalSubscription } from "../ws/local-subscriptions.ts";
import type { SubscribeFrame } from "../ws/ws-protocol.ts";
import type { ToFanout, WireEvent, WireFilter } from "./fanout-messages.ts";

/** What a relay needs of the fan-out process's channel (FanoutProcess). */
export interface WsChannel {
  send(message: ToFanout): void;
  /** Every forwarded event up to `cursor` is sent first, then `ws-live`: the child serves it from there. */
  goLive(conn: number, key: number, filter: WireFilter, cursor: number): void;
  wireEvent(event: BatonEvent): WireEvent;
}

/**
 * Baton's side of one WebSocket connection the fan-out process owns: each subscription the client makes
 * there is checked, replayed and caught up here (openLocalSubscription, with the connection's principal),
 * its events sent to the child as they come, and once caught up it is handed over live with its cursor.
 */
export class WsRelay {
  private readonly handles = new Map<number, { close(): void }>();
  private readonly conn: number;
  private readonly channel: WsChannel;
  private readonly deps: LocalSubscriptionDeps;

  constructor(conn: number, channel: WsChannel, deps: LocalSubscriptionDeps) {
    this.conn = conn;
    this.channel = channel;
    this.deps = deps;
  }

  subscribe(key: number, id: string, frame: SubscribeFrame): void {
    const conn = this.conn;
    const channel = this.channel;
    let pending: WireEvent[] = [];
    // Replay comes a page at a time: each page goes to the child as one message.
    const flush = () => {
      if (pending.length === 0) return;
      channel.send({ type: "ws-events", conn, key, events: pending });
      pending = [];
    };
    const handle = openLocalSubscription(this.deps, id, frame, {
      subscribed: (after) => channel.send({ type: "ws-subscribed", conn, key, after }),
      event: (event) => {
        pending.push(channel.wireEvent(event));
        if (pending.length === 1) queueMicrotask(flush);
      },
      refused: (answer) => {
        flush();
        this.handles.delete(key);
        channel.send({ type: "ws-refused", conn, key, frame: answer });
      },
      caughtUp: (feed, filter) => {
        // A principal that sees only some sessions keeps its feed here (the child knows nothing of access).
        if (filter.visible) return;
        // One synchronous step: what the feed sent, then its cursor; the child takes every event after it.
        flush();
        feed.close();
        this.handles.delete(key);
        const { visible: _everything, ...wireFilter } = filter;
        channel.goLive(conn, key, wireFilter, feed.cursor);
      },
    });
    this.handles.set(key, handle);
  }

  unsubscribe(key: number): void {
    this.handles.get(key)?.close();
    this.handles.delete(key);
  }

  /** The connection is gone (or the child): every subscription still replaying here stops. */
  closed(): void {
    for (const handle of this.handles.values()) handle.close();
    this.handles.clear();
  }
}
