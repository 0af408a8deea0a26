import { BatonError } from "../core/errors.ts";
import type { SessionConfig, SessionConfigInput } from "../sessions/session-schema.ts";
import type { Principal } from "./principal.ts";

/** How much a permission mode lets an agent do without a human; a child may not outrank its parent. */
export const PERMISSION_MODE_RANK: Readonly<Record<string, number>> = {
  plan: 0,
  dontAsk: 0,
  default: 1,
  acceptEdits: 2,
  bypassPermissions: 3,
};

export interface SpawnScope {
  input: SessionConfigInput;
  /** Extra workDir roots of a `user` principal (on top of `allowedRoots`). */
  roots?: readonly string[];
}

/**
 * What a principal may spawn, applied to the request before the service sees it:
 * - a `user` spawns as its own owner (naming another is 403);
 * - an `agent` spawns its own children: parent = itself, owner inherited, and never more than it has
 *   (budget, turns, permission mode, pre-approved tools), so a held-back agent cannot spawn a freer child.
 * `own` is the agent's own session config (required for agents).
 */
export function scopeSpawn(principal: Principal, input: SessionConfigInput, own?: SessionConfig): SpawnScope {
  if (principal.role === "admin" || principal.role === "viewer") return { input };
  if (input.owner !== undefined && input.owner !== principal.owner) {
    throw forbidden(principal, `owner: may spawn only as owner "${principal.owner}", not "${input.owner}"`);
  }
  if (principal.role === "user") {
    return {
      input: { ...input, owner: principal.owner },
      ...(principal.roots ? { roots: principal.roots } : {}),
    };
  }
  if (input.parentSessionId !== undefined && input.parentSessionId !== principal.sessionId) {
    throw forbidden(principal, "parentSessionId: an agent spawns only its own children");
  }
  if (!own) throw forbidden(principal, "its session no longer exists");
  return { input: childOf(principal, input, own) };
}

function childOf(principal: Principal, input: SessionConfigInput, own: SessionConfig): SessionConfigInput {
  const cap = (field: "maxBudgetUsd" | "maxTurns", requested: number | undefined, limit: number) => {
    if (requested !== undefined && requested > limit) {
      throw forbidden(principal, `${field}: ${requested} is above the spawning agent's own (${limit})`);
    }
    return requested ?? limit;
  };
  const mode = input.permissionMode ?? own.permissionMode;
  if ((PERMISSION_MODE_RANK[mode] ?? 3) > (PERMISSION_MODE_RANK[own.permissionMode] ?? 0)) {
    throw forbidden(
      principal,
      `permissionMode: ${mode} allows more than the agent's own (${own.permissionMode})`,
    );
  }
  const ownAllowed = new Set(own.allowedTools ?? []);
  const extra = (input.allowedTools ?? []).filter((tool) => !ownAllowed.has(tool));
  if (extra.length > 0) {
    throw forbidden(
      principal,
      `allowedTools: the agent may pre-approve only its own tools, not ${extra.join(", ")}`,
    );
  }
  const banned = [...new Set([...(own.disallowedTools ?? []), ...(input.disallowedTools ?? [])])];
  return {
    ...input,
    owner: own.owner,
    parentSessionId: principal.role === "agent" ? principal.sessionId : input.parentSessionId,
    permissionMode: mode,
    maxBudgetUsd: cap("maxBudgetUsd", input.maxBudgetUsd, own.maxBudgetUsd),
    maxTurns: cap("maxTurns", input.maxTurns, own.maxTurns),
    ...(banned.length > 0 ? { disallowedTools: banned } : {}),
  };
}

function forbidden(principal: Principal, reason: string): BatonError {
  const who =
    principal.role === "agent" ? `agent:${principal.sessionId}` : `${principal.role}:${principal.name}`;
  const field = /^(\w+):/.exec(reason)?.[1];
  return new BatonError("FORBIDDEN", `${who} may not spawn this session: ${reason}`, {
    action: "sessions.spawn",
    ...(field ? { field } : {}),
  });
}
