import type { BatonConfig } from "../core/config.ts";
import { isPostgresUrl } from "../core/config.ts";
import type { EventLog } from "../events/event-log.ts";
import type { LiveRuns } from "../sessions/live-runs.ts";
import type { NodeMailbox } from "../sessions/node-mailbox.ts";
import type { RunContext } from "../sessions/run-context.ts";
import { installSessionFence } from "../sessions/session-fence.ts";
import type { Store } from "../store/open-store.ts";
import { ClusterMailbox } from "./cluster-mailbox.ts";
import { abandonRun, ClusterNode, type Membership } from "./cluster-node.ts";
import { resolveNodeId } from "./node-identity.ts";
import { type MemoryReading, NodePlacement } from "./node-placement.ts";
import { SessionOwnership } from "./session-ownership.ts";
import { SoloNode } from "./solo-node.ts";

export interface ClusterParts {
  /** Set on PostgreSQL: the supervisor's recovery claims only sessions no live node owns. */
  ownership: SessionOwnership | undefined;
  /** Set on PostgreSQL: which node a new process should start on (node-placement.ts). */
  placement: NodePlacement | undefined;
  membership: Membership;
  /** Set on PostgreSQL: commands for sessions another node runs are sent there. */
  mailbox: NodeMailbox | undefined;
  /** Once listening, before recovery: registers the node so its lease is live before it claims anything. */
  start(): Promise<void>;
  /** After the supervisor closed its processes. */
  stop(): Promise<void>;
}

export interface JoinDeps {
  store: Store;
  log: EventLog;
  runs: LiveRuns;
  /** The run supervisor (created after the fence it depends on, hence late). */
  supervisor(): RunContext;
  /** This node's memory admission (built after the cluster parts, hence late). */
  memory(): MemoryReading;
  url(): string;
  info(message: string): void;
  warn(message: string): void;
  onError(error: unknown, context: string): void;
}

/**
 * On PostgreSQL every `baton serve` is a node of one Baton: it gets an id, a lease, a fence on its status
 * writes and a share of the bus (cluster-node.ts). On SQLite the home lock already makes it the only one:
 * nothing is written, and `GET /nodes` describes this process.
 */
export function joinCluster(config: BatonConfig, deps: JoinDeps): ClusterParts {
  const id = resolveNodeId(config.nodeId, config.home);
  if (!isPostgresUrl(config.db)) {
    const solo = new SoloNode(() => {
      const headroom = deps.memory().headroomBytes();
      const freeMemoryMb = headroom === undefined ? null : Math.floor(headroom / (1024 * 1024));
      return { id, url: deps.url(), liveSessions: deps.runs.size, freeMemoryMb };
    });
    const nothing = async (): Promise<void> => undefined;
    return {
      ownership: undefined,
      placement: undefined,
      membership: solo,
      mailbox: undefined,
      start: nothing,
      stop: nothing,
    };
  }
  const ownership = new SessionOwnership({
    node: id,
    store: deps.store,
    runs: deps.runs,
    onFenced: (sessionId) => {
      const supervisor = deps.supervisor();
      supervisor.detach(sessionId, "stopping a session another node adopted", () =>
        abandonRun(supervisor, sessionId),
      );
    },
  });
  installSessionFence(deps.log, ownership);
  const mailbox = new ClusterMailbox({ node: id, store: deps.store, onError: deps.onError });
  const placement = new NodePlacement({ node: id, runs: deps.runs, memory: deps.memory });
  let node: ClusterNode | undefined;
  const membership: Membership = { list: async () => (node ? node.list() : []) };
  return {
    ownership,
    placement,
    membership,
    mailbox,
    start: async () => {
      node = new ClusterNode({
        dbUrl: config.db,
        settings: config,
        ownership,
        mailbox,
        placement,
        runs: deps.supervisor(),
        url: deps.url,
        info: deps.info,
        warn: deps.warn,
        onError: deps.onError,
      });
      await node.start();
    },
    stop: async () => node?.stop(),
  };
}
