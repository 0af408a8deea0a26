import type { Bot, Context } from "grammy";
import { type AccessControl, senderOf } from "../access/access-control.ts";
import type { Action } from "../access/actions.ts";
import { authorize } from "../access/policy.ts";
import { type Principal, principalLabel, telegramPrincipal } from "../access/principal.ts";
import { scopeSpawn } from "../access/spawn-scope.ts";
import { describeError, isBatonError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { KeyedSessions } from "../sessions/keyed-sessions.ts";
import { SessionConfigSchema } from "../sessions/session-schema.ts";
import type { SessionService } from "../sessions/session-service.ts";
import type { Store } from "../store/open-store.ts";
import { insertTelegramMessage, selectTelegramMessageSession } from "../store/telegram-queries.ts";
import { describeSession, sessionLabel, truncateText } from "./message-text.ts";
import type { PermissionResolver } from "./permission-resolver.ts";

export interface TelegramBotDeps {
  bot: Bot;
  store: Store;
  sessions: SessionService;
  /** Every command and button is authorized as the chat's principal (see telegramPrincipal). */
  access: AccessControl;
  chatIds: ReadonlySet<string>;
  chatOwners: Readonly<Record<string, string>>;
  /** A chat's plain messages go to the session keyed `telegram:<chatId>` (when keyTemplates has one for it). */
  keyed: KeyedSessions;
  logger: Logger;
  permissions: () => PermissionResolver | undefined;
}

const HELP = [
  "/new <workdir> <prompt> — start a session",
  "/list — recent sessions",
  "/status <session> — one session",
  "/kill <session> — stop a session",
  "Reply to a session's message to send it a follow-up.",
].join("\n");

/** Polling stops on request; a stuck poll (the Bot API unreachable) must not hold shutdown for long. */
const STOP_WAIT_MS = 5000;

/**
 * The Telegram side that listens: commands, replies routed to sessions, Approve/Deny buttons. Only the
 * configured chats are obeyed; an update from any other chat is dropped without an answer, so the bot
 * does not even confirm to strangers that it exists.
 */
export class TelegramBot {
  private readonly deps: TelegramBotDeps;
  private polling: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(deps: TelegramBotDeps) {
    this.deps = deps;
    this.install();
  }

  start(): void {
    if (this.polling) return;
    this.polling = this.deps.bot
      .start({ allowed_updates: ["message", "callback_query"] })
      .catch((error: unknown) =>
        this.deps.logger.error({ err: error }, `telegram: polling stopped: ${describeError(error)}`),
      );
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (!this.polling) return;
      await this.deps.bot
        .stop()
        .catch((error: unknown) =>
          this.deps.logger.debug({ err: error }, "telegram: could not confirm the last update"),
        );
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.polling,
        new Promise((resolve) => (timer = setTimeout(resolve, STOP_WAIT_MS))),
      ]);
      clearTimeout(timer);
    })();
    return this.stopping;
  }

  private principalOf(ctx: Context): Principal {
    const chatId = String(ctx.chat?.id);
    return telegramPrincipal(chatId, this.deps.chatOwners[chatId]);
  }

  private authorize(ctx: Context, action: Action, idOrName: string): Promise<Principal> {
    return authorizeChat(this.deps, this.principalOf(ctx), action, idOrName);
  }

  private install(): void {
    const { bot } = this.deps;
    bot.use(async (ctx, next) => {
      const chatId = ctx.chat?.id;
      if (chatId === undefined || !this.deps.chatIds.has(String(chatId))) {
        this.deps.logger.debug({ chatId }, "telegram: ignored an update from a chat not in telegramChatIds");
        return;
      }
      await next();
    });
    bot.command(["start", "help"], (ctx) => this.answer(ctx, async () => HELP));
    bot.command("new", (ctx) => this.answer(ctx, () => this.spawn(ctx, ctx.match)));
    bot.command("list", (ctx) => this.answer(ctx, () => this.list(ctx)));
    bot.command("status", (ctx) => this.answer(ctx, () => this.status(ctx, ctx.match)));
    bot.command("kill", (ctx) => this.answer(ctx, () => this.kill(ctx, ctx.match)));
    bot.callbackQuery(/^perm:(.+):(allow|deny)$/, (ctx) =>
      this.permission(ctx, ctx.match[1] ?? "", ctx.match[2] === "allow" ? "allow" : "deny"),
    );
    bot.on("message:text", (ctx) => this.answer(ctx, () => this.reply(ctx)));
    bot.catch((error) =>
      this.deps.logger.error({ err: error.error }, `telegram: update failed: ${describeError(error.error)}`),
    );
  }

  /** Runs a handler and replies with what it returns (or the error), mapping the reply to its session. */
  private async answer(
    ctx: Context,
    handler: () => Promise<string | { text: string; sessionId: string }>,
  ): Promise<void> {
    let answer: string | { text: string; sessionId: string };
    try {
      answer = await handler();
    } catch (error) {
      if (!isBatonError(error)) this.deps.logger.error({ err: error }, "telegram: command failed");
      answer = `⚠️ ${describeError(error)}`;
    }
    const text = typeof answer === "string" ? answer : answer.text;
    const sent = await ctx.reply(truncateText(text, 4000), {
      link_preview_options: { is_disabled: true },
      ...(ctx.message ? { reply_parameters: { message_id: ctx.message.message_id } } : {}),
    });
    if (typeof answer !== "string" && ctx.chat) {
      await insertTelegramMessage(this.deps.store.db, {
        chatId: String(ctx.chat.id),
        messageId: sent.message_id,
        sessionId: answer.sessionId,
      });
    }
  }

  private async spawn(ctx: Context, args: string): Promise<string | { text: string; sessionId: string }> {
    const match = /^(\S+)\s+([\s\S]+)$/.exec(args.trim());
    if (!match?.[1] || !match[2]) return "Usage: /new <workdir> <prompt>";
    const chatId = String(ctx.chat?.id);
    const principal = this.principalOf(ctx);
    const parsed = SessionConfigSchema.safeParse({
      workDir: match[1],
      prompt: match[2],
      // An owned chat spawns as its owner (scopeSpawn); an admin chat's sessions are the chat's own.
      ...(principal.role === "admin" ? { owner: principalLabel(principal) } : {}),
      notify: { channel: "telegram", target: chatId },
    });
    if (!parsed.success) return `⚠️ ${parsed.error.issues.map((issue) => issue.message).join("; ")}`;
    const scope = scopeSpawn(principal, parsed.data);
    const session = await this.deps.sessions.spawn(scope.input, { roots: scope.roots });
    return {
      sessionId: session.id,
      text: `🚀 Started ${sessionLabel(session)} (${session.status}). I'll report here when it is done; reply to this message to send it more.`,
    };
  }

  private async list(ctx: Context): Promise<string> {
    const query = this.deps.access.scopeListQuery(this.principalOf(ctx), { limit: 15 });
    const { sessions } = await this.deps.sessions.list(query);
    if (sessions.length === 0) return "No sessions yet.";
    return sessions.map((session) => `• ${sessionLabel(session)} — ${session.status}`).join("\n");
  }

  private async status(ctx: Context, args: string): Promise<string | { text: string; sessionId: string }> {
    const which = args.trim();
    if (!which) return "Usage: /status <session>";
    await this.authorize(ctx, "session.read", which);
    const session = await this.deps.sessions.get(which);
    return { sessionId: session.id, text: describeSession(session) };
  }

  private async kill(ctx: Context, args: string): Promise<string> {
    const which = args.trim();
    if (!which) return "Usage: /kill <session>";
    const principal = await this.authorize(ctx, "session.kill", which);
    const session = await this.deps.sessions.kill(which, principalLabel(principal));
    return `🛑 Killed ${sessionLabel(session)}`;
  }

  /** A reply to a message about a session is a follow-up for that session. */
  private async reply(ctx: Context): Promise<string | { text: string; sessionId: string }> {
    const text = ctx.message?.text ?? "";
    const repliedTo = ctx.message?.reply_to_message?.message_id;
    if (!ctx.chat) return HELP;
    if (repliedTo === undefined) return this.toChatSession(ctx, text);
    const sessionId = await selectTelegramMessageSession(this.deps.store.db, String(ctx.chat.id), repliedTo);
    if (!sessionId) return "I don't know which session that message is about. Reply to a session's message.";
    const principal = await this.authorize(ctx, "session.send", sessionId);
    const session = await this.deps.sessions.get(sessionId);
    await this.deps.sessions.send(session.id, { text, mode: "queue", from: senderOf(principal) });
    return { sessionId: session.id, text: `📨 Sent to ${sessionLabel(session)}` };
  }

  /**
   * One conversation per chat: a plain message goes to the live session holding `telegram:<chatId>`, or
   * spawns one from the keyTemplates entry for it, reporting back to this chat. Without a template the chat
   * gets the help text, as before.
   */
  private async toChatSession(
    ctx: Context,
    text: string,
  ): Promise<string | { text: string; sessionId: string }> {
    const chatId = String(ctx.chat?.id);
    const key = `telegram:${chatId}`;
    if (!(await this.deps.keyed.accepts(key))) return HELP;
    const principal = this.principalOf(ctx);
    const receipt = await this.deps.keyed.send(
      key,
      { text },
      {
        mayMessage: async (session) => {
          await authorizeChat(this.deps, principal, "session.send", session.id);
        },
        spawn: async (config) => {
          const owned = principal.role === "admin" ? { owner: principalLabel(principal) } : {};
          const scope = scopeSpawn(principal, {
            ...owned,
            ...config,
            notify: { channel: "telegram", target: chatId },
          });
          return this.deps.sessions.spawn(scope.input, { roots: scope.roots });
        },
      },
    );
    return {
      sessionId: receipt.sessionId,
      text: receipt.created
        ? "🚀 Started this chat's session; I'll answer here."
        : "📨 Sent to this chat's session",
    };
  }

  private async permission(ctx: Context, requestId: string, behavior: "allow" | "deny"): Promise<void> {
    const message = ctx.callbackQuery?.message;
    const resolver = this.deps.permissions();
    const sessionId =
      message && ctx.chat
        ? await selectTelegramMessageSession(this.deps.store.db, String(ctx.chat.id), message.message_id)
        : undefined;
    if (!resolver || !sessionId) {
      await ctx.answerCallbackQuery({
        text: "This request cannot be answered from Telegram.",
        show_alert: true,
      });
      return;
    }
    let by: string;
    try {
      by = principalLabel(await this.authorize(ctx, "session.answer", sessionId));
      await resolver.resolve(sessionId, requestId, {
        behavior,
        by,
        ...(behavior === "deny" ? { message: `Denied by ${by}` } : {}),
      });
    } catch (error) {
      await ctx.answerCallbackQuery({ text: `⚠️ ${describeError(error)}`.slice(0, 190), show_alert: true });
      return;
    }
    await ctx.answerCallbackQuery({ text: behavior === "allow" ? "Approved" : "Denied" });
    const original = message && "text" in message ? (message.text ?? "") : "";
    const verdict = behavior === "allow" ? "✅ Approved" : "🚫 Denied";
    // Editing without reply_markup removes the buttons: the request cannot be answered twice from here.
    await ctx.editMessageText(truncateText(`${original}\n\n${verdict} by ${whoIs(ctx)}`, 4096));
  }
}

/** The chat's principal, authorized for `action` on a session: throws FORBIDDEN (shown in the chat). */
async function authorizeChat(
  deps: TelegramBotDeps,
  principal: Principal,
  action: Action,
  idOrName: string,
): Promise<Principal> {
  authorize(principal, action, await deps.access.sessionTarget(idOrName));
  return principal;
}

function whoIs(ctx: Context): string {
  const from = ctx.from;
  if (!from) return String(ctx.chat?.id ?? "unknown");
  return from.username ?? String(from.id);
}
