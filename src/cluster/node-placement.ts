import type { LiveRuns } from "../sessions/live-runs.ts";
import type { StartPlacement } from "../sessions/slot-scheduler.ts";
import type { NodeRow } from "../store/node-queries.ts";

const MB = 1024 * 1024;

/** This node's own memory reading (memory-admission.ts), read when a decision is made. */
export interface MemoryReading {
  /** Memory left above the reserve once starts in flight and one more process are counted; undefined: unreadable. */
  headroomBytes(): number | undefined;
  /** What one more agent process is expected to take. */
  expectedFootprint(): number;
}

/**
 * Placement by free memory, the one rule (docs/deployment.md): a node leaves a new process to a peer when a
 * live peer's last heartbeat reported more free memory than this node has now by more than one process's
 * footprint; the best such peer takes it from the queue on its own drain (every node drains when it hears
 * of queued work or a freed slot, and on each heartbeat). The margin keeps two nodes with about the same
 * memory from handing work back and forth. A session whose process is still warm here is never left: its
 * follow-up needs no new process. A node that cannot read its memory neither leaves work nor is left any.
 */
export class NodePlacement implements StartPlacement {
  private readonly node: string;
  private readonly runs: LiveRuns;
  private readonly memory: () => MemoryReading;
  private peers: NodeRow[] = [];

  constructor(deps: { node: string; runs: LiveRuns; memory: () => MemoryReading }) {
    this.node = deps.node;
    this.runs = deps.runs;
    this.memory = deps.memory;
  }

  /** The heartbeat's read of the `nodes` table. */
  learn(rows: readonly NodeRow[]): void {
    this.peers = rows.filter((row) => row.id !== this.node);
  }

  /** What this node reports in its heartbeat, in MB; null when unreadable. */
  freeMemoryMb(): number | null {
    const headroom = this.memory().headroomBytes();
    return headroom === undefined ? null : Math.floor(headroom / MB);
  }

  leaveToPeer(sessionId: string): boolean {
    if (this.runs.has(sessionId)) return false;
    return this.betterPeer() !== undefined;
  }

  /** The live peer with the most free memory, if it beats this node by more than one footprint. */
  betterPeer(now = new Date().toISOString()): NodeRow | undefined {
    const memory = this.memory();
    const own = memory.headroomBytes();
    if (own === undefined) return undefined;
    let best: NodeRow | undefined;
    for (const peer of this.peers) {
      if (peer.lease_expires_at < now || peer.free_memory_mb === null) continue;
      if (!best || peer.free_memory_mb > (best.free_memory_mb ?? 0)) best = peer;
    }
    if (!best || best.free_memory_mb === null) return undefined;
    return best.free_memory_mb * MB > own + memory.expectedFootprint() ? best : undefined;
  }
}
