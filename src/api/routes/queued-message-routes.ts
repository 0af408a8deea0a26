import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { toReceipt } from "../../sessions/message-receipt.ts";
import type { SessionService } from "../../sessions/session-service.ts";
import { selectPendingMessages } from "../../store/message-queries.ts";
import type { Store } from "../../store/open-store.ts";
import { QueuedMessageListSchema } from "../queued-message-schema.ts";
import { ErrorResponseSchema } from "../schemas.ts";

/**
 * `GET /sessions/:idOrName/messages`: the messages a session has accepted but not yet received, oldest
 * first (the order `queue` mode delivers them in), so a person can see what the agent will be told next.
 */
export function queuedMessageRoutes(deps: { sessions: SessionService; store: Store }): FastifyPluginAsyncZod {
  return async (app) => {
    app.get("/sessions/:idOrName/messages", {
      config: { access: "session.read" },
      schema: {
        tags: ["sessions"],
        summary: "Messages queued for a session (accepted, not yet delivered), oldest first",
        params: z.object({ idOrName: z.string().min(1).describe("session id (ses_…) or name") }),
        response: { 200: QueuedMessageListSchema, 404: ErrorResponseSchema },
      },
      handler: async (request) => {
        const session = await deps.sessions.resolve(request.params.idOrName);
        const rows = await selectPendingMessages(deps.store.db, session.id);
        return { messages: rows.map((row) => ({ ...toReceipt(row), text: row.text })) };
      },
    });
  };
}
