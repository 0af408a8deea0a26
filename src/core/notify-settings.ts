import { z } from "zod";

/** Env vars and flags arrive as strings; `z.coerce.boolean()` would read "false" as true. */
export const booleanSetting = z.union([
  z.boolean(),
  z.enum(["true", "false", "1", "0"]).transform((value) => value === "true" || value === "1"),
]);

/** Slack's channel ids: public (C), private (G) and DM (D) conversations, upper-case letters and digits. */
const SLACK_CHANNEL_ID = /^[CDG][A-Z0-9]{2,}$/;

/**
 * The settings of notifications and chats (webhooks, callbacks, Telegram, Slack, the outbox): part of
 * SettingsSchema (settings-schema.ts), kept here so the one schema stays readable.
 */
export const NOTIFY_SETTINGS = {
  webhookSecrets: z
    .array(z.string().min(16, "a webhook secret needs at least 16 characters"))
    .default([])
    .describe("HMAC keys for webhook-signature (whsec_<base64> or raw); every one signs, for rotation"),
  allowPrivateTargets: booleanSetting
    .default(false)
    .describe("allow webhooks to loopback, private, link-local and CGNAT addresses (SSRF guard off)"),
  outboundAllowlist: z
    .array(z.string().min(1))
    .default([])
    .describe("hosts (names or IPs) webhooks may reach even when they resolve to private addresses"),
  callbackUrlTemplate: z
    .string()
    .refine((value) => value.includes("{runIdentifier}"), "must contain {runIdentifier}")
    .refine(
      (value) => URL.canParse(value.replaceAll(/\{\w+\}/g, "x")),
      "must be a URL once {placeholders} are filled",
    )
    .optional()
    .describe("completion callback for runIdentifier sessions; {runIdentifier} and {sessionId} filled in"),
  notifyDefaults: z
    .array(
      z
        .object({ channel: z.enum(["telegram", "slack", "webhook", "bus"]), target: z.string().min(1) })
        .strict(),
    )
    .default([])
    .describe("notify targets for sessions without their own `notify`"),
  telegramBotToken: z.string().min(1).optional().describe("Telegram bot token: enables Telegram"),
  telegramChatIds: z
    .array(z.union([z.number().int(), z.string().regex(/^-?\d+$/, "a numeric chat id")]).transform(String))
    .default([])
    .describe("the only Telegram chats the bot talks to and obeys (each acts as an admin unless owned)"),
  telegramChatOwners: z
    .record(z.string().regex(/^-?\d+$/, "a numeric chat id"), z.string().min(1))
    .default({})
    .describe("chat id → owner: that chat acts as a user of the owner (its sessions only), not an admin"),
  telegramApiRoot: z
    .url()
    .transform((value) => value.replace(/\/+$/, ""))
    .default("https://api.telegram.org")
    .describe("Bot API server (a self-hosted one, or a fake in tests)"),
  slackWebhookUrl: z.url().optional().describe("Slack incoming webhook for slack notifications"),
  slackBotToken: z.string().min(1).optional().describe("Slack bot token: post with chat.postMessage"),
  slackApiUrl: z
    .url()
    .transform((value) => value.replace(/\/+$/, ""))
    .default("https://slack.com/api")
    .describe("Slack Web API base URL"),
  slackSigningSecret: z
    .string()
    .min(1)
    .optional()
    .describe(
      "Slack app signing secret: enables POST /slack/events (Events API), which checks it on every request",
    ),
  slackChannelIds: z
    .array(z.string().regex(SLACK_CHANNEL_ID, "a Slack channel id such as C0123ABCD or D0123ABCD"))
    .default([])
    .describe(
      "the only Slack channels and DMs whose messages Baton obeys (each acts as an admin unless owned)",
    ),
  slackChannelOwners: z
    .record(z.string().regex(SLACK_CHANNEL_ID, "a Slack channel id"), z.string().min(1))
    .default({})
    .describe(
      "channel id → owner: that channel acts as a user of the owner (its sessions only), not an admin",
    ),
  outboxMaxAttempts: z.coerce.number().int().min(1).default(15).describe("attempts before giving up"),
  outboxBaseDelayMs: z.coerce
    .number()
    .int()
    .min(1)
    .default(5000)
    .describe("first retry delay; doubles on every attempt"),
  outboxMaxDelayMs: z.coerce
    .number()
    .int()
    .min(1)
    .default(3_600_000)
    .describe("longest delay between attempts (Retry-After included)"),
  outboxJitter: booleanSetting.default(true).describe("add up to 20% random delay to retries"),
  outboxTimeoutMs: z.coerce.number().int().min(100).default(10_000).describe("time limit of one attempt"),
};
