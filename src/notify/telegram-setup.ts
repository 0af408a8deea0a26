import { Bot } from "grammy";
import type { Store } from "../store/open-store.ts";
import type { Channel } from "./channel.ts";
import { makeTelegramChannel } from "./channels/telegram-channel.ts";
import { TelegramBot, type TelegramBotDeps } from "./telegram-bot.ts";

/**
 * The Telegram bot and its delivery channel, built on one grammY `Bot`. Imported by the notifier only when
 * `telegramBotToken` is set: grammY costs Baton's own memory a few MB that a server without Telegram does
 * not need (docs/capacity.md, "Idle memory").
 */
export function setUpTelegram(
  settings: { botToken: string; apiRoot: string },
  deps: Omit<TelegramBotDeps, "bot"> & { store: Store },
): { channel: Channel; bot: TelegramBot } {
  const bot = new Bot(settings.botToken, { client: { apiRoot: settings.apiRoot } });
  return {
    channel: makeTelegramChannel({ api: bot.api, store: deps.store, chatIds: deps.chatIds }),
    bot: new TelegramBot({ ...deps, bot }),
  };
}
