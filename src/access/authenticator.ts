import type { TokenEntry } from "../core/settings-schema.ts";
import { replaceAgentToken, selectAgentTokenOwner } from "../store/access-queries.ts";
import type { Store } from "../store/open-store.ts";
import type { Principal } from "./principal.ts";
import { digestsEqual, newToken, sha256Hex } from "./token-hash.ts";

interface KnownToken {
  digest: Buffer;
  principal: Principal;
}

export interface AuthenticatorOptions {
  store: Store;
  /** The admin token: configured (`token` / BATON_TOKEN) or the one in `<home>/token`. */
  adminToken: string;
  /** True when adminToken came from the token file rather than configuration (it is named `local`). */
  adminFromFile: boolean;
  tokens: readonly TokenEntry[];
}

/**
 * Turns a bearer token into a principal. Configured tokens are compared by SHA-256 digest in constant time,
 * all of them every time (no early exit that would tell which entry came close); agent tokens are looked
 * up by digest in the store, so only hashes are ever stored, and a killed session's token is dead.
 */
export class Authenticator {
  private readonly store: Store;
  private readonly known: KnownToken[];

  constructor(options: AuthenticatorOptions) {
    this.store = options.store;
    this.known = [
      {
        digest: Buffer.from(sha256Hex(options.adminToken), "hex"),
        principal: { role: "admin", name: options.adminFromFile ? "local" : "token" },
      },
      ...options.tokens.map((entry) => ({
        digest: Buffer.from(entry.tokenSha256 ?? sha256Hex(entry.token ?? ""), "hex"),
        principal: principalOf(entry),
      })),
    ];
  }

  authenticate(token: string): Promise<Principal | undefined> {
    return this.authenticateDigest(sha256Hex(token));
  }

  /**
   * The principal of the token with this SHA-256 (hex). A login cookie stands for a token by its digest,
   * so a token removed from the configuration, or a killed session's, logs its cookies out as well.
   */
  async authenticateDigest(hex: string): Promise<Principal | undefined> {
    const digest = Buffer.from(hex, "hex");
    let match: Principal | undefined;
    for (const known of this.known) {
      if (digestsEqual(known.digest, digest) && !match) match = known.principal;
    }
    if (match) return match;
    const owner = await selectAgentTokenOwner(this.store.db, hex);
    if (!owner || owner.status === "killed") return undefined;
    return { role: "agent", sessionId: owner.session_id, owner: owner.owner };
  }

  /**
   * A fresh token for a session's new process (the previous one dies with it). Stored as its hash before
   * the process starts, so the agent's first call already authenticates.
   */
  async mintAgentToken(sessionId: string): Promise<string> {
    const token = newToken("agent");
    await this.store.transaction((tx) =>
      replaceAgentToken(tx, {
        token_sha256: sha256Hex(token),
        session_id: sessionId,
        created_at: new Date().toISOString(),
      }),
    );
    return token;
  }
}

function principalOf(entry: TokenEntry): Principal {
  if (entry.role === "user") {
    return {
      role: "user",
      name: entry.name,
      owner: entry.owner ?? entry.name,
      ...(entry.roots ? { roots: entry.roots } : {}),
    };
  }
  return { role: entry.role, name: entry.name };
}
