import type { Channel, OutboundDelivery, SendOutcome } from "../channel.ts";
import { postForOutcome } from "../http-post.ts";
import { signedHeaders } from "../signing.ts";
import type { GuardSettings } from "../target-guard.ts";

export interface WebhookChannelSettings {
  secrets: readonly string[];
  timeoutMs: number;
  guard: GuardSettings;
}

/** Signed JSON POSTs: per-session webhooks, `notify: webhook`, and run completion callbacks. */
export function makeWebhookChannel(settings: WebhookChannelSettings): Channel {
  return {
    async send(delivery: OutboundDelivery, signal: AbortSignal): Promise<SendOutcome> {
      const url = parseUrl(delivery.target);
      if (!url) return { kind: "rejected", error: `not a URL: ${delivery.target}` };
      const body = JSON.stringify(delivery.payload);
      // Signed at send time: the timestamp is the attempt's, so receivers can refuse stale replays.
      const timestamp = Math.floor(Date.now() / 1000);
      const headers = { ...signedHeaders(settings.secrets, delivery.id, timestamp, body) };
      return postForOutcome(url, body, {
        headers,
        timeoutMs: settings.timeoutMs,
        guard: settings.guard,
        signal,
      });
    },
  };
}

export function parseUrl(value: string): URL | undefined {
  return URL.canParse(value) ? new URL(value) : undefined;
}
