import { z } from "zod";

/**
 * What Slack's Events API posts (https://api.slack.com/apis/events-api), as far as Baton reads it. Objects
 * stay loose: Slack adds fields freely, and an unknown field must never turn a delivery into an error (Slack
 * would retry it, then disable the app's subscription).
 */
const SlackEventSchema = z.looseObject({
  type: z.string(),
  subtype: z.string().optional(),
  channel: z.string().optional(),
  user: z.string().optional(),
  bot_id: z.string().optional(),
  text: z.string().optional(),
  ts: z.string().optional(),
  thread_ts: z.string().optional(),
});

export const SlackEnvelopeSchema = z
  .looseObject({
    type: z.string().describe("url_verification | event_callback | app_rate_limited"),
    challenge: z.string().optional().describe("url_verification only: echoed back"),
    event_id: z.string().optional(),
    event: SlackEventSchema.optional(),
    authorizations: z
      .array(z.looseObject({ user_id: z.string().optional(), is_bot: z.boolean().optional() }))
      .optional()
      .describe("the installation the event is for; its bot user is Baton itself"),
  })
  .describe("a Slack Events API request, signed with the app's signing secret");
export type SlackEnvelope = z.infer<typeof SlackEnvelopeSchema>;

/** A person's message Baton should act on. */
export interface SlackChatMessage {
  eventId: string;
  channel: string;
  /** Slack's id of the message, unique within its channel. */
  ts: string;
  /** The thread it was posted in, when it is a reply inside one. */
  threadTs: string | undefined;
  userId: string;
  text: string;
}

/** Subtypes that are still a person writing; every other one is an edit, a deletion, a join, a bot post… */
const PERSON_SUBTYPES: ReadonlySet<string> = new Set(["thread_broadcast", "file_share"]);

/**
 * The message in an event, or why Baton ignores it: only `message` and `app_mention` events written by a
 * person count. Bot posts (Baton's own answers among them) are dropped, so Baton never talks to itself.
 */
export function chatMessageOf(envelope: SlackEnvelope): SlackChatMessage | { ignored: string } {
  const event = envelope.event;
  if (envelope.type !== "event_callback" || !event) return { ignored: `envelope type ${envelope.type}` };
  if (event.type !== "message" && event.type !== "app_mention") return { ignored: `event ${event.type}` };
  if (event.subtype !== undefined && !PERSON_SUBTYPES.has(event.subtype))
    return { ignored: `message subtype ${event.subtype}` };
  if (event.bot_id !== undefined) return { ignored: "a bot's message" };
  const { channel, user, ts } = event;
  if (!channel || !user || !ts || !envelope.event_id) return { ignored: "no channel, user, ts or event_id" };
  const ownUsers = (envelope.authorizations ?? []).filter((entry) => entry.is_bot).map((e) => e.user_id);
  if (ownUsers.includes(user)) return { ignored: "Baton's own message" };
  const text = plainText(event.text ?? "");
  if (!text) return { ignored: "no text" };
  const threadTs = event.thread_ts !== undefined && event.thread_ts !== ts ? event.thread_ts : undefined;
  return { eventId: envelope.event_id, channel, ts, threadTs, userId: user, text };
}

/**
 * The key of the conversation a message belongs to: `slack:<channel>` for a channel's (or DM's) own
 * messages, `slack:<channel>:<thread_ts>` inside a thread. See docs/notifications.md for why threads are
 * conversations of their own.
 */
export function slackKeyOf(channel: string, threadTs: string | undefined): string {
  return threadTs ? `slack:${channel}:${threadTs}` : `slack:${channel}`;
}

/** Where the answer goes: the channel, or `<channel>:<thread_ts>` for a thread (slack-channel.ts reads it). */
export function slackReplyTarget(channel: string, threadTs: string | undefined): string {
  return threadTs ? `${channel}:${threadTs}` : channel;
}

/**
 * The text as the person wrote it: the mention that addressed Baton (`<@U0BATON> do this`) is dropped, and
 * the three characters Slack escapes (&, <, >) are restored.
 */
function plainText(text: string): string {
  return text
    .replace(/^(\s*<@[A-Z0-9]+>)+/, "")
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&amp;", "&")
    .trim();
}
