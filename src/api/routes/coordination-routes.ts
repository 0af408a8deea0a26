import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { principalLabel } from "../../access/principal.ts";
import type { CoordinationCommands } from "../../sessions/coordination-commands.ts";
import {
  ClearSessionSchema,
  RenameSessionSchema,
  SessionSummarySchema,
} from "../../sessions/coordination-schema.ts";
import { SessionSchema } from "../../sessions/session-schema.ts";
import { principalOf } from "../access-hooks.ts";
import { ErrorResponseSchema } from "../schemas.ts";

const IdOrName = z.object({ idOrName: z.string().min(1).describe("session id (ses_…) or name") });
const errors = { 400: ErrorResponseSchema, 404: ErrorResponseSchema, 409: ErrorResponseSchema };

/** Rename, clear and "what is it doing": the HTTP side of the coordination tools. */
export function coordinationRoutes(deps: { coordination: CoordinationCommands }): FastifyPluginAsyncZod {
  const { coordination } = deps;
  return async (app) => {
    app.patch("/sessions/:idOrName", {
      config: { access: "session.rename" },
      schema: {
        tags: ["sessions"],
        summary: "Rename a session (409 NAME_TAKEN when a live session has the name)",
        params: IdOrName,
        body: RenameSessionSchema,
        response: { 200: SessionSchema, ...errors },
      },
      handler: async (request) => coordination.rename(request.params.idOrName, request.body.name),
    });

    app.post("/sessions/:idOrName/clear", {
      config: { access: "session.clear" },
      schema: {
        tags: ["sessions"],
        summary:
          "Start a fresh conversation in the same session (same name and counters, new SDK session); 409 SESSION_BUSY while it works",
        params: IdOrName,
        body: ClearSessionSchema,
        response: { 200: SessionSchema, ...errors },
      },
      handler: async (request) =>
        coordination.clear(request.params.idOrName, principalLabel(principalOf(request))),
    });

    app.get("/sessions/:idOrName/what", {
      config: { access: "session.read" },
      schema: {
        tags: ["sessions"],
        summary: "What the session is doing now: status, time in status, current tool, last output, cost",
        params: IdOrName,
        response: { 200: SessionSummarySchema, 404: ErrorResponseSchema },
      },
      handler: async (request) => coordination.summarize(request.params.idOrName),
    });
  };
}
