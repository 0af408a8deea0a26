import type { BatonClient } from "../client/baton-client.ts";
import type { Session } from "../sessions/session-schema.ts";

/** Every status but killed: the sessions that can still act (or be resumed) in a workDir. */
const NOT_KILLED = "queued,running,waiting,completed,failed";
const PAGE = 500;
/** Trees deeper than this are not walked (a guard against a corrupt parent cycle). */
const MAX_DEPTH = 100;

/** The direct children of a session (by id or name), newest first. */
export async function listChildren(client: BatonClient, idOrName: string): Promise<Session[]> {
  const parent = await client.get(idOrName);
  return (await client.list({ parentSessionId: parent.id, limit: PAGE })).sessions;
}

/**
 * The other sessions that share a workDir: not killed, the caller excluded. `workDir` defaults to the
 * caller's own; one of the two must be given.
 */
export async function listOthers(
  client: BatonClient,
  self: string | undefined,
  workDir: string | undefined,
): Promise<{ workDir: string; others: Session[] }> {
  const me = self ? await client.get(self) : undefined;
  const dir = workDir ?? (me?.config as { workDir?: string } | undefined)?.workDir;
  if (!dir) throw new Error("give a workDir (or call this as a Baton session to use your own)");
  const page = await client.list({ workDir: dir, status: NOT_KILLED, limit: PAGE });
  return { workDir: dir, others: page.sessions.filter((session) => session.id !== me?.id) };
}

/** True when `target` descends from `ancestorId` (a child, grandchild, …; not the session itself). */
export async function isDescendant(
  client: BatonClient,
  ancestorId: string,
  target: Session,
): Promise<boolean> {
  let parentId = target.parentSessionId;
  const seen = new Set<string>();
  while (parentId && !seen.has(parentId) && seen.size < MAX_DEPTH) {
    if (parentId === ancestorId) return true;
    seen.add(parentId);
    parentId = (await client.get(parentId)).parentSessionId;
  }
  return false;
}
