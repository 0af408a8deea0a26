import type { WebsocketPluginOptions } from "@fastify/websocket";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { AccessControl } from "../../access/access-control.ts";
import { authorize } from "../../access/policy.ts";
import type { EventLog } from "../../events/event-log.ts";
import { principalOf } from "../access-hooks.ts";
import { fanoutProcessOf } from "../fanout/fanout-process.ts";
import { type LocalSubscriptionDeps, localSubscriptionSource } from "./local-subscriptions.ts";
import { WsConnection } from "./ws-connection.ts";
import { WS_CLOSE, WS_LIMITS } from "./ws-protocol.ts";

/** How long shutdown waits for clients to answer the 1001 close before it drops them. */
const SHUTDOWN_CLOSE_GRACE_MS = 1000;

/**
 * Options for @fastify/websocket, set on purpose rather than left at the library defaults: a 64 KiB frame
 * limit (the default is 100 MiB), no compression (it costs CPU and latency on every frame of a fan-out), and
 * a shutdown that tells clients 1001 (going away) instead of the default close without a code.
 */
export const WS_PLUGIN_OPTIONS: WebsocketPluginOptions = {
  options: { maxPayload: WS_LIMITS.maxPayloadBytes, perMessageDeflate: false },
  // ws has already started closing the socket (e.g. 1009 for an oversized frame, or a reset peer): the
  // plugin's default handler would terminate it before the close frame goes out.
  errorHandler: (error, socket, request) => {
    request.log.debug({ err: error }, "websocket error");
    if (socket.readyState === socket.OPEN) socket.terminate();
  },
  preClose: async function closeOnShutdown(this: FastifyInstance) {
    await closeWsConnections(this);
  },
};

export interface WsRouteDeps {
  log: EventLog;
  access: AccessControl;
  pingIntervalMs?: number;
}

/**
 * `/ws` as /openapi.json describes it. @fastify/websocket hides its routes from the generated spec, so the
 * path is written here, next to the route, and handed to the swagger plugin (build-server.ts).
 */
export function wsOpenApiPath(): Record<string, unknown> {
  return {
    get: {
      tags: ["events"],
      summary: "WebSocket event stream: subscribe, replay from a cursor, then live (upgrade required)",
      description:
        'Send `{"type": "subscribe", id?, topics?, session?, after?, output?, deltas?}` frames; receive ' +
        "`subscribed`, then `event` frames in seq order with no gap between replay and live; `ping` gets " +
        "`pong`; `reset` and `error` say what went wrong. Frame schemas: src/api/ws/ws-protocol.ts; " +
        "protocol: docs/events.md.",
      responses: {
        101: { description: "Switching Protocols: the WebSocket is open" },
        401: { description: "missing or wrong bearer token (when auth is on)" },
      },
    },
  };
}

/** Keyed by the Node HTTP server, which every encapsulated plugin instance shares with the root. */
const CONNECTIONS = new WeakMap<FastifyInstance["server"], Set<WsConnection>>();

/**
 * `GET /ws`: the WebSocket event stream (protocol in ws-protocol.ts and docs/events.md). Registered on the
 * root instance (not as an encapsulated plugin) so shutdown's closeWsConnections finds the same set.
 */
export function registerWsRoute(app: FastifyInstance, deps: WsRouteDeps): void {
  const connections = openConnections(app);
  // Access control runs on the upgrade request (Origin, token, `events.read`); each subscription is then
  // confined to what the principal may see, and naming a session needs the right to read it.
  const subscriptionDeps = (request: FastifyRequest): LocalSubscriptionDeps => {
    const principal = principalOf(request);
    return {
      log: deps.log,
      resolveSessionId: async (idOrName) => {
        const target = await deps.access.sessionTarget(idOrName);
        authorize(principal, "session.read", target);
        return target.id;
      },
      visibility: () => deps.access.eventFilter(principal),
      logger: request.log,
    };
  };
  // With the fan-out process, a connection that may see every event is handed to it before the upgrade is
  // answered (after access control): the child owns it whole. Others are answered and served here.
  const handOver = async (request: FastifyRequest, reply: FastifyReply) => {
    const fanout = fanoutProcessOf(app);
    const head = fanout && upgradeHead(request);
    if (!fanout || !head || (await deps.access.eventFilter(principalOf(request)))) return;
    const { url, headers } = request.raw;
    const upgrade = { url: url ?? "/ws", headers, head };
    if (fanout.handOverWs(request.raw.socket, upgrade, subscriptionDeps(request), deps.pingIntervalMs))
      reply.hijack();
  };
  const options = { websocket: true, config: { access: "events.read" }, preHandler: handOver } as const;
  app.get("/ws", options, (socket, request) => {
    const source = localSubscriptionSource(subscriptionDeps(request));
    const connection = new WsConnection(socket, {
      source,
      tcp: request.socket,
      timing: deps.log.timing,
      pingIntervalMs: deps.pingIntervalMs,
    });
    connections.add(connection);
    void connection.ended.then(() => connections.delete(connection));
  });
}

/**
 * Shutdown: every client gets 1001 (going away) so it reconnects later with its last seq; one that does
 * not answer within a second is dropped, so stopping Baton stays fast.
 */
export async function closeWsConnections(app: FastifyInstance): Promise<void> {
  const connections = [...openConnections(app)];
  if (connections.length === 0) return;
  for (const connection of connections) connection.close(WS_CLOSE.goingAway, "Baton is stopping");
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, SHUTDOWN_CLOSE_GRACE_MS);
  });
  await Promise.race([Promise.all(connections.map((connection) => connection.ended)), grace]);
  clearTimeout(timer);
  for (const connection of connections) connection.terminate();
}

function openConnections(app: FastifyInstance): Set<WsConnection> {
  let connections = CONNECTIONS.get(app.server);
  if (!connections) {
    connections = new Set();
    CONNECTIONS.set(app.server, connections);
  }
  return connections;
}

/** How many WebSocket clients are connected (for /health), here and in the fan-out process. */
export function wsConnectionCount(app: FastifyInstance): number {
  return (CONNECTIONS.get(app.server)?.size ?? 0) + (fanoutProcessOf(app)?.webSocketCount ?? 0);
}

/**
 * The bytes that arrived after an upgrade request's headers, which @fastify/websocket keeps on the raw
 * request under a private symbol until it answers the upgrade itself. Not found (another plugin version):
 * undefined, and the connection is served here.
 */
function upgradeHead(request: FastifyRequest): Buffer | undefined {
  const raw = request.raw as unknown as Record<symbol, unknown>;
  const key = Object.getOwnPropertySymbols(raw).find((symbol) => symbol.description === "ws-head");
  const head = key ? raw[key] : undefined;
  return Buffer.isBuffer(head) ? head : undefined;
}
