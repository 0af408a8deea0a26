import { createHmac } from "node:crypto";
import { startWebhookReceiver, type WebhookReceiver } from "./webhook-receiver.ts";

export interface SlackMessage {
  via: "webApi" | "webhook";
  channel: string | undefined;
  /** Set when the message was posted into a thread. */
  threadTs: string | undefined;
  text: string;
}

export interface FakeSlack {
  url: string;
  /** Web API base, for the `slackApiUrl` setting. */
  apiUrl: string;
  /** An incoming-webhook URL, for `slackWebhookUrl` or a notify target. */
  webhookUrl: string;
  token: string;
  /** Messages Slack accepted, in arrival order. */
  messages(): SlackMessage[];
  receiver: WebhookReceiver;
  stop(): Promise<void>;
}

const WEBHOOK_PATH = "/services/T000/B000/XXXX";

/**
 * Speaks the two ways Slack takes a message: the Web API's `chat.postMessage` (Bearer token; HTTP 200 with
 * `{ok: true}` or `{ok: false, error}`) and an incoming webhook (plain-text `ok`, 404 `no_service`).
 */
export async function startFakeSlack(token = "xoxb-fake-token"): Promise<FakeSlack> {
  const receiver = await startWebhookReceiver((request) => {
    if (request.path === WEBHOOK_PATH) return { status: 200, body: "ok" };
    if (request.path !== "/api/chat.postMessage") return { status: 404, body: "no_service" };
    const json = { "content-type": "application/json" };
    if (request.headers.authorization !== `Bearer ${token}`) {
      return { status: 200, headers: json, body: JSON.stringify({ ok: false, error: "not_authed" }) };
    }
    const { channel } = JSON.parse(request.body) as { channel?: string };
    if (!channel)
      return { status: 200, headers: json, body: JSON.stringify({ ok: false, error: "channel_not_found" }) };
    return {
      status: 200,
      headers: json,
      body: JSON.stringify({ ok: true, channel, ts: `${Date.now() / 1000}` }),
    };
  });
  return {
    url: receiver.url,
    apiUrl: `${receiver.url}/api`,
    webhookUrl: `${receiver.url}${WEBHOOK_PATH}`,
    token,
    receiver,
    messages() {
      return receiver.requests
        .filter(
          (request) =>
            request.path === WEBHOOK_PATH ||
            (request.path === "/api/chat.postMessage" && request.headers.authorization === `Bearer ${token}`),
        )
        .map((request) => {
          const json = request.json as { channel?: string; text?: string; thread_ts?: string };
          return {
            via: request.path === WEBHOOK_PATH ? "webhook" : "webApi",
            channel: json.channel,
            threadTs: json.thread_ts,
            text: json.text ?? "",
          };
        });
    },
    stop: () => receiver.stop(),
  };
}

/**
 * A request body and the headers Slack sends with it when it delivers an Events API request: the `v0`
 * signature, HMAC-SHA256 of `v0:<timestamp>:<body>` under the app's signing secret (written here from Slack's
 * documentation, independently of Baton's check).
 */
export function signLikeSlack(
  body: unknown,
  secret: string,
  atSeconds = Math.floor(Date.now() / 1000),
): { body: string; headers: Record<string, string> } {
  const raw = JSON.stringify(body);
  const digest = createHmac("sha256", secret).update(`v0:${atSeconds}:${raw}`).digest("hex");
  return {
    body: raw,
    headers: {
      "content-type": "application/json",
      "x-slack-request-timestamp": String(atSeconds),
      "x-slack-signature": `v0=${digest}`,
    },
  };
}
