import type { HeldLockRow } from "../store/lock-queries.ts";
import { describeResource } from "./lock-resource.ts";
import type { WaitEdge } from "./wait-for-graph.ts";

/**
 * What a denied tool call tells the model (and a refused request tells its caller). The model cannot look
 * anything up, so each message names the holder, its reason, and what to do instead.
 */
export function sessionLabel(id: string, name: string | null | undefined): string {
  return name ? `"${name}" (${id})` : id;
}

export function heldBy(resource: string, holder: HeldLockRow): string {
  const through =
    holder.resource === resource ? "" : ` through its lock on ${describeResource(holder.resource)}`;
  const reason = holder.reason ? ` for "${holder.reason}"` : "";
  return (
    `${describeResource(resource)} is locked by session ${sessionLabel(holder.session_id, holder.holder_name)}` +
    `${reason}${through} since ${holder.acquired_at}`
  );
}

export function timeoutMessage(resource: string, holder: HeldLockRow, timeoutMs: number): string {
  return (
    `Baton lock timeout: ${heldBy(resource, holder)}. Waited ${timeoutMs} ms (lockTimeoutMs), so this tool ` +
    "call was not run. Work on something else, or retry after that session's turn ends or it unlocks."
  );
}

export function cycleMessage(cycle: readonly WaitEdge[], names: ReadonlyMap<string, string | null>): string {
  const label = (id: string) => sessionLabel(id, names.get(id));
  const steps = cycle
    .map(
      (edge) => `${label(edge.waiter)} waits for ${label(edge.holder)} (${describeResource(edge.resource)})`,
    )
    .join("; ");
  return (
    `Baton lock cycle: ${steps}. Waiting would never end, so this tool call was denied to break the cycle. ` +
    "The other sessions keep their locks: finish your turn (which releases yours) or unlock, then retry."
  );
}
