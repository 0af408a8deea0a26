import { randomBytes } from "node:crypto";
import { deleteExpiredLogins, deleteLogin, insertLogin, selectLogin } from "../store/access-queries.ts";
import type { Store } from "../store/open-store.ts";
import type { Authenticator } from "./authenticator.ts";
import type { Principal } from "./principal.ts";
import { sha256Hex } from "./token-hash.ts";

/** How long a dashboard login lasts before the token must be given again. */
export const LOGIN_TTL_MS = 7 * 24 * 3600_000;
/** How long a one-time login link (`baton open`) can be used. */
export const LINK_TTL_MS = 60_000;

/**
 * Dashboard logins. A browser never holds a token: it trades one (pasted once, or a one-time link's code)
 * for a random login secret in an HttpOnly, SameSite=Strict cookie. The store keeps only hashes: of the
 * secret, and of the token it stands for, so the login lasts exactly as long as that token is valid.
 */
export class Logins {
  private readonly store: Store;
  private readonly authenticator: Authenticator;

  constructor(store: Store, authenticator: Authenticator) {
    this.store = store;
    this.authenticator = authenticator;
  }

  /** A login secret for a valid token; undefined (and nothing stored) for an unknown one. */
  async logIn(token: string): Promise<{ secret: string; expiresAt: Date } | undefined> {
    if (!(await this.authenticator.authenticate(token))) return undefined;
    return this.open("cookie", sha256Hex(token), LOGIN_TTL_MS);
  }

  /** A one-time code that logs a browser in as the same principal as `token`, for a minute. */
  async link(token: string): Promise<{ code: string; expiresAt: Date }> {
    const { secret, expiresAt } = await this.open("link", sha256Hex(token), LINK_TTL_MS);
    return { code: secret, expiresAt };
  }

  /** Spends a link's code (once) for a cookie login; undefined when it is unknown, used or expired. */
  async redeem(code: string): Promise<{ secret: string; expiresAt: Date } | undefined> {
    const hash = sha256Hex(code);
    const row = await selectLogin(this.store.db, hash, "link", new Date().toISOString());
    // The delete decides: of two concurrent redemptions, only the one that deleted the row wins.
    if (!row || !(await deleteLogin(this.store.db, hash))) return undefined;
    return this.open("cookie", row.token_sha256, LOGIN_TTL_MS);
  }

  /** The principal a login cookie stands for, while both the login and its token are valid. */
  async principalOf(secret: string): Promise<Principal | undefined> {
    const row = await selectLogin(this.store.db, sha256Hex(secret), "cookie", new Date().toISOString());
    return row ? this.authenticator.authenticateDigest(row.token_sha256) : undefined;
  }

  async logOut(secret: string): Promise<void> {
    await deleteLogin(this.store.db, sha256Hex(secret));
  }

  private async open(kind: "cookie" | "link", tokenSha256: string, ttlMs: number) {
    const secret = randomBytes(32).toString("base64url");
    const now = new Date();
    const expiresAt = new Date(now.getTime() + ttlMs);
    await deleteExpiredLogins(this.store.db, now.toISOString());
    await insertLogin(this.store.db, {
      secret_sha256: sha256Hex(secret),
      kind,
      token_sha256: tokenSha256,
      created_at: now.toISOString(),
      expires_at: expiresAt.toISOString(),
    });
    return { secret, expiresAt };
  }
}
