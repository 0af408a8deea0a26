import { PERMISSION_MODE_RANK } from "../access/spawn-scope.ts";
import type { Session, SessionConfig } from "../sessions/session-schema.ts";
import { isDescendant } from "./session-neighbours.ts";
import { type ToolContext, ToolRefusal } from "./tool-definition.ts";

/**
 * An agent may act on (kill, clear, approve for) only the sessions it spawned and their descendants: a
 * session cannot stop or steer its siblings' work, nor approve its own tool calls. External MCP clients
 * act for a person and are not limited. Resolves to the target.
 */
export async function requireDescendant(
  context: ToolContext,
  idOrName: string,
  verb: string,
): Promise<Session> {
  const target = await context.client.get(idOrName);
  const self = context.self;
  if (!self) return target;
  const who = target.name ? `"${target.name}" (${target.id})` : target.id;
  if (target.id === self) throw new ToolRefusal(`refused: you cannot ${verb} yourself`);
  if (!(await isDescendant(context.client, self, target))) {
    throw new ToolRefusal(
      `refused: ${who} is not one of your descendants; you may only ${verb} sessions you spawned (or that they spawned)`,
    );
  }
  return target;
}

export function labelOf(session: Session): string {
  return session.name ? `"${session.name}" (${session.id})` : session.id;
}

interface ChildPermissions {
  permissionMode?: SessionConfig["permissionMode"];
  allowedTools?: string[];
  disallowedTools?: string[];
}

/**
 * The permissions of a child an agent spawns: never more than its own. Baton enforces the same rule on the
 * agent's token (src/access/spawn-scope.ts); checking here too gives the agent a plain refusal in its own
 * terms, and lets an external MCP client (a person) pass its choices through.
 * The child inherits the parent's mode and banned tools; a mode or pre-approved tool beyond the parent's is
 * refused. External clients act for a person and pass their choices through.
 */
export function childPermissions(parent: Session | undefined, requested: ChildPermissions): ChildPermissions {
  if (!parent) return requested;
  const own = parent.config as Partial<SessionConfig>;
  const ownMode = own.permissionMode ?? "default";
  const mode = requested.permissionMode ?? ownMode;
  if ((PERMISSION_MODE_RANK[mode] ?? 3) > (PERMISSION_MODE_RANK[ownMode] ?? 0)) {
    throw new ToolRefusal(`refused: permissionMode ${mode} allows more than your own (${ownMode})`);
  }
  const ownAllowed = new Set(own.allowedTools ?? []);
  const extra = (requested.allowedTools ?? []).filter((tool) => !ownAllowed.has(tool));
  if (extra.length > 0) {
    throw new ToolRefusal(
      `refused: you may pre-approve only tools you have yourself; not ${extra.join(", ")}`,
    );
  }
  return {
    permissionMode: mode,
    ...(requested.allowedTools ? { allowedTools: requested.allowedTools } : {}),
    ...(own.disallowedTools?.length ? { disallowedTools: own.disallowedTools } : {}),
  };
}
