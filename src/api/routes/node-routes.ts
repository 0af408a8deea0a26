import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { Membership } from "../../cluster/cluster-node.ts";
import { NodeListSchema } from "../../cluster/node-schema.ts";

/** `GET /nodes`: the Baton nodes sharing this database (one on SQLite), like the metrics: admins and viewers. */
export function nodeRoutes(deps: { membership: Membership }): FastifyPluginAsyncZod {
  return async (app) => {
    app.get("/nodes", {
      config: { access: "metrics.read" },
      schema: {
        tags: ["meta"],
        summary:
          "The nodes of this Baton: id, URL, last heartbeat, live sessions, whether its lease is alive",
        response: { 200: NodeListSchema },
      },
      handler: async () => deps.membership.list(),
    });
  };
}
