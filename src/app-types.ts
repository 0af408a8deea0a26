import type { FastifyInstance } from "fastify";
import type { AccessControl } from "./access/access-control.ts";
import type { BatonConfig } from "./core/config.ts";
import type { Logger } from "./core/logger.ts";
import type { EventLog } from "./events/event-log.ts";
import type { Notifier } from "./notify/notifier.ts";
import type { RunSupervisor } from "./sessions/run-supervisor.ts";
import type { AgentRunner } from "./sessions/runner-port.ts";
import type { SessionService } from "./sessions/session-service.ts";
import type { Store } from "./store/open-store.ts";

/* What createBaton (app.ts) takes and gives: a running Baton as its owner (main.ts, tests, benches) sees it. */

export interface Baton {
  readonly config: BatonConfig;
  readonly store: Store;
  readonly log: EventLog;
  readonly sessions: SessionService;
  readonly supervisor: RunSupervisor;
  readonly server: FastifyInstance;
  /** Notifications, webhooks, completion callbacks and Telegram. */
  readonly notifier: Notifier;
  readonly logger: Logger;
  /** Who may do what: tokens, logins, the session directory (src/access). */
  readonly access: AccessControl;
  /** The admin token: configured, or the one in `<home>/token`. */
  readonly adminToken: string;
  /** Listens on the configured host and port; resolves to the base URL. */
  listen(): Promise<string>;
  /** Graceful: refuse new work, close every agent process so it can resume, flush and close the store. */
  stop(): Promise<void>;
  /** A reloaded configuration (SIGHUP): new model credentials for new processes; parked sessions retry. */
  reloadCredentials(next: BatonConfig): Promise<void>;
}

export interface CreateOptions {
  runner?: AgentRunner;
  logger?: Logger;
}
