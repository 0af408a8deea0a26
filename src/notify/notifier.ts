import type { AccessControl } from "../access/access-control.ts";
import type { BatonConfig } from "../core/config.ts";
import type { Logger } from "../core/logger.ts";
import type { EventLog } from "../events/event-log.ts";
import type { KeyedSessions } from "../sessions/keyed-sessions.ts";
import type { SessionService } from "../sessions/session-service.ts";
import type { Store } from "../store/open-store.ts";
import type { Channel, DeliveryChannel } from "./channel.ts";
import { makeSlackChannel } from "./channels/slack-channel.ts";
import { makeWebhookChannel } from "./channels/webhook-channel.ts";
import { NotificationDispatcher } from "./dispatcher.ts";
import { OutboxWorker } from "./outbox-worker.ts";
import type { PermissionResolver } from "./permission-resolver.ts";
import { makeSlackEndpoint } from "./slack-endpoint.ts";
import { SlackInbox } from "./slack-inbox.ts";
import type { TelegramBot } from "./telegram-bot.ts";

export interface NotifierDeps {
  store: Store;
  log: EventLog;
  sessions: SessionService;
  config: BatonConfig;
  logger: Logger;
  /** Authorizes what Telegram chats ask for, as each chat's principal. */
  access: AccessControl;
  /** Sessions by key: a Telegram chat's plain messages go to the session keyed by its chat id. */
  keyed: KeyedSessions;
  permissionResolver?: PermissionResolver;
}

/**
 * Notifications as one part with one lifecycle: the dispatcher (events → outbox), the worker (outbox →
 * channels) and, when a bot token is configured, the Telegram bot that takes commands and button presses.
 */
export class Notifier {
  readonly dispatcher: NotificationDispatcher;
  readonly worker: OutboxWorker;
  /** Slack's Events API inbox, when `slackSigningSecret` is set; `slackEndpoint` serves POST /slack/events. */
  readonly slackInbox: SlackInbox | undefined;
  readonly slackEndpoint: ReturnType<typeof makeSlackEndpoint> | undefined;
  private telegram: TelegramBot | undefined;
  private telegramSetup: (() => Promise<void>) | undefined;
  private resolver: PermissionResolver | undefined;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(deps: NotifierDeps) {
    const { config } = deps;
    const logger = deps.logger.child({ component: "notify" });
    this.resolver = deps.permissionResolver;
    const guard = {
      allowPrivateTargets: config.allowPrivateTargets,
      outboundAllowlist: config.outboundAllowlist,
    };
    const webhook = makeWebhookChannel({
      secrets: config.webhookSecrets,
      timeoutMs: config.outboxTimeoutMs,
      guard,
    });
    const slack = makeSlackChannel({
      botToken: config.slackBotToken,
      webhookUrl: config.slackWebhookUrl,
      apiUrl: config.slackApiUrl,
      timeoutMs: config.outboxTimeoutMs,
      guard,
    });
    const channels: Partial<Record<DeliveryChannel, Channel>> = { webhook, callback: webhook, slack };
    if (config.slackSigningSecret) {
      this.slackInbox = new SlackInbox({
        store: deps.store,
        sessions: deps.sessions,
        keyed: deps.keyed,
        access: deps.access,
        channelIds: new Set(config.slackChannelIds),
        channelOwners: config.slackChannelOwners,
        replies: slack,
        logger,
      });
      this.slackEndpoint = makeSlackEndpoint({
        signingSecret: config.slackSigningSecret,
        inbox: this.slackInbox,
        logger,
      });
      if (!config.slackBotToken)
        logger.warn("slackSigningSecret is set but slackBotToken is not: Baton cannot answer in Slack");
    }
    const botToken = config.telegramBotToken;
    if (botToken) {
      const chatIds = new Set(config.telegramChatIds);
      // Built at start (telegram-setup.ts is loaded only when a bot token is set); the worker reads
      // `channels` when it delivers, which is after start.
      this.telegramSetup = async () => {
        const { setUpTelegram } = await import("./telegram-setup.ts");
        const telegram = setUpTelegram(
          { botToken, apiRoot: config.telegramApiRoot },
          {
            store: deps.store,
            sessions: deps.sessions,
            access: deps.access,
            chatIds,
            chatOwners: config.telegramChatOwners,
            keyed: deps.keyed,
            logger,
            permissions: () => this.resolver,
          },
        );
        channels.telegram = telegram.channel;
        this.telegram = telegram.bot;
      };
      if (chatIds.size === 0)
        logger.warn("telegramBotToken is set but telegramChatIds is empty: the bot obeys no one");
    }
    this.worker = new OutboxWorker({
      store: deps.store,
      channels,
      retry: {
        baseDelayMs: config.outboxBaseDelayMs,
        maxDelayMs: config.outboxMaxDelayMs,
        maxAttempts: config.outboxMaxAttempts,
        jitter: config.outboxJitter,
      },
      timeoutMs: config.outboxTimeoutMs,
      logger,
    });
    this.dispatcher = new NotificationDispatcher({
      store: deps.store,
      log: deps.log,
      logger,
      settings: { callbackUrlTemplate: config.callbackUrlTemplate, notifyDefaults: config.notifyDefaults },
      onEnqueued: () => this.worker.poke(),
    });
  }

  /** Where Telegram's Approve/Deny buttons send their answer; until set, the buttons say so and do nothing. */
  setPermissionResolver(resolver: PermissionResolver | undefined): void {
    this.resolver = resolver;
  }

  start(): Promise<void> {
    this.starting ??= (async () => {
      await this.telegramSetup?.();
      if (this.stopping) return; // stopped while grammY loaded: nothing may start polling now
      this.worker.start();
      this.dispatcher.start();
      this.telegram?.start();
      this.slackInbox?.start();
    })();
    return this.starting;
  }

  /**
   * Stops taking commands from chats (Telegram, Slack) and waits for the one being handled. Called before the
   * sessions stop: a command that spawned after that would start an agent nobody closes.
   */
  async stopInbound(): Promise<void> {
    await this.telegram?.stop();
    await this.slackInbox?.stop();
  }

  /** Stops taking commands, finishes the event being dispatched, aborts sends in flight (they stay due). */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.stopInbound();
      await this.dispatcher.stop();
      await this.worker.stop();
    })();
    return this.stopping;
  }

  /** Resolves once every event so far is in the outbox (tests; a flush before an orderly shutdown). */
  settle(): Promise<void> {
    return this.dispatcher.settle();
  }
}
