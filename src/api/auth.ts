import { timingSafeEqual } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { BatonError } from "../core/errors.ts";

const OPEN_ROUTES = new Set(["/health"]);

/** When a token is configured, every route but /health needs `Authorization: Bearer <token>`. */
export function registerBearerAuth(app: FastifyInstance, token: string | undefined): void {
  if (!token) return;
  const expected = Buffer.from(token);
  app.addHook("onRequest", async (request) => {
    if (OPEN_ROUTES.has(request.routeOptions.url ?? "")) return;
    const header = request.headers.authorization ?? "";
    const presented = Buffer.from(header.startsWith("Bearer ") ? header.slice(7) : "");
    // Browsers cannot set headers on EventSource/WebSocket: accept ?token= as well.
    const query = (request.query as { token?: string } | undefined)?.token;
    const candidate = presented.length > 0 ? presented : Buffer.from(query ?? "");
    if (candidate.length !== expected.length || !timingSafeEqual(candidate, expected)) {
      throw new BatonError(
        "UNAUTHORIZED",
        "missing or wrong bearer token (Authorization: Bearer <BATON_TOKEN>)",
      );
    }
  });
}
