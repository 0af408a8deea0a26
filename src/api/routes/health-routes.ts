import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { SessionService } from "../../sessions/session-service.ts";
import { SESSION_STATUSES } from "../../sessions/session-status.ts";
import { sseStreamCount } from "../sse.ts";
import { wsConnectionCount } from "../ws/ws-route.ts";

const HealthSchema = z.object({
  ok: z.boolean(),
  version: z.string(),
  uptimeMs: z.number(),
  liveProcesses: z.number().int(),
  warmPool: z
    .object({ size: z.number().int(), ready: z.number().int() })
    .describe("parked spare processes: configured per option set, and ready now"),
  sessions: z.record(z.string(), z.number().int()),
  subscribers: z
    .object({ websocket: z.number().int(), sse: z.number().int() })
    .describe("clients following the bus right now"),
});

export function healthRoutes(deps: {
  sessions: SessionService;
  version: string;
  liveProcesses: () => number;
  warmSpares: () => { size: number; ready: number };
}): FastifyPluginAsyncZod {
  const startedAt = Date.now();
  return async (app) => {
    app.get("/health", {
      config: { access: "open" },
      schema: {
        tags: ["meta"],
        summary: "Liveness and session counts (no auth)",
        response: { 200: HealthSchema },
      },
      handler: async () => {
        const counts = await deps.sessions.counts();
        const sessions = Object.fromEntries(SESSION_STATUSES.map((status) => [status, counts[status] ?? 0]));
        return {
          ok: true,
          version: deps.version,
          uptimeMs: Date.now() - startedAt,
          liveProcesses: deps.liveProcesses(),
          warmPool: deps.warmSpares(),
          sessions,
          subscribers: { websocket: wsConnectionCount(app), sse: sseStreamCount(app) },
        };
      },
    });
  };
}
