import { BatonError } from "../core/errors.ts";
import type { BatonEvent } from "../events/catalogue.ts";
import type { ListSessionsQuery } from "../sessions/session-schema.ts";
import type { Authenticator } from "./authenticator.ts";
import type { Logins } from "./logins.ts";
import { authorize, type SessionTarget } from "./policy.ts";
import { confinedOwner, type Principal, principalLabel } from "./principal.ts";
import type { SessionDirectory } from "./session-directory.ts";

/** Resolves an id or name to the session's id and name (SESSION_NOT_FOUND otherwise). */
export type SessionResolver = (idOrName: string) => Promise<{ id: string; name: string | null }>;

/**
 * The access domain as the transports (HTTP, WebSocket, SSE, MCP, Telegram) use it: who a token is, which
 * session a request targets, and what part of the fleet a principal may see.
 */
export class AccessControl {
  readonly authenticator: Authenticator;
  readonly logins: Logins;
  private readonly directory: SessionDirectory;
  private readonly resolve: SessionResolver;

  constructor(deps: {
    authenticator: Authenticator;
    logins: Logins;
    directory: SessionDirectory;
    resolve: SessionResolver;
  }) {
    this.authenticator = deps.authenticator;
    this.logins = deps.logins;
    this.directory = deps.directory;
    this.resolve = deps.resolve;
  }

  async sessionTarget(idOrName: string): Promise<SessionTarget> {
    const { id, name } = await this.resolve(idOrName);
    return { id, name, ancestry: await this.directory.ancestry(id) };
  }

  /**
   * The id of a session a list or stream is narrowed to (`?session=`), once the principal may read it;
   * undefined when no session was named.
   */
  async readableSessionId(principal: Principal, idOrName: string | undefined): Promise<string | undefined> {
    if (idOrName === undefined) return undefined;
    const target = await this.sessionTarget(idOrName);
    authorize(principal, "session.read", target);
    return target.id;
  }

  /**
   * Which events a principal may receive: everything for admins and viewers; for users and agents, the
   * events of their owner's sessions (and those sessions' descendants) plus events that belong to no
   * session. Returns undefined when there is nothing to filter. Synchronous per event, so a stream keeps
   * its order; the directory is loaded first.
   */
  async eventFilter(principal: Principal): Promise<((event: BatonEvent) => boolean) | undefined> {
    const owner = confinedOwner(principal);
    if (owner === undefined) return undefined;
    await this.directory.ready();
    return (event) => event.sessionId === undefined || this.directory.ownedBy(event.sessionId, owner);
  }

  /** Synchronous "may this principal see that session", for filtering lists. Call `eventFilter` first. */
  async sessionFilter(principal: Principal): Promise<((sessionId: string) => boolean) | undefined> {
    const owner = confinedOwner(principal);
    if (owner === undefined) return undefined;
    await this.directory.ready();
    return (sessionId) => this.directory.ownedBy(sessionId, owner);
  }

  /** A confined principal lists its own owner's sessions; asking for another owner is 403. */
  scopeListQuery(principal: Principal, query: ListSessionsQuery): ListSessionsQuery {
    const owner = confinedOwner(principal);
    if (owner === undefined) return query;
    if (query.owner !== undefined && query.owner !== owner) {
      throw new BatonError(
        "FORBIDDEN",
        `${principalLabel(principal)} may not list sessions of owner "${query.owner}": only its own ("${owner}")`,
        { action: "sessions.list" },
      );
    }
    return { ...query, owner };
  }
}

/**
 * The `from` of a message, from the sender's identity: an agent's session id (so the recipient can answer
 * it, and wake-ups find it), or the principal's label for people and services.
 */
export function senderOf(principal: Principal): string {
  return principal.role === "agent" ? principal.sessionId : principalLabel(principal);
}
