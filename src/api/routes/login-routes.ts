import type { FastifyReply } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { Logins } from "../../access/logins.ts";
import { BatonError } from "../../core/errors.ts";
import { LOGIN_COOKIE } from "../access-hooks.ts";
import { ErrorResponseSchema } from "../schemas.ts";

const LoginBody = z.object({ token: z.string().min(1).describe("a bearer token Baton knows") }).strict();
const LinkSchema = z.object({
  url: z.string().describe("open it once, within a minute, to be logged in (it holds no token)"),
  expiresAt: z.string(),
});

/**
 * The dashboard's login: a token (pasted once) or a one-time link's code becomes an HttpOnly, SameSite=Strict
 * cookie. The page's scripts never see a token, a cross-site page cannot send the cookie, and changes made
 * with it must carry Baton's own Origin (access-hooks.ts).
 */
export function loginRoutes(deps: {
  logins: Logins;
  loginRateLimit: { max: number; timeWindow: string };
}): FastifyPluginAsyncZod {
  const { logins } = deps;
  return async (app) => {
    app.post("/login", {
      config: { access: "open", rateLimit: deps.loginRateLimit },
      schema: {
        tags: ["access"],
        summary: "Log a browser in with a token: sets the HttpOnly login cookie",
        body: LoginBody,
        response: { 204: z.null(), 401: ErrorResponseSchema },
      },
      handler: async (request, reply) => {
        const login = await logins.logIn(request.body.token);
        if (!login) throw new BatonError("UNAUTHENTICATED", "unknown or revoked token: not logged in");
        return setLoginCookie(reply, login).status(204).send(null);
      },
    });

    app.post("/logout", {
      config: { access: "open" },
      schema: { tags: ["access"], summary: "End this browser's login", response: { 204: z.null() } },
      handler: async (request, reply) => {
        const secret = request.cookies[LOGIN_COOKIE];
        if (secret) await logins.logOut(secret);
        return reply.clearCookie(LOGIN_COOKIE, { path: "/" }).status(204).send(null);
      },
    });

    app.post("/login-links", {
      config: { access: "login.link" },
      schema: {
        tags: ["access"],
        summary: "A one-time login link for the dashboard, as the caller (what `baton open` prints)",
        response: { 201: LinkSchema, 400: ErrorResponseSchema },
      },
      handler: async (request, reply) => {
        const token = request.headers.authorization?.slice("Bearer ".length).trim();
        if (!token) {
          throw new BatonError("VALIDATION_FAILED", "a login link is made with a bearer token, not a cookie");
        }
        const { code, expiresAt } = await logins.link(token);
        const origin = `${request.protocol}://${request.headers.host ?? request.hostname}`;
        const url = `${origin}/login?code=${encodeURIComponent(code)}`;
        return reply.status(201).send({ url, expiresAt: expiresAt.toISOString() });
      },
    });

    app.get("/login", {
      config: { access: "open", rateLimit: deps.loginRateLimit },
      schema: {
        tags: ["access"],
        summary: "Open a one-time login link: sets the login cookie and goes to the dashboard",
        querystring: z.object({ code: z.string().min(1) }),
        response: { 401: ErrorResponseSchema },
      },
      handler: async (request, reply) => {
        const login = await logins.redeem(request.query.code);
        if (!login) {
          throw new BatonError(
            "UNAUTHENTICATED",
            "this login link was already used or has expired; make a new one",
          );
        }
        return setLoginCookie(reply, login).redirect("/", 303);
      },
    });
  };
}

function setLoginCookie(reply: FastifyReply, login: { secret: string; expiresAt: Date }): FastifyReply {
  return reply.setCookie(LOGIN_COOKIE, login.secret, {
    httpOnly: true,
    sameSite: "strict",
    path: "/",
    expires: login.expiresAt,
    secure: reply.request.protocol === "https",
  });
}
