import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
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
import { ErrorResponseSchema } from "../schemas.ts";

const Params = z.object({ idOrName: z.string().min(1) });

export function lockRoutes(deps: { sessions: SessionService; locks: LockService }): FastifyPluginAsyncZod {
  const { sessions, locks } = deps;
  return async (app) => {
    app.get("/locks", {
      schema: {
        tags: ["locks"],
        summary: "Workspace locks: who holds what, and who waits for whom",
        querystring: ListLocksQuerySchema,
        response: { 200: LockListSchema, 404: ErrorResponseSchema },
      },
      handler: async (request) => {
        const session = request.query.session;
        const sessionId = session ? (await sessions.resolve(session)).id : undefined;
        return locks.list({ sessionId });
      },
    });

    app.post("/sessions/:idOrName/lock", {
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
