import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { PermissionBroker } from "../../sessions/permission-broker.ts";
import {
  ListPermissionsQuerySchema,
  PermissionAnswerSchema,
  PermissionRequestSchema,
} from "../../sessions/permission-schema.ts";
import type { SessionService } from "../../sessions/session-service.ts";
import { ErrorResponseSchema } from "../schemas.ts";

const Params = z.object({ idOrName: z.string().min(1), requestId: z.string().min(1) });
const ListSchema = z.object({ permissions: z.array(PermissionRequestSchema) });

export function permissionRoutes(deps: {
  sessions: SessionService;
  permissions: PermissionBroker;
}): FastifyPluginAsyncZod {
  const { sessions, permissions } = deps;
  return async (app) => {
    app.get("/permissions", {
      schema: {
        tags: ["permissions"],
        summary: "Permission requests, oldest first (e.g. ?status=pending)",
        querystring: ListPermissionsQuerySchema,
        response: { 200: ListSchema, 404: ErrorResponseSchema },
      },
      handler: async (request) => {
        const { status, session, limit } = request.query;
        const sessionId = session ? (await sessions.resolve(session)).id : undefined;
        return { permissions: await permissions.list({ status, sessionId, limit }) };
      },
    });

    app.post("/sessions/:idOrName/permissions/:requestId", {
      schema: {
        tags: ["permissions"],
        summary: "Answer a permission request: allow (optionally with edited input or always) or deny",
        params: Params,
        body: PermissionAnswerSchema,
        response: {
          200: PermissionRequestSchema,
          400: ErrorResponseSchema,
          404: ErrorResponseSchema,
          409: ErrorResponseSchema,
        },
      },
      handler: async (request) => {
        const session = await sessions.resolve(request.params.idOrName);
        return permissions.answer(session.id, request.params.requestId, request.body);
      },
    });
  };
}
