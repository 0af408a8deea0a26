import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { ErrorResponseSchema } from "../schemas.ts";

/** A request to the Events API route, as it arrived: the signature covers the body's exact bytes. */
export interface SlackEventsRequest {
  rawBody: string;
  timestamp: string | undefined;
  signature: string | undefined;
  retryNum: string | undefined;
}

/**
 * What serves Slack's Events API behind the route (notify/slack-endpoint.ts): checks Slack's signature
 * (throws UNAUTHENTICATED), reads the event and answers; `challenge` only for Slack's url_verification.
 */
export interface SlackEventsHandler {
  handle(request: SlackEventsRequest): Promise<{ challenge?: string }>;
}

const SlackAnswerSchema = z
  .object({ challenge: z.string().optional().describe("url_verification: the challenge, echoed") })
  .describe("200 as soon as the event is stored; Slack wants an answer within 3 seconds");

/**
 * Slack's Events API: the only route whose caller has no Baton token. Slack proves it sent the request by
 * signing it with the app's signing secret; a Baton token opens nothing (the `signed` kind in
 * src/access/actions.ts). Exists only when `slackSigningSecret` is set. The body is a Slack envelope
 * (`url_verification`, `event_callback`, …), read by the handler once the signature holds.
 */
export function slackRoutes(handler: SlackEventsHandler): FastifyPluginAsyncZod {
  return async (app) => {
    // The signature covers the body's bytes, so this route (and only this one: plugins are encapsulated)
    // keeps them as they arrived.
    app.addContentTypeParser("application/json", { parseAs: "string" }, (_request, body, done) =>
      done(null, body),
    );
    app.post("/slack/events", {
      config: { access: "slack.events" },
      schema: {
        tags: ["notify"],
        summary: "Slack Events API: url_verification, and messages for the channels' keyed sessions",
        description: "Signed by Slack (X-Slack-Signature, X-Slack-Request-Timestamp); no Baton token.",
        response: { 200: SlackAnswerSchema, 400: ErrorResponseSchema, 401: ErrorResponseSchema },
      },
      handler: async (request) =>
        handler.handle({
          rawBody: typeof request.body === "string" ? request.body : "",
          timestamp: headerOf(request.headers["x-slack-request-timestamp"]),
          signature: headerOf(request.headers["x-slack-signature"]),
          retryNum: headerOf(request.headers["x-slack-retry-num"]),
        }),
    });
  };
}

function headerOf(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
