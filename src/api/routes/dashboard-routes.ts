import { existsSync } from "node:fs";
import { join } from "node:path";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";
import { packagePath } from "../../core/package-root.ts";

/** Where `npm install` (the `prepare` script: `vite build`) puts the dashboard; git-ignored. */
export const DEFAULT_DASHBOARD_DIR = `${packagePath("dist", "web")}/`;

const NOT_BUILT = `Baton's dashboard (Mission Control) has not been built on this machine.

Build it from Baton's folder with:
  npm install          (runs the "prepare" script), or
  npm run build:web

then reload this page. The API works without it: see /docs.
`;

/** The page loads only its own files and talks only to its own origin (HTTP and WebSocket). */
const PAGE_POLICY =
  "default-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; " +
  "form-action 'self'; frame-ancestors 'none'";

/**
 * Mission Control's static files: `GET /` (index.html, never cached, so a new build is picked up at once)
 * and `GET /assets/*` (content-hashed by Vite, so cached for a year as immutable). They are open: the page
 * and its scripts hold no data; every datum comes from the API after login. @fastify/static does the file
 * work (content types, ETags, ranges, no path escapes); the routes are ours so they declare their access.
 */
export async function registerDashboard(app: FastifyInstance, dir = DEFAULT_DASHBOARD_DIR): Promise<void> {
  await app.register(fastifyStatic, { root: dir, serve: false });
  app.get("/", { config: { access: "open" }, schema: { hide: true } }, async (_request, reply) => {
    if (!existsSync(join(dir, "index.html"))) {
      return reply
        .status(503)
        .type("text/plain; charset=utf-8")
        .header("cache-control", "no-store")
        .send(NOT_BUILT);
    }
    reply.header("cache-control", "no-cache").header("content-security-policy", PAGE_POLICY);
    return reply.sendFile("index.html", { cacheControl: false });
  });
  app.get<{ Params: { "*": string } }>(
    "/assets/*",
    { config: { access: "open" }, schema: { hide: true } },
    async (request, reply) =>
      reply.sendFile(`assets/${request.params["*"]}`, { maxAge: "365d", immutable: true }),
  );
}
