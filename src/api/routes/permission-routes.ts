import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { AccessControl } from "../../access/access-control.ts";
import { principalLabel } from "../../access/principal.ts";
import type { PermissionBroker } from "../../sessions/permission-broker.ts";
import {
  ListPermissionsQuerySchema,
  PermissionAnswerSchema,
  PermissionRequestSchema,
} from "../../sessions/permission-schema.ts";
import type { SessionService } from "../../sessions/session-service.ts";
import { principalOf } from "../access-hooks.ts";
import { ErrorResponseSchema } from "../schemas.ts";

const Params = z.object({ idOrName: z.string().min(1), requestId: z.string().min(1) });
const ListSchema = z.object({ permissions: z.array(PermissionRequestSchema) });

export function permissionRoutes(deps: {
  sessions: SessionService;
  permissions: PermissionBroker;
  access: AccessControl;
}): FastifyPluginAsyncZod {
  const { sessions, permissions, access } = deps;
  return async (app) => {
    app.get("/permissions", {
      config: { access: "permissions.list" },
      schema: {
        tags: ["permissions"],
        summary: "Permission requests, oldest first (e.g. ?status=pending)",
        querystring: ListPermissionsQuerySchema,
        response: { 200: ListSchema, 404: ErrorResponseSchema },
      },
      handler: async (request) => {
        const { status, session, limit } = request.query;
        const principal = principalOf(request);
        const sessionId = await access.readableSessionId(principal, session);
        const visible = await access.sessionFilter(principal);
        const found = await permissions.list({ status, sessionId, limit });
        return { permissions: visible ? found.filter((request) => visible(request.sessionId)) : found };
      },
    });

    app.post("/sessions/:idOrName/permissions/:requestId", {
      config: { access: "session.answer" },
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
        const by = principalLabel(principalOf(request));
        return permissions.answer(session.id, request.params.requestId, { ...request.body, by });
      },
    });
  };
}
