import type { Channel, OutboundDelivery, SendOutcome } from "../channel.ts";
import { outcomeOf, postJson } from "../http-post.ts";
import { type GuardSettings, TargetRefusedError } from "../target-guard.ts";
import { parseUrl } from "./webhook-channel.ts";

export interface SlackChannelSettings {
  botToken: string | undefined;
  webhookUrl: string | undefined;
  apiUrl: string;
  timeoutMs: number;
  guard: GuardSettings;
}

/**
 * Slack: with a bot token, `chat.postMessage` to the target channel; otherwise an incoming webhook — the
 * target itself when it is a URL, else the configured `slackWebhookUrl` (a webhook is bound to its channel).
 * A target `<channel>:<thread_ts>` posts into that thread (with the bot token).
 */
export function makeSlackChannel(settings: SlackChannelSettings): Channel {
  return {
    async send(delivery: OutboundDelivery, signal: AbortSignal): Promise<SendOutcome> {
      const { text } = delivery.payload as { text: string };
      const options = { timeoutMs: settings.timeoutMs, guard: settings.guard, signal };
      try {
        const targetIsUrl = /^https?:\/\//.test(delivery.target);
        if (settings.botToken && !targetIsUrl) {
          const url = new URL(`${settings.apiUrl}/chat.postMessage`);
          const { channel, threadTs } = splitSlackTarget(delivery.target);
          const body = JSON.stringify({
            channel,
            text,
            unfurl_links: false,
            ...(threadTs ? { thread_ts: threadTs } : {}),
          });
          const response = await postJson(url, body, {
            ...options,
            headers: {
              authorization: `Bearer ${settings.botToken}`,
              "content-type": "application/json; charset=utf-8",
            },
          });
          return response.status === 200 ? webApiOutcome(response.body) : outcomeOf(url, response);
        }
        const url = parseUrl(targetIsUrl ? delivery.target : (settings.webhookUrl ?? ""));
        if (!url)
          return {
            kind: "rejected",
            error: "slack: set slackBotToken or slackWebhookUrl, or use a webhook URL as target",
          };
        return outcomeOf(url, await postJson(url, JSON.stringify({ text }), options));
      } catch (error) {
        if (error instanceof TargetRefusedError) return { kind: "refused", error: error.message };
        return { kind: "retry", error: error instanceof Error ? error.message : String(error) };
      }
    },
  };
}

/** `C0123:1712345678.000100` is a thread of channel C0123 (how a Slack thread's session is answered). */
function splitSlackTarget(target: string): { channel: string; threadTs: string | undefined } {
  const thread = /^([^:]+):(\d+\.\d+)$/.exec(target);
  return thread?.[1] && thread[2]
    ? { channel: thread[1], threadTs: thread[2] }
    : { channel: target, threadTs: undefined };
}

/** The Web API answers 200 even for failures; `ok` and `error` say what happened. */
function webApiOutcome(body: string): SendOutcome {
  let answer: { ok?: boolean; error?: string };
  try {
    answer = JSON.parse(body) as { ok?: boolean; error?: string };
  } catch {
    return { kind: "retry", httpStatus: 200, error: "slack: unreadable answer" };
  }
  if (answer.ok) return { kind: "delivered", httpStatus: 200 };
  const error = `slack: ${answer.error ?? "unknown error"}`;
  return answer.error === "ratelimited" || answer.error === "service_unavailable"
    ? { kind: "retry", httpStatus: 200, error }
    : { kind: "rejected", httpStatus: 200, error };
}
