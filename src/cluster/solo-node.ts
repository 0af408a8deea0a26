import type { Membership } from "./cluster-node.ts";
import type { BatonNode } from "./node-schema.ts";

type SoloDescription = Pick<BatonNode, "id" | "url" | "liveSessions" | "freeMemoryMb">;

/** SQLite: one node, described without any write (the home lock already makes it the only one). */
export class SoloNode implements Membership {
  private readonly startedAt = new Date().toISOString();
  private readonly describe: () => SoloDescription;

  constructor(describe: () => SoloDescription) {
    this.describe = describe;
  }

  async list(): Promise<BatonNode[]> {
    const self = this.describe();
    const now = new Date().toISOString();
    return [{ ...self, startedAt: this.startedAt, lastSeenAt: now, alive: true, self: true }];
  }
}
