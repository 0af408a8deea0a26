import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { BatonError } from "../../core/errors.ts";
import { SlackEnvelopeSchema } from "../../notify/slack-events.ts";
import type { SlackInbox } from "../../notify/slack-inbox.ts";
import { slackSignatureProblem } from "../../notify/slack-signature.ts";
import { ErrorResponseSchema } from "../schemas.ts";

const SlackAnswerSchema = z
  .object({ challenge: z.string().optional().describe("url_verification: the challenge, echoed") })
  .describe("200 as soon as the event is stored; Slack wants an answer within 3 seconds");

/**
 * Slack's Events API: the only route whose caller has no Baton token. Slack proves it sent the request by
 * signing it with the app's signing secret, checked here before the body is even parsed; a Baton token
 * opens nothing (the `signed` kind in src/access/actions.ts). Exists only when `slackSigningSecret` is set.
 */
export function slackRoutes(deps: { inbox: SlackInbox; signingSecret: string }): FastifyPluginAsyncZod {
  return async (app) => {
    // The signature covers the body's bytes, so this route (and only this one: plugins are encapsulated)
    // keeps them as they arrived and parses them once the signature holds.
    app.addContentTypeParser("application/json", { parseAs: "string" }, (_request, body, done) =>
      done(null, body),
    );
    app.post("/slack/events", {
      config: { access: "slack.events" },
      schema: {
        tags: ["notify"],
        summary: "Slack Events API: url_verification, and messages for the channels' keyed sessions",
        body: SlackEnvelopeSchema,
        response: { 200: SlackAnswerSchema, 400: ErrorResponseSchema, 401: ErrorResponseSchema },
      },
      preValidation: async (request) => {
        const rawBody = typeof request.body === "string" ? request.body : "";
        const problem = slackSignatureProblem(deps.signingSecret, {
          timestamp: headerOf(request.headers["x-slack-request-timestamp"]),
          signature: headerOf(request.headers["x-slack-signature"]),
          rawBody,
        });
        if (problem) throw new BatonError("UNAUTHENTICATED", `slack: ${problem}`);
        try {
          request.body = JSON.parse(rawBody);
        } catch {
          throw new BatonError("INVALID_JSON", "slack: the body is not JSON");
        }
      },
      handler: async (request) => {
        const envelope = request.body;
        if (envelope.type === "url_verification") return { challenge: envelope.challenge ?? "" };
        const receipt = await deps.inbox.receive(envelope);
        const retry = headerOf(request.headers["x-slack-retry-num"]);
        if (retry)
          request.log.debug({ retry, receipt, eventId: envelope.event_id }, "slack: a retried event");
        return {};
      },
    });
  };
}

function headerOf(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
