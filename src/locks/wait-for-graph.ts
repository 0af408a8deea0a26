import type { HeldLockRow } from "../store/lock-queries.ts";
import type { AcquireRequest, Waiter } from "./lock-requests.ts";

/** One edge of the wait-for graph: `waiter` is blocked until `holder` lets go of `resource`. */
export interface WaitEdge {
  waiter: string;
  holder: string;
  resource: string;
}

/**
 * If `waiter` started waiting for `holder`, would that close a cycle? Returns the cycle's edges, starting
 * with the new one, or undefined. Without this check two sessions that each hold what the other wants
 * would both wait until their timeouts, and longer cycles the same way.
 */
export function findCycle(edges: readonly WaitEdge[], proposed: WaitEdge): WaitEdge[] | undefined {
  const seen = new Set<string>();
  const walk = (session: string, path: WaitEdge[]): WaitEdge[] | undefined => {
    if (session === proposed.waiter) return path;
    if (seen.has(session)) return undefined;
    seen.add(session);
    for (const edge of edges) {
      if (edge.waiter !== session) continue;
      const found = walk(edge.holder, [...path, edge]);
      if (found) return found;
    }
    return undefined;
  };
  return walk(proposed.holder, [proposed]);
}

/** The cycle that `request` waiting for `blocker` would close among `waiters` (`self`'s own edge excluded). */
export function cycleThrough(
  waiters: readonly Waiter[],
  request: AcquireRequest,
  blocker: HeldLockRow,
  self?: Waiter,
): WaitEdge[] | undefined {
  const edges = waiters
    .filter((waiter) => waiter !== self)
    .map((waiter) => ({
      waiter: waiter.sessionId,
      holder: waiter.holder.session_id,
      resource: waiter.resource,
    }));
  return findCycle(edges, {
    waiter: request.sessionId,
    holder: blocker.session_id,
    resource: request.resource,
  });
}
