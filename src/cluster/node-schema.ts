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
  /**
   * Memory it has left for one more agent process (MemAvailable less the reserve, starts in flight and one
   * footprint), in MB, as of its last heartbeat; null when it cannot read it or is stopping. Placement
   * prefers the node with the most (docs/deployment.md).
   */
  freeMemoryMb: z.number().int().nullable(),
  /** False once its lease has expired: another node adopts (or adopted) its sessions. */
  alive: z.boolean(),
  /** True for the node that answered. */
  self: z.boolean(),
});
export type BatonNode = z.infer<typeof NodeSchema>;

export const NodeListSchema = z.array(NodeSchema);
