import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { waitUntil } from "./wait-until.ts";

/**
 * A Bot API server for tests, reached through grammY's `apiRoot` client option (the `telegramApiRoot`
 * setting). It speaks what Baton uses: getMe, deleteWebhook, getUpdates (long polling with offsets and
 * confirmation), sendMessage, editMessageText, answerCallbackQuery; the test plays the humans by injecting
 * updates (messages, replies, button presses).
 */
export interface SentMessage {
  message_id: number;
  chat_id: string;
  text: string;
  reply_markup?: { inline_keyboard?: { text: string; callback_data?: string }[][] };
  reply_to_message_id?: number;
  /** Later text set by editMessageText, newest last. */
  edits: string[];
}

export interface CallbackAnswer {
  callback_query_id: string;
  text?: string;
  show_alert?: boolean;
}

export interface FakeTelegram {
  /** For the `telegramApiRoot` setting. */
  apiRoot: string;
  token: string;
  sent: SentMessage[];
  callbackAnswers: CallbackAnswer[];
  /** A user writes in a chat; returns the new message's id. */
  userMessage(input: { chatId: string; text: string; replyTo?: number; username?: string }): number;
  /** A user presses an inline button under one of the bot's messages. */
  pressButton(input: { chatId: string; messageId: number; data: string; username?: string }): string;
  waitForSent(predicate: (message: SentMessage) => boolean, timeoutMs?: number): Promise<SentMessage>;
  stop(): Promise<void>;
}

interface Update {
  update_id: number;
  [kind: string]: unknown;
}

interface Poll {
  offset: number;
  limit: number;
  respond: (updates: Update[]) => void;
}

const BOT = { id: 7_000_000, is_bot: true, first_name: "Baton", username: "baton_test_bot" };

export async function startFakeTelegram(token = "123456:TEST-token"): Promise<FakeTelegram> {
  const updates: Update[] = [];
  const polls = new Set<Poll>();
  const sent: SentMessage[] = [];
  const callbackAnswers: CallbackAnswer[] = [];
  let nextUpdateId = 1;
  let nextMessageId = 1000;
  let nextCallbackId = 1;

  const pending = (offset: number, limit: number) =>
    updates.filter((u) => u.update_id >= offset).slice(0, limit);
  const push = (update: Omit<Update, "update_id">) => {
    updates.push({ ...update, update_id: nextUpdateId++ });
    for (const poll of polls) {
      const ready = pending(poll.offset, poll.limit);
      if (ready.length > 0) poll.respond(ready);
    }
  };
  const user = (username = "alice") => ({ id: 4242, is_bot: false, first_name: username, username });
  const chat = (chatId: string) => ({ id: Number(chatId), type: "private" });

  const methods: Record<string, (params: Record<string, unknown>, request: IncomingMessage) => unknown> = {
    getMe: () => BOT,
    deleteWebhook: () => true,
    sendMessage: (params) => {
      const replyParameters = params.reply_parameters as { message_id?: number } | undefined;
      const message: SentMessage = {
        message_id: nextMessageId++,
        chat_id: String(params.chat_id),
        text: String(params.text),
        edits: [],
        ...(params.reply_markup ? { reply_markup: params.reply_markup as SentMessage["reply_markup"] } : {}),
        ...(replyParameters?.message_id ? { reply_to_message_id: replyParameters.message_id } : {}),
      };
      sent.push(message);
      return toMessage(message);
    },
    editMessageText: (params) => {
      const message = sent.find(
        (m) => m.message_id === Number(params.message_id) && m.chat_id === String(params.chat_id),
      );
      if (!message) throw new BotApiError(400, "Bad Request: message to edit not found");
      message.edits.push(String(params.text));
      return { ...toMessage(message), text: String(params.text) };
    },
    answerCallbackQuery: (params) => {
      callbackAnswers.push(params as unknown as CallbackAnswer);
      return true;
    },
  };

  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const match = /^\/bot([^/]+)\/(\w+)$/.exec(request.url ?? "");
      if (!match || match[1] !== token)
        return reply(response, 401, { ok: false, error_code: 401, description: "Unauthorized" });
      const method = match[2] ?? "";
      const text = Buffer.concat(chunks).toString("utf8");
      const params = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
      if (method === "getUpdates") return getUpdates(params, response);
      const handler = methods[method];
      if (!handler) return reply(response, 404, { ok: false, error_code: 404, description: "Not Found" });
      try {
        reply(response, 200, { ok: true, result: handler(params, request) });
      } catch (error) {
        const code = error instanceof BotApiError ? error.code : 500;
        reply(response, code, { ok: false, error_code: code, description: (error as Error).message });
      }
    });
  });

  function getUpdates(params: Record<string, unknown>, response: ServerResponse): void {
    const offset = Number(params.offset ?? 0);
    const limit = Number(params.limit ?? 100);
    // An offset confirms every update below it: they are never sent again.
    while (updates[0] && updates[0].update_id < offset) updates.shift();
    const ready = pending(offset, limit);
    const timeoutSeconds = Number(params.timeout ?? 0);
    if (ready.length > 0 || timeoutSeconds === 0) {
      reply(response, 200, { ok: true, result: ready });
      return;
    }
    const poll: Poll = {
      offset,
      limit,
      respond: (result) => {
        polls.delete(poll);
        clearTimeout(timer);
        reply(response, 200, { ok: true, result });
      },
    };
    const timer = setTimeout(() => poll.respond([]), timeoutSeconds * 1000);
    polls.add(poll);
    // The client gave up (grammY aborts its poll on stop): forget it. (The request's own "close" fires as
    // soon as its body was read; the response's fires when the connection goes.)
    response.on("close", () => {
      if (!response.writableEnded) {
        polls.delete(poll);
        clearTimeout(timer);
      }
    });
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  let stopped: Promise<void> | undefined;
  return {
    apiRoot: `http://127.0.0.1:${port}`,
    token,
    sent,
    callbackAnswers,
    userMessage({ chatId, text, replyTo, username }) {
      const messageId = nextMessageId++;
      const command = /^\/\w+(@\w+)?/.exec(text);
      const original = replyTo === undefined ? undefined : sent.find((m) => m.message_id === replyTo);
      push({
        message: {
          message_id: messageId,
          date: Math.floor(Date.now() / 1000),
          chat: chat(chatId),
          from: user(username),
          text,
          ...(command ? { entities: [{ type: "bot_command", offset: 0, length: command[0].length }] } : {}),
          ...(replyTo === undefined
            ? {}
            : {
                reply_to_message: original
                  ? toMessage(original)
                  : { message_id: replyTo, date: 0, chat: chat(chatId), text: "" },
              }),
        },
      });
      return messageId;
    },
    pressButton({ chatId, messageId, data, username }) {
      const message = sent.find((m) => m.message_id === messageId && m.chat_id === chatId);
      const id = `cbq-${nextCallbackId++}`;
      push({
        callback_query: {
          id,
          from: user(username),
          chat_instance: `instance-${chatId}`,
          data,
          message: message ? toMessage(message) : { message_id: messageId, date: 0, chat: chat(chatId) },
        },
      });
      return id;
    },
    waitForSent(predicate, timeoutMs = 15_000) {
      return waitUntil(() => sent.find(predicate), timeoutMs, "a message from the bot");
    },
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        for (const poll of polls) poll.respond([]);
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopped;
    },
  };
}

class BotApiError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

function toMessage(message: SentMessage): Record<string, unknown> {
  return {
    message_id: message.message_id,
    date: Math.floor(Date.now() / 1000),
    chat: { id: Number(message.chat_id), type: "private" },
    from: BOT,
    text: message.edits.at(-1) ?? message.text,
    ...(message.reply_markup ? { reply_markup: message.reply_markup } : {}),
  };
}

function reply(response: ServerResponse, status: number, body: unknown): void {
  if (response.writableEnded) return;
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify(body));
}
