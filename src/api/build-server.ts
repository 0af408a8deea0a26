import cookie from "@fastify/cookie";
import cors from "@fastify/cors";
import rateLimit, { type RateLimitOptions } from "@fastify/rate-limit";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import websocket from "@fastify/websocket";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from "fastify-type-provider-zod";
import { z } from "zod";
import type { AccessControl } from "../access/access-control.ts";
import { type Principal, principalLabel } from "../access/principal.ts";
import type { Membership } from "../cluster/cluster-node.ts";
import type { EffectiveConfig } from "../core/effective-config.ts";
import { BatonError } from "../core/errors.ts";
import { TypedEventSchema } from "../events/catalogue.ts";
import type { EventLog } from "../events/event-log.ts";
import type { LockService } from "../locks/lock-service.ts";
import type { BatonMetrics } from "../ops/metrics.ts";
import type { Tracing } from "../ops/tracing.ts";
import { traceRequests } from "../ops/tracing-http.ts";
import type { CoordinationCommands } from "../sessions/coordination-commands.ts";
import type { KeyedSessions } from "../sessions/keyed-sessions.ts";
import type { PermissionBroker } from "../sessions/permission-broker.ts";
import type { AgentTool } from "../sessions/runner-port.ts";
import type { ProcessResources } from "../sessions/session-schema.ts";
import type { SessionService } from "../sessions/session-service.ts";
import type { Store } from "../store/open-store.ts";
import { registerAccessControl } from "./access-hooks.ts";
import type { BrowserGuard } from "./browser-guard.ts";
import { handleError } from "./error-handler.ts";
import { FanoutProcess, useFanoutProcess } from "./fanout/fanout-process.ts";
import { accessRoutes } from "./routes/access-routes.ts";
import { configRoutes } from "./routes/config-routes.ts";
import { coordinationRoutes } from "./routes/coordination-routes.ts";
import { registerDashboard } from "./routes/dashboard-routes.ts";
import { eventRoutes } from "./routes/event-routes.ts";
import { healthRoutes } from "./routes/health-routes.ts";
import { keyRoutes } from "./routes/key-routes.ts";
import { lockRoutes } from "./routes/lock-routes.ts";
import { loginRoutes } from "./routes/login-routes.ts";
import { mcpRoutes } from "./routes/mcp-routes.ts";
import { metricsRoutes } from "./routes/metrics-routes.ts";
import { nodeRoutes } from "./routes/node-routes.ts";
import { permissionRoutes } from "./routes/permission-routes.ts";
import { queuedMessageRoutes } from "./routes/queued-message-routes.ts";
import { sessionRoutes } from "./routes/session-routes.ts";
import { type SlackEventsHandler, slackRoutes } from "./routes/slack-routes.ts";
import { usageRoutes } from "./routes/usage-routes.ts";
import type { SpawnAs } from "./spawn-as.ts";
import { closeOpenStreams } from "./sse.ts";
import { registerWsRoute, WS_PLUGIN_OPTIONS, wsOpenApiPath } from "./ws/ws-route.ts";

export interface ServerDeps {
  sessions: SessionService;
  permissions: PermissionBroker;
  /** Workspace locks (`GET /locks`, lock/unlock); the routes exist only when given. */
  locks?: LockService;
  log: EventLog;
  /** Resolves once every commit so far is on disk (Store.durable): no answer leaves before its write is. */
  durable: () => Promise<void>;
  /** An idle SSE stream gets a comment line this often, so proxies do not close it. */
  sseHeartbeatMs: number;
  /** Caught-up SSE streams are written by a second process (the `fanoutProcess` setting). */
  fanoutProcess?: boolean;
  logger: FastifyBaseLogger;
  access: AccessControl;
  guard: BrowserGuard;
  /** Browser origins allowed to call the API cross-origin (CORS); none unless configured. */
  allowedOrigins: readonly string[];
  /** Spawns on behalf of a principal (its owner, parent and workDir rules). */
  spawnAs: SpawnAs;
  /** Sessions by key (`/keys/:key`). */
  keyed: KeyedSessions;
  /** Per-principal limits on spawns and messages per minute (0: none). */
  rateLimits: { spawnPerMinute: number; sendPerMinute: number };
  version: string;
  liveProcesses: () => number;
  /** The runner's parked spares (GET /health `warmPool`). */
  warmSpares: () => { size: number; ready: number };
  /** A session's live process: memory and CPU (GET /sessions/:id). */
  resourcesOf?: (sessionId: string) => ProcessResources | undefined;
  /** True once shutdown began: new work is refused with 503 while running sessions are closed. */
  isDraining: () => boolean;
  /** Rename, clear and `what`; the routes exist only when given. */
  coordination?: CoordinationCommands;
  /** The tools `/mcp` serves to external MCP clients, acting with the caller's token; only when given. */
  mcpTools?: (caller: { token: string; principal: Principal }) => AgentTool[];
  /** `GET /config`: the server's settings (secrets masked) and model access; the route exists only when given. */
  effectiveConfig?: () => EffectiveConfig;
  /** `GET /metrics` exists only when given; `public` opens it to scrapers without a token. */
  metrics?: { metrics: BatonMetrics; public: boolean };
  /** `GET /nodes`: the cluster's nodes (this one alone on SQLite); the route exists only when given. */
  membership?: Membership;
  /** `GET /usage` reads the per-turn usage records; the route exists only when given. */
  store?: Store;
  /** Slack's Events API (`POST /slack/events`); the route exists only when given. */
  slack?: SlackEventsHandler;
  /** Where the built dashboard is (default: dist/web, what `npm install` builds). */
  dashboardDir?: string;
  /** A span per request (ops/tracing.ts); no hook at all when tracing is off. */
  tracing?: Pick<Tracing, "recordRequest"> | undefined;
}

/** Builds the HTTP app without listening, so tests can also call it in-process with `app.inject()`. */
export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  // forceCloseConnections: shutdown must not wait for SSE/WebSocket clients or keep-alive sockets to hang up.
  const app = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: 1024 * 1024,
    forceCloseConnections: true,
    logController: new LogController({ disableRequestLogging: true }),
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) =>
    handleError(
      new BatonError("ROUTE_NOT_FOUND", `no route ${request.method} ${request.url}`),
      request,
      reply,
    ),
  );
  if (deps.tracing) traceRequests(app, deps.tracing);
  // Before auth: the plugin's hooks must see an upgrade first, so a refused one (401) still has its socket
  // closed. Its limits (maxPayload …) and its preClose (1001 to every client) are in ws-route.ts.
  await app.register(websocket, WS_PLUGIN_OPTIONS);
  await app.register(cookie);
  // No CORS unless configured: without these headers a browser keeps other sites' scripts from reading answers.
  if (deps.allowedOrigins.length > 0) {
    await app.register(cors, { origin: [...deps.allowedOrigins], credentials: true, maxAge: 600 });
  }
  registerAccessControl(app, { access: deps.access, guard: deps.guard });
  // Keyed by principal, counted after authentication (preHandler), only on the routes that opt in.
  await app.register(rateLimit, {
    global: false,
    hook: "preHandler",
    keyGenerator: (request) => (request.principal ? principalLabel(request.principal) : request.ip),
    errorResponseBuilder: (_request, context) =>
      new BatonError(
        "RATE_LIMITED",
        `rate limit: at most ${context.max} per ${context.after}; retry in ${Math.ceil(context.ttl / 1000)} s`,
      ),
  });
  if (deps.fanoutProcess) useFanoutProcess(app, await FanoutProcess.start(deps.log, app.log));
  app.addHook("preClose", async () => closeOpenStreams(app));
  // Covers writes made outside a transaction and reads of another request's fresh commit (see WalSync).
  app.addHook("onSend", async () => {
    await deps.durable();
  });
  app.addHook("onRequest", async (request) => {
    if (deps.isDraining() && request.method !== "GET") {
      throw new BatonError(
        "SHUTTING_DOWN",
        "Baton is shutting down and takes no new work; retry after it restarts",
      );
    }
  });

  await app.register(swagger, {
    openapi: {
      info: {
        title: "Baton",
        description: "Session manager and event bus for Claude agents",
        version: deps.version,
      },
      components: {
        securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
        // Baton's own events, one variant per topic (events/catalogue.ts): what streams and pages carry.
        schemas: { BatonEvent: eventCatalogueSchema() },
      },
      security: [{ bearer: [] }],
      // Routes the generator cannot see (the WebSocket plugin hides its own); the rest come from the schemas.
      paths: { "/ws": wsOpenApiPath() },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });
  app.get("/openapi.json", { config: { access: "open" }, schema: { hide: true } }, async () => app.swagger());

  await app.register(
    healthRoutes({
      sessions: deps.sessions,
      version: deps.version,
      liveProcesses: deps.liveProcesses,
      warmSpares: deps.warmSpares,
    }),
  );
  await app.register(accessRoutes());
  await app.register(
    loginRoutes({ logins: deps.access.logins, loginRateLimit: { max: 20, timeWindow: "1 minute" } }),
  );
  const sse = { log: deps.log, heartbeatMs: deps.sseHeartbeatMs };
  const { access } = deps;
  await app.register(
    sessionRoutes({
      sessions: deps.sessions,
      log: deps.log,
      sse,
      access,
      spawnAs: deps.spawnAs,
      spawnRateLimit: perMinute(deps.rateLimits.spawnPerMinute),
      sendRateLimit: perMinute(deps.rateLimits.sendPerMinute),
      resourcesOf: deps.resourcesOf,
    }),
  );
  await app.register(
    keyRoutes({ sessions: deps.sessions, keyed: deps.keyed, access, spawnAs: deps.spawnAs }),
  );
  await app.register(eventRoutes({ log: deps.log, access, sse }));
  await app.register(permissionRoutes({ sessions: deps.sessions, permissions: deps.permissions, access }));
  if (deps.locks) await app.register(lockRoutes({ sessions: deps.sessions, locks: deps.locks, access }));
  if (deps.coordination) await app.register(coordinationRoutes({ coordination: deps.coordination }));
  if (deps.mcpTools) await app.register(mcpRoutes({ tools: deps.mcpTools }));
  if (deps.effectiveConfig) await app.register(configRoutes({ effectiveConfig: deps.effectiveConfig }));
  if (deps.metrics) await app.register(metricsRoutes(deps.metrics));
  if (deps.store) await app.register(usageRoutes({ store: deps.store }));
  if (deps.slack) await app.register(slackRoutes(deps.slack));
  if (deps.store) await app.register(queuedMessageRoutes({ sessions: deps.sessions, store: deps.store }));
  if (deps.membership) await app.register(nodeRoutes({ membership: deps.membership }));
  registerWsRoute(app, { log: deps.log, access });
  await registerDashboard(app, deps.dashboardDir);
  return app;
}

function perMinute(max: number): RateLimitOptions | false {
  return max > 0 ? { max, timeWindow: "1 minute" } : false;
}

/** The typed event union as an OpenAPI component (JSON Schema, as the swagger plugin takes it). */
function eventCatalogueSchema(): Record<string, unknown> {
  return z.toJSONSchema(TypedEventSchema, { io: "output", unrepresentable: "any" }) as Record<
    string,
    unknown
  >;
}
