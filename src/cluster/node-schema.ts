import { z } from "zod";

/** One Baton node as `GET /nodes` and `baton nodes` show it. */
export const NodeSchema = z.object({
  id: z.string(),
  url: z.string(),
  startedAt: z.string(),
  /** Its last heartbeat. */
  lastSeenAt: z.string(),
  /** Sessions with a live `claude` process on it (as of its last heartbeat). */
  liveSessions: z.number().int().nonnegative(),
  /** False once its lease has expired: another node adopts (or adopted) its sessions. */
  alive: z.boolean(),
  /** True for the node that answered. */
  self: z.boolean(),
});
export type BatonNode = z.infer<typeof NodeSchema>;

export const NodeListSchema = z.array(NodeSchema);
