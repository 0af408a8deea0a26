import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { principalLabel } from "../../access/principal.ts";
import { WhoamiSchema } from "../../access/whoami-schema.ts";
import { principalOf } from "../access-hooks.ts";

export function accessRoutes(): FastifyPluginAsyncZod {
  return async (app) => {
    app.get("/whoami", {
      config: { access: "whoami.read" },
      schema: {
        tags: ["meta"],
        summary: "The principal the request's credentials name",
        response: { 200: WhoamiSchema },
      },
      handler: async (request) => {
        const principal = principalOf(request);
        return {
          principal: principalLabel(principal),
          role: principal.role,
          ...("owner" in principal ? { owner: principal.owner } : {}),
          ...(principal.role === "agent" ? { sessionId: principal.sessionId } : {}),
        };
      },
    });
  };
}
