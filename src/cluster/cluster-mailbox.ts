import { z } from "zod";
import type { NodeMailbox, RunCommand } from "../sessions/node-mailbox.ts";
import { notifyNodeCommand, selectLiveOwner } from "../store/node-command-queries.ts";
import type { Store } from "../store/open-store.ts";

/** A command on the wire: who sends it, to which node (`*`: every other node), and what. */
const NodeCommandSchema = z.union([
  z.object({
    to: z.string(),
    from: z.string(),
    kind: z.enum(["dispatch", "interrupt", "close"]),
    sessionId: z.string(),
  }),
  z.object({
    to: z.string(),
    from: z.string(),
    kind: z.literal("permission_answered"),
    sessionId: z.string(),
    requestId: z.string(),
  }),
  z.object({ to: z.literal("*"), from: z.string(), kind: z.literal("locks_released") }),
]);
type NodeCommand = z.infer<typeof NodeCommandSchema>;

export interface MailboxDeps {
  node: string;
  store: Store;
  onError(error: unknown, context: string): void;
}

/**
 * The cluster's NodeMailbox on PostgreSQL: commands go out with NOTIFY on one channel, naming their target
 * node; the cluster node's LISTEN connection hands every payload to `receive`, which keeps those for this
 * node and passes them to the run-command handler (run-command-handler.ts) or the lock listeners.
 */
export class ClusterMailbox implements NodeMailbox {
  private readonly deps: MailboxDeps;
  private readonly lockListeners: Array<() => void> = [];
  private handler: ((command: RunCommand) => void) | undefined;

  constructor(deps: MailboxDeps) {
    this.deps = deps;
  }

  async forward(command: RunCommand): Promise<boolean> {
    const { store, node } = this.deps;
    const owner = await selectLiveOwner(store.db, command.sessionId, new Date().toISOString());
    if (!owner || owner === node) return false;
    await this.send({ ...command, to: owner, from: node });
    return true;
  }

  async announceLocksReleased(): Promise<void> {
    await this.send({ to: "*", from: this.deps.node, kind: "locks_released" });
  }

  onLocksReleased(listener: () => void): void {
    this.lockListeners.push(listener);
  }

  /** Who carries out the run commands sent to this node (the cluster node, once the supervisor exists). */
  handleWith(handler: (command: RunCommand) => void): void {
    this.handler = handler;
  }

  /** A payload from the channel: commands for other nodes, and this node's own broadcasts, are ignored. */
  receive(payload: string): void {
    let command: NodeCommand;
    try {
      command = NodeCommandSchema.parse(JSON.parse(payload));
    } catch (error) {
      this.deps.onError(error, "reading a command from another node (ignored)");
      return;
    }
    if (command.from === this.deps.node || (command.to !== this.deps.node && command.to !== "*")) return;
    if (command.kind === "locks_released") {
      this.locksReleased();
      return;
    }
    const { to: _to, from: _from, ...run } = command;
    this.handler?.(run);
  }

  /** Lets every lock listener retry its waiters (a notice from another node, or the heartbeat). */
  locksReleased(): void {
    for (const listener of this.lockListeners) listener();
  }

  private async send(command: NodeCommand): Promise<void> {
    await notifyNodeCommand(this.deps.store.db, JSON.stringify(command));
  }
}
