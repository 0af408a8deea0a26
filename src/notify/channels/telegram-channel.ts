import { type Api, GrammyError, InlineKeyboard } from "grammy";
import type { Store } from "../../store/open-store.ts";
import { insertTelegramMessage } from "../../store/telegram-queries.ts";
import type { Channel, OutboundDelivery, SendOutcome } from "../channel.ts";
import { truncateText } from "../message-text.ts";

export interface TelegramPayload {
  text: string;
  sessionId: string;
  permission?: { requestId: string };
}

const TELEGRAM_MAX_CHARS = 4096;

/** Callback data of the Approve/Deny buttons; Telegram caps it at 64 bytes. */
export function permissionCallbackData(requestId: string, behavior: "allow" | "deny"): string {
  return `perm:${requestId}:${behavior}`;
}

/**
 * Sends notifications to the configured chats (any other target is refused: a session config must not
 * make the bot write to strangers). Every message sent is mapped to its session for reply routing.
 */
export function makeTelegramChannel(deps: { api: Api; store: Store; chatIds: ReadonlySet<string> }): Channel {
  return {
    async send(delivery: OutboundDelivery, signal: AbortSignal): Promise<SendOutcome> {
      if (!deps.chatIds.has(delivery.target)) {
        return { kind: "refused", error: `telegram chat ${delivery.target} is not in telegramChatIds` };
      }
      const payload = delivery.payload as TelegramPayload;
      const requestId = payload.permission?.requestId;
      const keyboard = requestId
        ? new InlineKeyboard()
            .text("Approve", permissionCallbackData(requestId, "allow"))
            .text("Deny", permissionCallbackData(requestId, "deny"))
        : undefined;
      try {
        const message = await deps.api.sendMessage(
          delivery.target,
          truncateText(payload.text, TELEGRAM_MAX_CHARS),
          { link_preview_options: { is_disabled: true }, ...(keyboard ? { reply_markup: keyboard } : {}) },
          // grammY types its signal with an old shim; node-fetch accepts the native one.
          signal as unknown as Parameters<Api["sendMessage"]>[3],
        );
        await insertTelegramMessage(deps.store.db, {
          chatId: delivery.target,
          messageId: message.message_id,
          sessionId: payload.sessionId,
        });
        return { kind: "delivered", httpStatus: 200 };
      } catch (error) {
        return telegramFailure(error);
      }
    },
  };
}

function telegramFailure(error: unknown): SendOutcome {
  if (!(error instanceof GrammyError)) {
    return { kind: "retry", error: `telegram: ${error instanceof Error ? error.message : String(error)}` };
  }
  const detail = `telegram: ${error.error_code} ${error.description}`;
  if (error.error_code === 429) {
    const seconds = error.parameters.retry_after;
    return {
      kind: "retry",
      httpStatus: 429,
      error: detail,
      ...(seconds ? { retryAfterMs: seconds * 1000 } : {}),
    };
  }
  if (error.error_code >= 500) return { kind: "retry", httpStatus: error.error_code, error: detail };
  return { kind: "rejected", httpStatus: error.error_code, error: detail };
}
