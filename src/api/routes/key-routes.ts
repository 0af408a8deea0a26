import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { AccessControl } from "../../access/access-control.ts";
import { authorize } from "../../access/policy.ts";
import { BatonError } from "../../core/errors.ts";
import type { KeyedSessions } from "../../sessions/keyed-sessions.ts";
import {
  KeyMessageSchema,
  KeyReceiptSchema,
  SESSION_KEY_PATTERN,
  SessionSchema,
} from "../../sessions/session-schema.ts";
import type { SessionService } from "../../sessions/session-service.ts";
import { principalOf } from "../access-hooks.ts";
import { ErrorResponseSchema } from "../schemas.ts";
import type { SpawnAs } from "../spawn-as.ts";

const KeyParams = z.object({
  key: z
    .string()
    .regex(SESSION_KEY_PATTERN, "key: 1-200 letters, digits or . _ : @ + -")
    .describe("e.g. telegram:12345"),
});

/** Sessions by key: one conversation per chat, contact or ticket, created on first use. */
export function keyRoutes(deps: {
  sessions: SessionService;
  keyed: KeyedSessions;
  access: AccessControl;
  spawnAs: SpawnAs;
}): FastifyPluginAsyncZod {
  const { sessions, keyed, access } = deps;
  return async (app) => {
    app.post("/keys/:key/messages", {
      config: { access: "keys.send" },
      schema: {
        tags: ["sessions"],
        summary: "Send to the session holding the key, or spawn one for it (its prompt is the text)",
        params: KeyParams,
        body: KeyMessageSchema,
        response: {
          202: KeyReceiptSchema,
          400: ErrorResponseSchema,
          403: ErrorResponseSchema,
          409: ErrorResponseSchema,
        },
      },
      handler: async (request, reply) => {
        const principal = principalOf(request);
        const receipt = await keyed.send(request.params.key, request.body, {
          mayMessage: async (session) =>
            authorize(principal, "session.send", await access.sessionTarget(session.id)),
          spawn: async (config) => (await deps.spawnAs(principal, config)).session,
        });
        return reply.status(202).send(receipt);
      },
    });

    app.get("/keys/:key", {
      config: { access: "keys.read" },
      schema: {
        tags: ["sessions"],
        summary: "The live session holding the key",
        params: KeyParams,
        response: { 200: SessionSchema, 404: ErrorResponseSchema },
      },
      handler: async (request) => {
        const session = await sessions.byKey(request.params.key);
        if (!session)
          throw new BatonError("SESSION_NOT_FOUND", `no live session holds key "${request.params.key}"`);
        authorize(principalOf(request), "session.read", await access.sessionTarget(session.id));
        return session;
      },
    });
  };
}
