import type { RateLimitOptions } from "@fastify/rate-limit";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { type AccessControl, senderOf } from "../../access/access-control.ts";
import { authorize } from "../../access/policy.ts";
import { principalLabel } from "../../access/principal.ts";
import { feedAccepts } from "../../events/event-feed.ts";
import type { EventLog } from "../../events/event-log.ts";
import { WaitBodySchema, WaitReceiptSchema } from "../../sessions/coordination-schema.ts";
import type { ProcessResources } from "../../sessions/session-schema.ts";
import {
  ListSessionsQuerySchema,
  MessageReceiptSchema,
  SendMessageSchema,
  SendReceiptSchema,
  SessionConfigSchema,
  SessionListSchema,
  SessionSchema,
} from "../../sessions/session-schema.ts";
import type { SessionService } from "../../sessions/session-service.ts";
import { principalOf } from "../access-hooks.ts";
import { ErrorResponseSchema, EventPageSchema, EventQuerySchema } from "../schemas.ts";
import type { SpawnAs } from "../spawn-as.ts";
import { type SseDeps, sseCursor, streamEvents, wantsEventStream } from "../sse.ts";

const IdOrName = z.object({ idOrName: z.string().min(1).describe("session id (ses_…) or name") });
/**
 * A bodiless request (DELETE, curl -X POST) arrives as null. `by` is accepted for older clients and ignored:
 * who acted is the authenticated principal, never what a body claims.
 */
const ActorBody = z
  .object({ by: z.string().min(1).max(200).optional() })
  .strict()
  .nullish();
const errors = { 400: ErrorResponseSchema, 404: ErrorResponseSchema, 409: ErrorResponseSchema };

export function sessionRoutes(deps: {
  sessions: SessionService;
  log: EventLog;
  sse: SseDeps;
  /** Spawns on behalf of a principal (its owner, its parent rules, its workDir roots). */
  spawnAs: SpawnAs;
  access: AccessControl;
  spawnRateLimit: RateLimitOptions | false;
  sendRateLimit: RateLimitOptions | false;
  /** What the session's live process uses now (undefined when it has none). */
  resourcesOf?: ((sessionId: string) => ProcessResources | undefined) | undefined;
}): FastifyPluginAsyncZod {
  const { sessions, log } = deps;
  return async (app) => {
    for (const url of ["/sessions", "/sessions/spawn"]) {
      app.post(url, {
        config: { access: "sessions.spawn", rateLimit: deps.spawnRateLimit },
        schema: {
          tags: ["sessions"],
          summary: url === "/sessions" ? "Spawn a session" : "Spawn a session (alias)",
          body: SessionConfigSchema,
          headers: z.object({
            "idempotency-key": z
              .string()
              .min(1)
              .max(200)
              .optional()
              .describe("retry-safe spawn: the same key and body within 24 h return the first session (200)"),
          }),
          response: {
            200: SessionSchema,
            201: SessionSchema,
            400: ErrorResponseSchema,
            409: ErrorResponseSchema,
            422: ErrorResponseSchema,
            429: ErrorResponseSchema,
          },
        },
        handler: async (request, reply) => {
          const idempotencyKey = request.headers["idempotency-key"];
          const { session, created } = await deps.spawnAs(principalOf(request), request.body, {
            idempotencyKey: typeof idempotencyKey === "string" ? idempotencyKey : undefined,
          });
          // A retry with the same Idempotency-Key gets the session the first call created, as 200.
          return reply.status(created ? 201 : 200).send(session);
        },
      });
    }

    app.get("/sessions", {
      config: { access: "sessions.list" },
      schema: {
        tags: ["sessions"],
        summary: "List sessions, newest first",
        querystring: ListSessionsQuerySchema,
        response: { 200: SessionListSchema },
      },
      handler: async (request) =>
        sessions.list(deps.access.scopeListQuery(principalOf(request), request.query)),
    });

    app.get("/sessions/:idOrName", {
      config: { access: "session.read" },
      schema: {
        tags: ["sessions"],
        summary: "One session",
        params: IdOrName,
        response: { 200: SessionSchema, 404: ErrorResponseSchema },
      },
      handler: async (request) => {
        const session = await sessions.get(request.params.idOrName);
        return { ...session, ...deps.resourcesOf?.(session.id) };
      },
    });

    app.post("/sessions/:idOrName/messages", {
      config: { access: "session.send", rateLimit: deps.sendRateLimit },
      schema: {
        tags: ["sessions"],
        summary: "Send a follow-up message (queue, steer or interrupt)",
        params: IdOrName,
        body: SendMessageSchema,
        response: { 202: SendReceiptSchema, ...errors },
      },
      handler: async (request, reply) =>
        reply.status(202).send(
          await sessions.send(request.params.idOrName, {
            ...request.body,
            from: senderOf(principalOf(request)),
          }),
        ),
    });

    app.get("/sessions/:idOrName/messages/:messageId", {
      config: { access: "session.read" },
      schema: {
        tags: ["sessions"],
        summary: "A message's receipt: queued, delivered (when), or refused (why)",
        params: IdOrName.extend({ messageId: z.string().min(1) }),
        response: { 200: MessageReceiptSchema, 404: ErrorResponseSchema },
      },
      handler: async (request) => sessions.messageReceipt(request.params.idOrName, request.params.messageId),
    });

    app.post("/sessions/:idOrName/wait", {
      config: { access: "session.wait" },
      schema: {
        tags: ["sessions"],
        summary:
          "Register interest: this session is sent a message when target finishes or the time runs out",
        params: IdOrName,
        body: WaitBodySchema,
        response: { 202: WaitReceiptSchema, ...errors },
      },
      handler: async (request, reply) => {
        authorize(principalOf(request), "session.read", await deps.access.sessionTarget(request.body.target));
        return reply
          .status(202)
          .send(
            await sessions.registerWait(
              request.params.idOrName,
              request.body.target,
              request.body.timeoutSeconds,
            ),
          );
      },
    });

    app.post("/sessions/:idOrName/interrupt", {
      config: { access: "session.interrupt" },
      schema: {
        tags: ["sessions"],
        summary: "Stop the current turn; the session stays usable",
        params: IdOrName,
        body: ActorBody,
        response: { 202: SessionSchema, ...errors },
      },
      handler: async (request, reply) =>
        reply
          .status(202)
          .send(await sessions.interrupt(request.params.idOrName, principalLabel(principalOf(request)))),
    });

    const kill = {
      config: { access: "session.kill" },
      schema: {
        tags: ["sessions"],
        summary: "Kill a session and its process tree",
        params: IdOrName,
        body: ActorBody,
        response: { 202: SessionSchema, ...errors },
      },
    } as const;
    app.post("/sessions/:idOrName/kill", {
      ...kill,
      handler: async (request, reply) =>
        reply
          .status(202)
          .send(await sessions.kill(request.params.idOrName, principalLabel(principalOf(request)))),
    });
    app.delete("/sessions/:idOrName", {
      ...kill,
      handler: async (request, reply) =>
        reply
          .status(202)
          .send(await sessions.kill(request.params.idOrName, principalLabel(principalOf(request)))),
    });

    app.get("/sessions/:idOrName/events", {
      config: { access: "session.read" },
      schema: {
        tags: ["events"],
        summary: "A session's events (JSON page, or live SSE with Accept: text/event-stream)",
        params: IdOrName,
        querystring: EventQuerySchema,
        response: { 200: EventPageSchema, 404: ErrorResponseSchema, 410: ErrorResponseSchema },
      },
      handler: async (request, reply) => {
        const session = await sessions.resolve(request.params.idOrName);
        const { after, limit, topics, output, deltas } = request.query;
        const filter = {
          topics,
          sessionId: session.id,
          includeOutput: output,
          includeDeltas: deltas,
          visible: await deps.access.eventFilter(principalOf(request)),
        };
        if (wantsEventStream(request)) {
          return streamEvents(request, reply, deps.sse, filter, sseCursor(request, after, 0));
        }
        const page = await log.read({ after: after ?? 0, limit, sessionId: session.id, topics });
        return { ...page, events: page.events.filter((event) => feedAccepts(filter, event)) };
      },
    });
  };
}
