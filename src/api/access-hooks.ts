import type { FastifyInstance, FastifyRequest } from "fastify";
import type { AccessControl } from "../access/access-control.ts";
import { ACTIONS, type Action, isAction } from "../access/actions.ts";
import { authorize } from "../access/policy.ts";
import type { Principal } from "../access/principal.ts";
import { BatonError } from "../core/errors.ts";
import type { BrowserGuard } from "./browser-guard.ts";

declare module "fastify" {
  interface FastifyContextConfig {
    /** What the route does, for the authorization policy (src/access/actions.ts). Every route has one. */
    access?: Action;
  }
  interface FastifyRequest {
    /** The authenticated caller; undefined only on `open` routes. */
    principal?: Principal;
  }
}

export interface AccessDeps {
  /** Tokens, login cookies, and the sessions requests name (`:idOrName`). */
  access: AccessControl;
  guard: BrowserGuard;
}

/** The dashboard's login cookie (HttpOnly, SameSite=Strict; see login-routes.ts). */
export const LOGIN_COOKIE = "baton_login";

export interface DeclaredRoute {
  method: string;
  url: string;
  action: Action;
}

/** Every route of a server and the action it declared, keyed by the HTTP server the routes belong to. */
const DECLARED = new WeakMap<FastifyInstance["server"], DeclaredRoute[]>();

/** The routes a server serves with their actions: what the authorization matrix test walks. */
export function declaredRoutes(app: FastifyInstance): readonly DeclaredRoute[] {
  return DECLARED.get(app.server) ?? [];
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** Routes that plugins register (Swagger UI's pages and assets) are open: they hold no data. */
const PLUGIN_OPEN_PREFIXES = ["/docs"];

/**
 * Access control for every HTTP route, WebSocket upgrade and SSE stream, in three steps:
 * 1. the browser guard (Host and Origin), before anything else;
 * 2. authentication: `Authorization: Bearer` (or the login cookie), 401 UNAUTHENTICATED when missing or
 *    unknown; a token in the URL query is never accepted (it would end up in logs and browser history);
 * 3. authorization by the route's declared action, on the session it names, 403 FORBIDDEN otherwise.
 * A route registered without an action makes Baton refuse to start, so none can slip through unguarded.
 */
export function registerAccessControl(app: FastifyInstance, deps: AccessDeps): void {
  const declared: DeclaredRoute[] = [];
  DECLARED.set(app.server, declared);
  app.addHook("onRoute", (route) => {
    const declaredAction: unknown = (route.config as { access?: unknown } | undefined)?.access;
    const isPluginAsset = PLUGIN_OPEN_PREFIXES.some((prefix) => route.url.startsWith(prefix));
    const action: unknown = declaredAction === undefined && isPluginAsset ? "open" : declaredAction;
    if (!isAction(action)) {
      throw new Error(`route ${String(route.method)} ${route.url} declares no access action (config.access)`);
    }
    route.config = { ...route.config, access: action };
    for (const method of [route.method].flat()) declared.push({ method, url: route.url, action });
  });

  app.addHook("onRequest", async (request) => {
    deps.guard.check(request);
    const action = request.routeOptions.config.access;
    // Unknown routes 404 later; signed routes check their sender's signature themselves (slack-routes.ts).
    const kind = action === undefined ? "open" : ACTIONS[action].kind;
    if (kind === "open" || kind === "signed") return;
    const token = bearerToken(request);
    if (token) {
      const principal = await deps.access.authenticator.authenticate(token);
      if (!principal) throw new BatonError("UNAUTHENTICATED", "unknown or revoked token");
      request.principal = principal;
      return;
    }
    const login = request.cookies?.[LOGIN_COOKIE];
    if (!login) {
      throw new BatonError(
        "UNAUTHENTICATED",
        "no credentials: send Authorization: Bearer <token> (the CLI reads BATON_TOKEN or $BATON_HOME/token)",
      );
    }
    // CSRF: a cookie rides along with any request the browser makes, so a change made with one must say
    // where it comes from (Origin, checked above by the guard); SameSite=Strict is the second lock.
    if (
      !SAFE_METHODS.has(request.method) &&
      !request.headers.upgrade &&
      request.headers.origin === undefined
    ) {
      throw new BatonError(
        "ORIGIN_NOT_ALLOWED",
        "a change made with the login cookie must carry an Origin header",
      );
    }
    const principal = await deps.access.logins.principalOf(login);
    if (!principal)
      throw new BatonError("UNAUTHENTICATED", "the login expired or its token was revoked; log in again");
    request.principal = principal;
  });

  // After validation, so the route's params are checked before a session is looked up.
  app.addHook("preHandler", async (request) => {
    const action = request.routeOptions.config.access;
    const principal = request.principal;
    if (action === undefined || !principal) return;
    const idOrName = (request.params as { idOrName?: unknown } | undefined)?.idOrName;
    if (ACTIONS[action].target === "session" && typeof idOrName === "string") {
      authorize(principal, action, await deps.access.sessionTarget(idOrName));
    } else {
      authorize(principal, action);
    }
  });
}

/** The caller, on a route that requires one (every route but the open ones). */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new BatonError("UNAUTHENTICATED", "this route needs credentials");
  return request.principal;
}

function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header?.startsWith("Bearer ")) return undefined;
  const token = header.slice(7).trim();
  return token.length > 0 ? token : undefined;
}
