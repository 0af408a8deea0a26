/**
 * The fan-out process's WebSocket connections: it answers the upgrade Baton's process checked and handed
 * over, and owns the connection from then on (client frames, pings, the close handshake, every write), so
 * no two processes ever write one socket. Each connection is the same WsConnection as in Baton's process;
 * only its subscriptions come from Baton over IPC: Baton checks them, replays, and hands each over live
 * with the seq it caught up to (fanout-messages.ts), after which the child filters the forwarded events.
 */
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import { WebSocketServer } from "ws";
import type { DeliveryStamp, DeliveryTiming } from "../../events/delivery-timing.ts";
import { type FilterableEvent, feedMatches } from "../../events/event-feed.ts";
import { type SubscriptionSink, type SubscriptionSource, WsConnection } from "../ws/ws-connection.ts";
import { encodeEventFrame } from "../ws/ws-frames.ts";
import { type SubscribeFrame, WS_CLOSE, WS_LIMITS } from "../ws/ws-protocol.ts";
import {
  type FromFanout,
  stampOf,
  type ToFanout,
  type WireEvent,
  type WireFilter,
} from "./fanout-messages.ts";

/** How long shutdown waits for clients to answer the 1001 close before it drops them (as Baton does). */
const SHUTDOWN_CLOSE_GRACE_MS = 1000;

interface RemoteSubscription {
  id: string;
  sink: SubscriptionSink;
  /** Set once Baton handed it over live: the child delivers forwarded events after `lastSent`. */
  live?: { filter: WireFilter; lastSent: number };
}

/** One connection's subscriptions, each asked of Baton's process and then, once live, served here. */
class RemoteSubscriptions implements SubscriptionSource {
  private readonly subscriptions = new Map<number, RemoteSubscription>();
  private nextKey = 1;
  private readonly conn: number;
  private readonly send: (message: FromFanout) => void;

  constructor(conn: number, send: (message: FromFanout) => void) {
    this.conn = conn;
    this.send = send;
  }

  open(id: string, frame: SubscribeFrame, sink: SubscriptionSink) {
    const key = this.nextKey++;
    this.subscriptions.set(key, { id, sink });
    this.send({ type: "ws-subscribe", conn: this.conn, key, id, frame });
    return {
      close: () => {
        if (this.subscriptions.delete(key)) this.send({ type: "ws-unsubscribe", conn: this.conn, key });
      },
    };
  }

  /** Baton's answers for subscription `key`; a subscription closed meanwhile ignores them. */
  answer(message: Extract<ToFanout, { key: number }>): void {
    const subscription = this.subscriptions.get(message.key);
    if (!subscription) return;
    if (message.type === "ws-subscribed") subscription.sink.subscribed(message.after);
    else if (message.type === "ws-events")
      for (const event of message.events) this.push(subscription, event, stampOf(event));
    else if (message.type === "ws-live")
      subscription.live = { filter: message.filter, lastSent: message.cursor };
    else {
      this.subscriptions.delete(message.key);
      subscription.sink.refused(message.frame);
    }
  }

  /** A forwarded event, to every live subscription it is new to and matches. */
  deliver(event: WireEvent, filterable: FilterableEvent, stamp: DeliveryStamp | undefined): void {
    for (const subscription of this.subscriptions.values()) {
      const live = subscription.live;
      if (!live || event.seq <= live.lastSent) continue;
      live.lastSent = event.seq;
      if (feedMatches(live.filter, filterable)) this.push(subscription, event, stamp);
    }
  }

  private push(subscription: RemoteSubscription, event: WireEvent, stamp: DeliveryStamp | undefined): void {
    subscription.sink.event(
      encodeEventFrame(subscription.id, event, () => event.json),
      stamp,
    );
  }
}

/** The fan-out process's WebSocket side: its connections, by the number Baton gave each. */
export class FanoutWebSockets {
  private readonly connections = new Map<number, { connection: WsConnection; source: RemoteSubscriptions }>();
  private readonly server = new WebSocketServer({
    noServer: true,
    maxPayload: WS_LIMITS.maxPayloadBytes,
    perMessageDeflate: false,
  });
  private readonly timing: DeliveryTiming;
  private readonly send: (message: FromFanout) => void;

  constructor(timing: DeliveryTiming, send: (message: FromFanout) => void) {
    this.timing = timing;
    this.send = send;
  }

  /** Answers the upgrade on the handed-over socket; reports `ws-closed` once the connection is gone. */
  accept(message: Extract<ToFanout, { type: "ws" }>, socket: Socket | undefined): void {
    const { conn } = message;
    if (!socket) {
      this.send({ type: "ws-closed", conn });
      return;
    }
    let accepted = false;
    // A refused handshake (ws answers 400 itself) closes the socket without a connection.
    socket.once("close", () => {
      if (!accepted) this.send({ type: "ws-closed", conn });
    });
    const request = { method: "GET", url: message.url, headers: message.headers } as IncomingMessage;
    this.server.handleUpgrade(request, socket, Buffer.from(message.head), (ws) => {
      accepted = true;
      // As in Baton's process (ws-route.ts): an error (a reset peer) ends the connection.
      ws.on("error", () => {
        if (ws.readyState === ws.OPEN) ws.terminate();
      });
      const source = new RemoteSubscriptions(conn, this.send);
      const connection = new WsConnection(ws, {
        source,
        tcp: socket,
        timing: this.timing,
        pingIntervalMs: message.pingIntervalMs,
      });
      this.connections.set(conn, { connection, source });
      void connection.ended.then(() => {
        this.connections.delete(conn);
        this.send({ type: "ws-closed", conn });
      });
    });
  }

  answer(message: Extract<ToFanout, { key: number }>): void {
    this.connections.get(message.conn)?.source.answer(message);
  }

  deliver(event: WireEvent, filterable: FilterableEvent, stamp: DeliveryStamp | undefined): void {
    for (const { source } of this.connections.values()) source.deliver(event, filterable, stamp);
  }

  /** Every client gets 1001 (going away) and reconnects later with its last seq; laggards are dropped. */
  closeAll(): void {
    const open = [...this.connections.values()].map(({ connection }) => connection);
    for (const connection of open) connection.close(WS_CLOSE.goingAway, "Baton is stopping");
    setTimeout(() => {
      for (const connection of open) connection.terminate();
    }, SHUTDOWN_CLOSE_GRACE_MS).unref();
  }
}
