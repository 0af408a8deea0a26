import { type Principal, principalLabel } from "../access/principal.ts";
import { scopeSpawn } from "../access/spawn-scope.ts";
import { sha256Hex } from "../access/token-hash.ts";
import { configOf } from "../sessions/session-mapper.ts";
import type { Session, SessionConfigInput } from "../sessions/session-schema.ts";
import type { SessionService } from "../sessions/session-service.ts";

/**
 * Spawns on behalf of a principal: its owner, its parent rules, its workDir roots (src/access/spawn-scope.ts),
 * and an optional `Idempotency-Key` scoped to it. `created: false` when the key named an earlier spawn.
 */
export type SpawnAs = (
  principal: Principal,
  input: SessionConfigInput,
  options?: { idempotencyKey?: string | undefined },
) => Promise<{ session: Session; created: boolean }>;

/** The SpawnAs that every spawning surface (HTTP, MCP, keyed messages) uses. */
export function spawnAsPrincipal(sessions: Pick<SessionService, "resolve" | "spawnOnce">): SpawnAs {
  return async (principal, input, options = {}) => {
    const own =
      principal.role === "agent" ? configOf(await sessions.resolve(principal.sessionId)) : undefined;
    const scope = scopeSpawn(principal, input, own);
    const idempotency = options.idempotencyKey
      ? {
          scopedKey: `${principalLabel(principal)}:${options.idempotencyKey}`,
          requestSha256: sha256Hex(canonicalJson(input)),
        }
      : undefined;
    return sessions.spawnOnce(scope.input, { roots: scope.roots, idempotency });
  };
}

/** JSON with object keys sorted, so the same request hashes the same whatever its key order. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner && typeof inner === "object" && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => a.localeCompare(b)))
      : inner,
  );
}
