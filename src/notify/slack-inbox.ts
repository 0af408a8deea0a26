import type { AccessControl } from "../access/access-control.ts";
import { authorize } from "../access/policy.ts";
import { chatPrincipal, type Principal, principalLabel } from "../access/principal.ts";
import { scopeSpawn } from "../access/spawn-scope.ts";
import { describeError, isBatonError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { KeyedSessions } from "../sessions/keyed-sessions.ts";
import type { SessionService } from "../sessions/session-service.ts";
import type { Store } from "../store/open-store.ts";
import {
  deleteSlackInboundBefore,
  insertSlackInbound,
  markSlackInboundHandled,
  type SlackInboundRow,
  selectPendingSlackInbound,
} from "../store/slack-queries.ts";
import type { Channel } from "./channel.ts";
import { chatMessageOf, type SlackEnvelope, slackKeyOf, slackReplyTarget } from "./slack-events.ts";

export interface SlackInboxDeps {
  store: Store;
  sessions: SessionService;
  keyed: KeyedSessions;
  /** Every message is authorized as its channel's principal (chatPrincipal). */
  access: AccessControl;
  channelIds: ReadonlySet<string>;
  channelOwners: Readonly<Record<string, string>>;
  /** The Slack channel of the outbox, for the one thing said outside a session: why a message failed. */
  replies: Channel;
  logger: Logger;
}

/** What became of one event Slack delivered. */
export type SlackReceipt = "stored" | "duplicate" | "ignored";

const BATCH = 50;
/** Slack retries a delivery within the hour; a day of handled messages is plenty to recognise a retry. */
const KEEP_HANDLED_MS = 24 * 3600_000;
const SEND_TIMEOUT_MS = 10_000;

/**
 * Slack's inbound side. `receive` runs inside Slack's 3-second window: it drops what Baton does not act on,
 * stores the rest (one row per message, so retries and twin events collapse) and returns; a drain loop then
 * hands each stored message to the keyed session of its channel or thread, exactly as a Telegram chat's
 * plain messages are. Stored before Slack hears 200, so a crash in between loses nothing: the next start
 * drains what is left. Handing over is at least once; a message redelivered after a crash carries the same
 * idempotency key, so a session that already has it does not get it twice.
 */
export class SlackInbox {
  private readonly deps: SlackInboxDeps;
  private started = false;
  private stopped = false;
  private draining: Promise<void> | undefined;
  private again = false;

  constructor(deps: SlackInboxDeps) {
    this.deps = deps;
  }

  async receive(envelope: SlackEnvelope): Promise<SlackReceipt> {
    const message = chatMessageOf(envelope);
    if ("ignored" in message) {
      this.deps.logger.debug({ eventId: envelope.event_id }, `slack: ignored (${message.ignored})`);
      return "ignored";
    }
    if (!this.deps.channelIds.has(message.channel)) {
      this.deps.logger.debug({ channel: message.channel }, "slack: ignored a channel not in slackChannelIds");
      return "ignored";
    }
    const stored = await insertSlackInbound(this.deps.store.db, {
      message_key: `${message.channel}:${message.ts}`,
      event_id: message.eventId,
      channel: message.channel,
      thread_ts: message.threadTs ?? null,
      user_id: message.userId,
      text: message.text,
      received_at: new Date().toISOString(),
      handled_at: null,
    });
    if (stored) this.poke();
    return stored ? "stored" : "duplicate";
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.poke();
  }

  /** Finishes the message being handed over; what is still stored waits for the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.draining;
  }

  private poke(): void {
    if (!this.started || this.stopped) return;
    if (this.draining) {
      this.again = true;
      return;
    }
    this.draining = this.drain()
      .catch((error: unknown) => this.deps.logger.error({ err: error }, `slack: ${describeError(error)}`))
      .finally(() => {
        this.draining = undefined;
        if (this.again) {
          this.again = false;
          this.poke();
        }
      });
  }

  private async drain(): Promise<void> {
    const { db } = this.deps.store;
    await deleteSlackInboundBefore(db, new Date(Date.now() - KEEP_HANDLED_MS).toISOString());
    for (;;) {
      const rows = await selectPendingSlackInbound(db, BATCH);
      if (rows.length === 0) return;
      for (const row of rows) {
        if (this.stopped) return;
        await this.handOver(row);
        await markSlackInboundHandled(db, row.message_key, new Date().toISOString());
      }
    }
  }

  /**
   * One conversation per channel (or thread): the message goes to the live session holding its key, or
   * spawns one from the keyTemplates entry for it, answering into the same channel and thread. A channel
   * with no template and no session is left alone: Baton may sit in busy channels, so it does not answer
   * every message there with help.
   */
  private async handOver(row: SlackInboundRow): Promise<void> {
    const threadTs = row.thread_ts ?? undefined;
    const key = slackKeyOf(row.channel, threadTs);
    const target = slackReplyTarget(row.channel, threadTs);
    if (!(await this.deps.keyed.accepts(key))) {
      this.deps.logger.debug({ key }, "slack: no session holds the key and no keyTemplates entry matches it");
      return;
    }
    const principal = chatPrincipal("slack", row.channel, this.deps.channelOwners[row.channel]);
    try {
      await this.deps.keyed.send(
        key,
        { text: row.text, idempotencyKey: `slack:${row.message_key}` },
        {
          mayMessage: async (session) =>
            authorize(principal, "session.send", await this.deps.access.sessionTarget(session.id)),
          spawn: (config) => this.spawn(principal, target, config),
        },
      );
    } catch (error) {
      if (!isBatonError(error)) this.deps.logger.error({ err: error }, "slack: message not handed over");
      await this.tell(target, `⚠️ ${describeError(error)}`);
    }
  }

  private async spawn(principal: Principal, target: string, config: Parameters<typeof scopeSpawn>[1]) {
    // An owned channel spawns as its owner (scopeSpawn); an admin channel's sessions are the channel's own.
    const owned = principal.role === "admin" ? { owner: principalLabel(principal) } : {};
    const scope = scopeSpawn(principal, { ...owned, ...config, notify: { channel: "slack", target } });
    return this.deps.sessions.spawn(scope.input, { roots: scope.roots });
  }

  /** One attempt, not the outbox: a lost error note is no reason to hold anything up. */
  private async tell(target: string, text: string): Promise<void> {
    const outcome = await this.deps.replies.send(
      {
        id: `slack-note-${Date.now()}`,
        channel: "slack",
        target,
        sessionId: null,
        payload: { text },
        attempt: 1,
      },
      AbortSignal.timeout(SEND_TIMEOUT_MS),
    );
    if (outcome.kind !== "delivered")
      this.deps.logger.warn({ target }, `slack: could not post an error note: ${outcome.error}`);
  }
}
