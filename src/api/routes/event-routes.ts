import type { FastifyReply } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { AccessControl } from "../../access/access-control.ts";
import { BatonError } from "../../core/errors.ts";
import {
  EventSchema,
  isReservedTopic,
  RESERVED_TOPIC_PREFIXES,
  TOPIC_PATTERN,
} from "../../events/catalogue.ts";
import { feedAccepts } from "../../events/event-feed.ts";
import { eventJson } from "../../events/event-json.ts";
import type { EventLog } from "../../events/event-log.ts";
import { PublishBatcher } from "../../events/publish-batcher.ts";
import { principalOf } from "../access-hooks.ts";
import { ErrorResponseSchema, EventPageSchema, EventQuerySchema, PublishEventSchema } from "../schemas.ts";
import { type SseDeps, sseCursor, streamEvents, wantsEventStream } from "../sse.ts";

const GlobalEventQuery = EventQuerySchema.extend({
  session: z.string().min(1).optional().describe("only this session's events (id or name)"),
});

export function eventRoutes(deps: {
  log: EventLog;
  access: AccessControl;
  sse: SseDeps;
}): FastifyPluginAsyncZod {
  const { log, access } = deps;
  const publisher = new PublishBatcher(log);
  return async (app) => {
    app.get("/events", {
      config: { access: "events.read" },
      schema: {
        tags: ["events"],
        summary: "The global event log (JSON page, or live SSE with Accept: text/event-stream)",
        querystring: GlobalEventQuery,
        response: { 200: EventPageSchema, 400: ErrorResponseSchema, 410: ErrorResponseSchema },
      },
      handler: async (request, reply) => {
        const { after, limit, topics, output, deltas, session } = request.query;
        const principal = principalOf(request);
        const sessionId = await access.readableSessionId(principal, session);
        const visible = await access.eventFilter(principal);
        const filter = { topics, sessionId, includeOutput: output, includeDeltas: deltas, visible };
        if (wantsEventStream(request)) {
          // A live stream with no cursor starts now; a JSON page with no cursor starts at the beginning.
          return streamEvents(request, reply, deps.sse, filter, sseCursor(request, after, log.bus.latestSeq));
        }
        const page = await log.read({ after: after ?? 0, limit, sessionId, topics });
        return { ...page, events: page.events.filter((event) => feedAccepts(filter, event)) };
      },
    });

    app.post("/events", {
      config: { access: "events.publish" },
      schema: {
        tags: ["events"],
        summary: "Publish an event onto the bus (topics under session. and lock. are reserved)",
        body: PublishEventSchema,
        response: { 201: EventSchema, 400: ErrorResponseSchema },
      },
      handler: async (request, reply) => {
        const { topic, data } = request.body;
        if (isReservedTopic(topic)) {
          throw new BatonError(
            "RESERVED_TOPIC",
            `topic: "${topic}" is reserved (topics under ${RESERVED_TOPIC_PREFIXES.join(" and ")} are Baton's own)`,
            { field: "topic" },
          );
        }
        if (!TOPIC_PATTERN.test(topic)) {
          throw new BatonError(
            "VALIDATION_FAILED",
            `topic: "${topic}" must be dot-separated lower-case words (a-z, 0-9, _ or -)`,
            { field: "topic" },
          );
        }
        const event = await publisher.publish(topic, data);
        // The event's JSON as its subscribers get it, made once (event-json.ts); it came from the log, so
        // it already is what EventSchema describes.
        return sendJsonText(reply, 201, eventJson(event));
      },
    });
  };
}

/**
 * Sends text that already is JSON as it is: Fastify skips the route's serializer for a string with a JSON
 * content type. Typed loosely on purpose: the route's typed reply only takes the object its schema
 * describes.
 */
function sendJsonText(reply: FastifyReply, status: number, json: string): FastifyReply {
  return reply.status(status).type("application/json; charset=utf-8").send(json);
}
