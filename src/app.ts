import type { FastifyInstance } from "fastify";
import { buildServer } from "./api/build-server.ts";
import type { BatonConfig } from "./core/config.ts";
import { describeError } from "./core/errors.ts";
import { createLogger, type Logger } from "./core/logger.ts";
import { VERSION } from "./core/version.ts";
import { EventLog } from "./events/event-log.ts";
import { SdkRunner } from "./runner/sdk-runner.ts";
import { RunSupervisor } from "./sessions/run-supervisor.ts";
import type { AgentRunner } from "./sessions/runner-port.ts";
import { SessionService } from "./sessions/session-service.ts";
import { openStore, type Store } from "./store/open-store.ts";

export interface Baton {
  readonly config: BatonConfig;
  readonly store: Store;
  readonly log: EventLog;
  readonly sessions: SessionService;
  readonly supervisor: RunSupervisor;
  readonly server: FastifyInstance;
  readonly logger: Logger;
  /** Listens on the configured host and port; resolves to the base URL. */
  listen(): Promise<string>;
  /** Graceful: refuse new work, close every agent process so it can resume, flush and close the store. */
  stop(): Promise<void>;
}

export interface CreateOptions {
  runner?: AgentRunner;
  logger?: Logger;
}

/** The composition root: the only place that knows every concrete part. */
export async function createBaton(config: BatonConfig, options: CreateOptions = {}): Promise<Baton> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const store = await openStore(config.db);
  const log = await EventLog.open(store);
  let baseUrl = `http://${config.host}:${config.port}`;
  let draining = false;
  const runner =
    options.runner ??
    new SdkRunner({
      anthropicApiKey: config.anthropicApiKey,
      anthropicBaseUrl: config.anthropicBaseUrl,
      claudeCodeOauthToken: config.claudeCodeOauthToken,
      agentEnv: config.agentEnv,
      quietAgents: config.quietAgents,
      claudeExecutable: config.claudeExecutable,
      closeGraceMs: Math.min(config.shutdownGraceMs, 5000),
    });
  const supervisor = new RunSupervisor({
    store,
    log,
    runner,
    settings: {
      maxConcurrent: config.maxConcurrent,
      maxPerOwner: config.maxPerOwner,
      keepAliveMs: config.keepAliveMs,
      idleAction: config.idleAction,
      recoveryPolicy: config.recoveryPolicy,
    },
    agentEnvFor: (sessionId) => ({
      BATON_URL: baseUrl,
      BATON_SESSION_ID: sessionId,
      ...(config.token ? { BATON_TOKEN: config.token } : {}),
    }),
    onError: (error, context) => logger.error({ err: error }, `${context}: ${describeError(error)}`),
  });
  const sessions = new SessionService({
    store,
    log,
    supervisor,
    defaults: {
      maxBudgetUsd: config.defaultMaxBudgetUsd,
      maxTurns: config.defaultMaxTurns,
      idleTimeoutMs: config.defaultIdleTimeoutMs,
      permissionMode: config.defaultPermissionMode,
      allowedRoots: config.allowedRoots,
      maxQueue: config.maxQueue,
    },
  });
  const server = await buildServer({
    sessions,
    log,
    logger,
    token: config.token,
    version: VERSION,
    liveProcesses: () => supervisor.liveCount,
    isDraining: () => draining,
  });

  let stopping: Promise<void> | undefined;
  return {
    config,
    store,
    log,
    sessions,
    supervisor,
    server,
    logger,
    async listen() {
      const address = await server.listen({ host: config.host, port: config.port });
      baseUrl = address.replace("[::1]", "localhost");
      await supervisor.recover();
      return baseUrl;
    },
    stop() {
      stopping ??= (async () => {
        draining = true;
        await supervisor.stop();
        await server.close();
        await store.close();
      })();
      return stopping;
    },
  };
}
