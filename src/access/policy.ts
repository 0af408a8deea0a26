import { BatonError } from "../core/errors.ts";
import { ACTIONS, type Action, AGENT_REACH, FLEET_WIDE } from "./actions.ts";
import { type Principal, principalLabel } from "./principal.ts";
import type { Ancestry } from "./session-directory.ts";

/** The session an action targets, as the policy sees it. */
export interface SessionTarget {
  id: string;
  name: string | null;
  /** The session first, then its parent, up to the root. */
  ancestry: Ancestry;
}

/**
 * The one authorization policy: may principal P take action A (on session S)? Every route, stream, MCP tool
 * call and Telegram button goes through here. Returns undefined when allowed, otherwise the reason.
 */
export function denialReason(
  principal: Principal,
  action: Action,
  target?: SessionTarget,
): string | undefined {
  const spec = ACTIONS[action];
  if (spec.kind === "open" || principal.role === "admin") return undefined;
  if (principal.role === "viewer") return spec.kind === "read" ? undefined : "viewers can only read";
  if (FLEET_WIDE.has(action)) return "only admins and viewers may";
  if (spec.target === "none" || !target) return undefined;
  if (principal.role === "user") {
    return ownedBy(target, principal.owner) ? undefined : `it belongs to another owner`;
  }
  const reach = AGENT_REACH[action] ?? "descendant";
  if (reach === "owner") {
    return ownedBy(target, principal.owner) ? undefined : "it belongs to another owner";
  }
  if (target.id === principal.sessionId) {
    return reach === "self-or-descendant" ? undefined : "an agent cannot do that to its own session";
  }
  return isDescendant(target, principal.sessionId)
    ? undefined
    : "agents may only act on sessions they spawned (or that those spawned)";
}

/** Throws 403 FORBIDDEN naming the principal, the action and the session when the policy says no. */
export function authorize(principal: Principal, action: Action, target?: SessionTarget): void {
  const reason = denialReason(principal, action, target);
  if (reason === undefined) return;
  const verb = ACTIONS[action].verb;
  const object = target ? ` session ${target.name ? `"${target.name}" (${target.id})` : target.id}` : "";
  throw new BatonError("FORBIDDEN", `${principalLabel(principal)} may not ${verb}${object}: ${reason}`, {
    action,
    ...(target ? { sessionId: target.id } : {}),
  });
}

function ownedBy(target: SessionTarget, owner: string): boolean {
  return target.ancestry.some((link) => link.owner === owner);
}

function isDescendant(target: SessionTarget, ancestorId: string): boolean {
  return target.ancestry.slice(1).some((link) => link.id === ancestorId);
}
