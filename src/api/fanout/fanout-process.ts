import { type ChildProcess, fork } from "node:child_process";
import type { Socket } from "node:net";
import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyBaseLogger, FastifyInstance } from "fastify";
import type { BatonEvent } from "../../events/catalogue.ts";
import { eventJson } from "../../events/event-json.ts";
import type { EventLog } from "../../events/event-log.ts";
import type { LocalSubscriptionDeps } from "../ws/local-subscriptions.ts";
import type { FromFanout, ToFanout, UpgradeHeaders, WireEvent, WireFilter } from "./fanout-messages.ts";
import { type WsChannel, WsRelay } from "./ws-relay.ts";

/** The child's file next to this one: `.ts` when Baton runs from src/, `.js` from the build. */
const CHILD = fileURLToPath(
  new URL(`./fanout-child${extname(fileURLToPath(import.meta.url))}`, import.meta.url),
);
/** The fan-out process of a server (`fanoutProcess` on), keyed by the Node HTTP server. */
const FANOUTS = new WeakMap<FastifyInstance["server"], FanoutProcess>();

/** Caught-up SSE streams and WebSocket connections of this server move to `fanout`; shutdown stops it. */
export function useFanoutProcess(instance: FastifyInstance, fanout: FanoutProcess): void {
  FANOUTS.set(instance.server, fanout);
}

export function fanoutProcessOf(instance: FastifyInstance): FanoutProcess | undefined {
  return FANOUTS.get(instance.server);
}

/** How long the child gets to end its streams on shutdown before it is killed. */
const STOP_GRACE_MS = 3000;

/**
 * Baton's side of the fan-out process (`fanoutProcess` setting, fanout-child.ts). It forwards every
 * committed event to the child, one IPC message per published batch, while the child has streams or
 * connections; hands it SSE streams that have caught up and WebSocket connections before their upgrade
 * is answered; and answers those connections' subscriptions (ws-relay.ts). If the child dies, its streams
 * and connections end (their clients reconnect with their last seq) and new ones stay in Baton's process.
 */
export class FanoutProcess implements WsChannel {
  private readonly child: ChildProcess;
  private readonly log: EventLog;
  private readonly logger: FastifyBaseLogger;
  private readonly open = new Set<number>();
  /** Baton's side of each WebSocket connection the child owns (ws-relay.ts), by connection number. */
  private readonly relays = new Map<number, WsRelay>();
  private pending: WireEvent[] = [];
  private nextStream = 1;
  private alive = true;
  private stopping = false;
  private readonly reports: Array<() => void> = [];
  private readonly exited: Promise<void>;
  private readonly unsubscribe: () => void;

  private constructor(child: ChildProcess, log: EventLog, logger: FastifyBaseLogger) {
    this.child = child;
    this.log = log;
    this.logger = logger;
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
    child.on("message", (message: FromFanout) => this.onMessage(message));
    child.once("exit", (code, signal) => this.onExit(code, signal));
    this.unsubscribe = log.bus.subscribe((event) => this.forward(event));
    log.timing.recordedElsewhere(() => this.collectDeliveries());
  }

  /** Starts the child and waits until it listens. */
  static async start(log: EventLog, logger: FastifyBaseLogger): Promise<FanoutProcess> {
    // A small young generation, as `baton serve` has (bin/baton.js): the child's garbage is short-lived.
    const execArgv = ["--max-semi-space-size=8"];
    const child = fork(CHILD, [], { serialization: "advanced", execArgv, stdio: "inherit" });
    await new Promise<void>((resolve, reject) => {
      child.once("error", reject);
      child.once("exit", (code) => reject(new Error(`the fan-out process exited with code ${code}`)));
      child.once("message", () => resolve());
    });
    child.removeAllListeners("error").removeAllListeners("exit");
    child.on("error", (error) => logger.error({ err: error }, "fan-out process"));
    return new FanoutProcess(child, log, logger);
  }

  /** SSE streams the child is writing now (for /health). */
  get streamCount(): number {
    return this.open.size;
  }

  /** WebSocket connections the child owns now (for /health). */
  get webSocketCount(): number {
    return this.relays.size;
  }

  /**
   * Hands a caught-up SSE stream to the child: call it synchronously after the stream's last write from
   * here, with the seq sent so far (everything up to the bus's newest). False: keep streaming here.
   */
  handOverSse(socket: Socket, filter: WireFilter, after: number, heartbeatMs: number): boolean {
    // `connected` turns false as soon as the channel breaks, before the child's exit is reported.
    if (!this.alive || this.stopping || !this.child.connected) return false;
    // Every event up to `after` goes to the child before the stream does: it forwards the ones after.
    this.flush();
    const stream = this.nextStream++;
    this.open.add(stream);
    this.sendConnection({ type: "sse", stream, filter, after, heartbeatMs }, socket);
    return true;
  }

  /**
   * Hands a WebSocket upgrade request that access control let through, unanswered, to the child: it
   * answers 101 and owns the connection; its subscriptions are checked and replayed here (ws-relay.ts).
   * `head`: what arrived after the request's headers. False: answer it here.
   */
  handOverWs(
    socket: Socket,
    request: { url: string; headers: UpgradeHeaders; head: Buffer },
    deps: LocalSubscriptionDeps,
    pingIntervalMs: number | undefined,
  ): boolean {
    if (!this.alive || this.stopping || !this.child.connected) return false;
    const conn = this.nextStream++;
    this.relays.set(conn, new WsRelay(conn, this, deps));
    const { url, headers, head } = request;
    const optional = pingIntervalMs !== undefined && { pingIntervalMs };
    this.sendConnection({ type: "ws", conn, url, headers, head, ...optional }, socket);
    return true;
  }

  /** Gives the child `socket` with `message`; this process's copy is closed once it is sent. */
  private sendConnection(message: ToFanout, socket: Socket): void {
    // A socket that names its server is registered with it as "in a worker" (Node's cluster bookkeeping),
    // and a server whose worker list has emptied never emits "close": Baton's shutdown would hang. The
    // connection stays counted by the server (`_server`) until this process's copy is destroyed below.
    (socket as { server: unknown }).server = null;
    // keepOpen: this process only closes its own descriptor of the connection (no FIN) once it is sent.
    this.child.send(message, socket, { keepOpen: true }, () => socket.destroy());
  }

  goLive(conn: number, key: number, filter: WireFilter, cursor: number): void {
    this.flush();
    this.send({ type: "ws-live", conn, key, filter, cursor });
  }

  /** Makes the deliveries the child recorded so far part of this process's timing (benchmark, metrics). */
  async collectDeliveries(): Promise<void> {
    if (!this.alive) return;
    const reported = new Promise<void>((resolve) => this.reports.push(resolve));
    this.send({ type: "report" });
    await Promise.race([reported, this.exited]);
  }

  /** Ends the child's streams after what they have queued and waits for it to exit. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.unsubscribe();
    this.log.timing.recordedElsewhere(undefined);
    if (!this.alive) return;
    this.flush();
    this.send({ type: "shutdown" });
    const killer = setTimeout(() => this.child.kill("SIGKILL"), STOP_GRACE_MS);
    await this.exited;
    clearTimeout(killer);
  }

  /** An event as the child needs it, with its delivery stamps on the wall clock. */
  wireEvent(event: BatonEvent): WireEvent {
    const stamp = this.log.timing.stampOf(event);
    const origin = performance.timeOrigin;
    return {
      seq: event.seq,
      topic: event.topic,
      sessionId: event.sessionId,
      delta: event.topic === "session.output" && event.data.delta === true,
      json: eventJson(event),
      acceptedAt: stamp ? origin + stamp.acceptedAt : Number.NaN,
      publishedAt: stamp ? origin + stamp.publishedAt : Number.NaN,
    };
  }

  private forward(event: BatonEvent): void {
    if ((this.open.size === 0 && this.relays.size === 0) || !this.alive) return;
    this.pending.push(this.wireEvent(event));
    // The bus publishes a committed batch in one go: it goes to the child as one message.
    if (this.pending.length === 1) queueMicrotask(() => this.flush());
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const events = this.pending;
    this.pending = [];
    this.send({ type: "events", events });
  }

  send(message: ToFanout): void {
    if (this.alive && this.child.connected) this.child.send(message);
  }

  private onMessage(message: FromFanout): void {
    if (message.type === "closed") this.open.delete(message.stream);
    else if (message.type === "ws-subscribe")
      this.relays.get(message.conn)?.subscribe(message.key, message.id, message.frame);
    else if (message.type === "ws-unsubscribe") this.relays.get(message.conn)?.unsubscribe(message.key);
    else if (message.type === "ws-closed") {
      this.relays.get(message.conn)?.closed();
      this.relays.delete(message.conn);
    } else if (message.type === "deliveries") {
      this.log.timing.absorbDeliveries(message.deliveries);
      if (message.requested) for (const resolve of this.reports.splice(0)) resolve();
    }
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.alive = false;
    this.open.clear();
    for (const relay of this.relays.values()) relay.closed();
    this.relays.clear();
    this.pending = [];
    for (const resolve of this.reports.splice(0)) resolve();
    if (!this.stopping)
      this.logger.error(
        { code, signal },
        "the fan-out process exited: its SSE streams ended (clients resume from their last seq); " +
          "new streams are served by Baton's own process",
      );
  }
}
