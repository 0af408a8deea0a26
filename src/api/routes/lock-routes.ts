import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { AccessControl } from "../../access/access-control.ts";
import {
  ListLocksQuerySchema,
  LockListSchema,
  LockRequestSchema,
  LockSchema,
  UnlockRequestSchema,
  UnlockResultSchema,
} from "../../locks/lock-schema.ts";
import type { LockService } from "../../locks/lock-service.ts";
import type { SessionService } from "../../sessions/session-service.ts";
import { principalOf } from "../access-hooks.ts";
import { ErrorResponseSchema } from "../schemas.ts";

const Params = z.object({ idOrName: z.string().min(1) });

export function lockRoutes(deps: {
  sessions: SessionService;
  locks: LockService;
  access: AccessControl;
}): FastifyPluginAsyncZod {
  const { sessions, locks, access } = deps;
  return async (app) => {
    app.get("/locks", {
      config: { access: "locks.list" },
      schema: {
        tags: ["locks"],
        summary: "Workspace locks: who holds what, and who waits for whom",
        querystring: ListLocksQuerySchema,
        response: { 200: LockListSchema, 404: ErrorResponseSchema },
      },
      handler: async (request) => {
        const session = request.query.session;
        const principal = principalOf(request);
        const sessionId = await access.readableSessionId(principal, session);
        const list = await locks.list({ sessionId });
        const visible = await access.sessionFilter(principal);
        if (!visible) return list;
        return {
          locks: list.locks.filter((lock) => visible(lock.sessionId)),
          waiters: list.waiters.filter((waiter) => visible(waiter.sessionId)),
        };
      },
    });

    app.post("/sessions/:idOrName/lock", {
      config: { access: "session.lock" },
      schema: {
        tags: ["locks"],
        summary: "Lock a workDir (default: the session's) or a file for the rest of the session's turn",
        params: Params,
        body: LockRequestSchema,
        response: {
          200: LockSchema,
          400: ErrorResponseSchema,
          404: ErrorResponseSchema,
          409: ErrorResponseSchema,
        },
      },
      handler: async (request) => {
        const session = await sessions.resolve(request.params.idOrName);
        return locks.lock(session.id, request.body);
      },
    });

    app.post("/sessions/:idOrName/unlock", {
      config: { access: "session.lock" },
      schema: {
        tags: ["locks"],
        summary: "Release one resource, or everything the session holds",
        params: Params,
        body: UnlockRequestSchema,
        response: { 200: UnlockResultSchema, 400: ErrorResponseSchema, 404: ErrorResponseSchema },
      },
      handler: async (request) => {
        const session = await sessions.resolve(request.params.idOrName);
        return { released: await locks.unlock(session.id, request.body.resource) };
      },
    });
  };
}
