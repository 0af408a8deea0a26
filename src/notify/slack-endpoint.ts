import { BatonError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import { SlackEnvelopeSchema } from "./slack-events.ts";
import type { SlackInbox } from "./slack-inbox.ts";
import { type SignedRequest, slackSignatureProblem } from "./slack-signature.ts";

/** One Events API request as the HTTP route hands it over (api/routes/slack-routes.ts). */
export type SlackEndpointRequest = SignedRequest & { retryNum: string | undefined };

/**
 * Serves Slack's Events API behind `POST /slack/events`: nothing is read before Slack's signature holds
 * (401 otherwise, and nothing stored); `url_verification` gets its challenge back; events go to the inbox,
 * which stores what Baton acts on and returns at once, well inside Slack's 3 seconds.
 */
export function makeSlackEndpoint(deps: { signingSecret: string; inbox: SlackInbox; logger: Logger }) {
  return {
    async handle(request: SlackEndpointRequest): Promise<{ challenge?: string }> {
      const problem = slackSignatureProblem(deps.signingSecret, request);
      if (problem) throw new BatonError("UNAUTHENTICATED", `slack: ${problem}`);
      let json: unknown;
      try {
        json = JSON.parse(request.rawBody);
      } catch {
        throw new BatonError("INVALID_JSON", "slack: the body is not JSON");
      }
      const parsed = SlackEnvelopeSchema.safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const field = issue?.path.join(".") ?? "body";
        throw new BatonError("VALIDATION_FAILED", `slack: ${field}: ${issue?.message ?? "invalid"}`, {
          field,
        });
      }
      const envelope = parsed.data;
      if (envelope.type === "url_verification") return { challenge: envelope.challenge ?? "" };
      const receipt = await deps.inbox.receive(envelope);
      if (request.retryNum) {
        const facts = { retry: request.retryNum, receipt, eventId: envelope.event_id };
        deps.logger.debug(facts, "slack: a retried event");
      }
      return {};
    },
  };
}
