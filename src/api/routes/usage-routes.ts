import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { UsageQuerySchema, UsageReportSchema } from "../../ops/usage-schema.ts";
import type { Store } from "../../store/open-store.ts";
import { selectUsageRollup } from "../../store/usage-rollup-queries.ts";
import { ErrorResponseSchema } from "../schemas.ts";

/** `GET /usage`: tokens and cost from the per-turn records, summed per owner, tree, UTC day or model. */
export function usageRoutes(deps: { store: Store }): FastifyPluginAsyncZod {
  return async (app) => {
    app.get("/usage", {
      // Spend across every owner, like the metrics: admins and viewers.
      config: { access: "metrics.read" },
      schema: {
        tags: ["meta"],
        summary: "Token and cost roll-up over a time range, grouped by owner, tree, day or model",
        querystring: UsageQuerySchema,
        response: { 200: UsageReportSchema, 400: ErrorResponseSchema },
      },
      handler: async (request) => selectUsageRollup(deps.store.db, request.query),
    });
  };
}
