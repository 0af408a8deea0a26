/**
 * Who is calling. Every request is made by exactly one principal, named by its bearer token (or the
 * dashboard's login cookie, which stands for a token). See docs/security.md for the roles table.
 *
 * - `admin`: everything.
 * - `user`: acts as one `owner`: spawns as that owner, reads and acts on that owner's sessions and their
 *   descendants, sees only their events.
 * - `viewer`: reads everything, changes nothing.
 * - `agent`: one per session, minted by Baton and put in that agent's environment; acts as its session.
 * - `telegram` / `slack`: an allowed Telegram chat or Slack channel, acting as an admin or (with an owner) as
 *   a user; `via` names where it speaks from, so audits say `telegram:<chatId>` or `slack:<channelId>`.
 */
export type Principal =
  | { readonly role: "admin"; readonly name: string; readonly via?: ChatVia }
  | { readonly role: "viewer"; readonly name: string }
  | {
      readonly role: "user";
      readonly name: string;
      readonly owner: string;
      readonly roots?: readonly string[];
      readonly via?: ChatVia;
    }
  | { readonly role: "agent"; readonly sessionId: string; readonly owner: string };

export type Role = Principal["role"];

/** The chat services whose chats and channels act as principals. */
export type ChatVia = "telegram" | "slack";

/** How a principal is named in audit fields (`by`, `from`): never taken from a request body. */
export function principalLabel(principal: Principal): string {
  if (principal.role === "agent") return `agent:${principal.sessionId}`;
  if ("via" in principal && principal.via) return `${principal.via}:${principal.name}`;
  return `${principal.role}:${principal.name}`;
}

/** The owner a principal is confined to, or undefined when it may see every owner (admin, viewer). */
export function confinedOwner(principal: Principal): string | undefined {
  return principal.role === "user" || principal.role === "agent" ? principal.owner : undefined;
}

/**
 * An allowed Telegram chat acts as a principal of its own: a user bound to an owner when
 * `telegramChatOwners` names one for it, otherwise an admin (the chat list is then the whole allowlist).
 */
export function telegramPrincipal(chatId: string, owner: string | undefined): Principal {
  return chatPrincipal("telegram", chatId, owner);
}

/** An allowed Slack channel (or DM), the same way: `slackChannelIds`, and an owner from `slackChannelOwners`. */
export function chatPrincipal(via: ChatVia, chatId: string, owner: string | undefined): Principal {
  return owner === undefined
    ? { role: "admin", name: chatId, via }
    : { role: "user", name: chatId, owner, via };
}
