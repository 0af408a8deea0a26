import type { Db } from "../store/schema.ts";
import { type SessionRow, selectChildrenOf, selectSessionById } from "../store/session-queries.ts";
import { configOf } from "./session-mapper.ts";

/** The root of a session's tree (following parentSessionId up; guards against a corrupt cycle). */
export async function findRoot(db: Db, session: SessionRow): Promise<SessionRow> {
  let current = session;
  const seen = new Set([current.id]);
  while (current.parent_session_id && !seen.has(current.parent_session_id)) {
    const parent = await selectSessionById(db, current.parent_session_id);
    if (!parent) break;
    seen.add(parent.id);
    current = parent;
  }
  return current;
}

/** Every session of the tree under `root`, root included. */
export async function treeMembers(db: Db, root: SessionRow): Promise<SessionRow[]> {
  const members = [root];
  let frontier = [root.id];
  while (frontier.length > 0) {
    const children = await selectChildrenOf(db, frontier);
    const fresh = children.filter((child) => !members.some((member) => member.id === child.id));
    members.push(...fresh);
    frontier = fresh.map((child) => child.id);
  }
  return members;
}

export interface TreeBudget {
  root: SessionRow;
  limitUsd: number;
  spentUsd: number;
  members: SessionRow[];
}

/** The tree budget that applies to `session`, if its root set `maxTreeBudgetUsd`. */
export async function treeBudgetOf(db: Db, session: SessionRow): Promise<TreeBudget | undefined> {
  const root = await findRoot(db, session);
  const limitUsd = configOf(root).maxTreeBudgetUsd;
  if (limitUsd === undefined) return undefined;
  const members = await treeMembers(db, root);
  const spentUsd = members.reduce((sum, member) => sum + Number(member.cost_usd), 0);
  return { root, limitUsd, spentUsd, members };
}
