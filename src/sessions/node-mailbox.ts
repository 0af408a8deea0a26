/**
 * What one node of a cluster asks the node that runs a session's process to do now:
 * - `dispatch`: deliver the session's pending messages (a send, a wake-up);
 * - `interrupt`: cut its current turn short;
 * - `close`: end its process (the session was killed, or cleared between turns);
 * - `permission_answered`: a pending permission request of the session was answered.
 */
export type RunCommand =
  | { kind: "dispatch" | "interrupt" | "close"; sessionId: string }
  | { kind: "permission_answered"; sessionId: string; requestId: string };

/**
 * The way to the other nodes of a cluster on one PostgreSQL database (src/cluster implements it; absent on
 * SQLite, where one process runs every session). The database stays the source of truth: a command only
 * tells the node that runs a session to act now on what the sender already committed, and every node's
 * heartbeat catches up on whatever it missed (pending messages, killed rows, answered permissions, locks).
 */
export interface NodeMailbox {
  /**
   * Sends `command` to the node that owns the session when that is another node with a live lease; resolves
   * false (and sends nothing) when the session is this node's or no live node's: the caller acts itself.
   */
  forward(command: RunCommand): Promise<boolean>;
  /** Tells the other nodes that locks were released: sessions waiting there may now be granted. */
  announceLocksReleased(): Promise<void>;
  /** `listener` runs when another node released locks, and on each heartbeat (a missed notice). */
  onLocksReleased(listener: () => void): void;
}
