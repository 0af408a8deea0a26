import type { FastifyInstance } from "fastify";
import type { Tracing } from "./tracing.ts";

/**
 * One span per HTTP request, made when its answer is sent: from Fastify's own clock (`elapsedTime`), so a
 * request refused by an early hook (401, 503 while draining) is traced too, and nothing is kept per
 * request. Registered only when tracing is on.
 */
export function traceRequests(app: FastifyInstance, tracing: Pick<Tracing, "recordRequest">): void {
  app.addHook("onResponse", (request, reply, done) => {
    const durationMs = reply.elapsedTime;
    const params = request.params as Record<string, unknown> | undefined;
    const sessionRef = params?.idOrName;
    tracing.recordRequest({
      method: request.method,
      route: request.routeOptions.url,
      statusCode: reply.statusCode,
      startMs: Date.now() - durationMs,
      durationMs,
      sessionRef: typeof sessionRef === "string" ? sessionRef : undefined,
    });
    done();
  });
}
