import type { Principal } from "../access/principal.ts";
import type { Session, SessionConfigInput } from "../sessions/session-schema.ts";

/**
 * Spawns on behalf of a principal: its owner, its parent rules, its workDir roots (src/access/spawn-scope.ts),
 * and an optional `Idempotency-Key` scoped to it. `created: false` when the key named an earlier spawn.
 */
export type SpawnAs = (
  principal: Principal,
  input: SessionConfigInput,
  options?: { idempotencyKey?: string | undefined },
) => Promise<{ session: Session; created: boolean }>;
