import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { BatonMetrics } from "../../ops/metrics.ts";
import { sseStreamCount } from "../sse.ts";
import { wsConnectionCount } from "../ws/ws-route.ts";

/**
 * `GET /metrics`: Prometheus text format, for admins and viewers (`metrics.read`), or for anyone when the
 * `metricsPublic` setting opens it to scrapers that cannot send a bearer token.
 */
export function metricsRoutes(deps: { metrics: BatonMetrics; public: boolean }): FastifyPluginAsyncZod {
  return async (app) => {
    deps.metrics.countSubscribersWith(() => ({
      websocket: wsConnectionCount(app),
      sse: sseStreamCount(app),
    }));
    app.get("/metrics", {
      config: { access: deps.public ? "open" : "metrics.read" },
      schema: {
        tags: ["meta"],
        summary: "Prometheus metrics (text exposition format)",
        produces: ["text/plain"],
      },
      handler: async (_request, reply) => {
        const { text, contentType } = await deps.metrics.render();
        return reply.type(contentType).send(text);
      },
    });
  };
}
