import { join } from "node:path";
import { AccessControl } from "./access/access-control.ts";
import { Authenticator } from "./access/authenticator.ts";
import { Logins } from "./access/logins.ts";
import { SessionDirectory } from "./access/session-directory.ts";
import { ensureTokenFile } from "./access/token-file.ts";
import { BrowserGuard } from "./api/browser-guard.ts";
import { buildServer } from "./api/build-server.ts";
import { spawnAsPrincipal } from "./api/spawn-as.ts";
import { createCapacity, resourcesOf } from "./app-capacity.ts";
import {
  createSdkRunner,
  keyTemplatesFrom,
  knownSecrets,
  openDatabase,
  sessionDefaultsFrom,
} from "./app-config.ts";
import type { Baton, CreateOptions } from "./app-types.ts";
import { BatonClient } from "./client/baton-client.ts";
import { joinCluster } from "./cluster/join-cluster.ts";
import { buildServedTools } from "./coordination/agent-tools.ts";
import type { BatonConfig } from "./core/config.ts";
import { effectiveConfig } from "./core/effective-config.ts";
import { describeError } from "./core/errors.ts";
import { createLogger } from "./core/logger.ts";
import { makeSecretScrubber } from "./core/mask.ts";
import { KeyedSerial } from "./core/serial.ts";
import { VERSION } from "./core/version.ts";
import { EventLog } from "./events/event-log.ts";
import { RetentionPruner } from "./events/retention.ts";
import { LockService } from "./locks/lock-service.ts";
import { Notifier } from "./notify/notifier.ts";
import { BatonMetrics } from "./ops/metrics.ts";
import { startTracing } from "./ops/tracing.ts";
import { warnIfNoModelAccess } from "./runner/model-access.ts";
import { SdkRunner } from "./runner/sdk-runner.ts";
import { CoordinationCommands } from "./sessions/coordination-commands.ts";
import { credentialId, modelCredentialsOf } from "./sessions/credential-id.ts";
import { KeyedSessions } from "./sessions/keyed-sessions.ts";
import { LiveRuns } from "./sessions/live-runs.ts";
import { PermissionBroker } from "./sessions/permission-broker.ts";
import { RunSupervisor } from "./sessions/run-supervisor.ts";
import { SessionLifecycle } from "./sessions/session-lifecycle.ts";
import { SessionService } from "./sessions/session-service.ts";
import { SlotScheduler } from "./sessions/slot-scheduler.ts";
import { TreeBudgetLedger } from "./sessions/tree-ledger.ts";
import { WorktreeManager } from "./worktrees/worktree-manager.ts";

export type { Baton, CreateOptions } from "./app-types.ts";

/** The composition root: the only place that knows every concrete part. */
export async function createBaton(config: BatonConfig, options: CreateOptions = {}): Promise<Baton> {
  const scrub = makeSecretScrubber(knownSecrets(config));
  const logger = options.logger ?? createLogger(config.logLevel, scrub);
  const tracing = await startTracing(process.env, { version: VERSION, logger }); // OTEL_* variables
  const { homeLock, store } = await openDatabase(config);
  const log = await EventLog.open(store, scrub, {
    onGap: (gap) => logger.warn(gap, `event feed caught up seqs ${gap.from}-${gap.to} from the log`),
  });
  // The URL agents call back on is known once the server listens (the port may be 0, chosen by the OS),
  // which is before any agent process starts; it is read only by agent start-up and the served tools.
  const address = { url: `http://${config.host}:${config.port}` };
  let draining = false;
  // With no token configured, the admin token lives in <home>/token (0600): the local CLI reads it.
  const adminToken = config.token ?? ensureTokenFile(config.home);
  const authenticator = new Authenticator({
    store,
    adminToken,
    adminFromFile: config.token === undefined,
    tokens: config.tokens,
  });
  const directory = new SessionDirectory(store, log.bus);
  const clientWith = (token: string) => new BatonClient({ url: address.url, token });
  const reportError = (error: unknown, context: string) =>
    logger.error({ err: error }, `${context}: ${describeError(error)}`);

  // The session domain: one serial queue per session shared by every part that changes a session, the
  // lifecycle rules, the live-run table, slots, permissions and tree budgets; then the parts that use them.
  const serial = new KeyedSerial();
  const lifecycle = new SessionLifecycle({ store, log, serial, onError: reportError });
  const runs = new LiveRuns();
  // On PostgreSQL, one node of a cluster: ownership, fencing, heartbeats, the shared bus (src/cluster).
  const cluster = joinCluster(config, {
    store,
    log,
    runs,
    supervisor: () => supervisor,
    memory: () => capacity.memory,
    url: () => address.url,
    info: (message) => logger.info(message),
    warn: (message) => logger.warn(message),
    onError: reportError,
  });
  const permissions = new PermissionBroker({ store, log, serial, lifecycle, mailbox: cluster.mailbox });
  // While the model credential is limited (credential-limits.ts) no turn starts: spawns queue.
  const blocked = () => supervisor.limits.blockedNow() !== undefined;
  const runner = options.runner ?? createSdkRunner(config, store);
  const capacity = createCapacity(config, runner, () => runs.pids());
  const scheduler = new SlotScheduler({
    store,
    log,
    limits: config,
    blocked,
    memory: capacity.memory,
    placement: cluster.placement,
  });
  const modelCredentials = modelCredentialsOf(config);
  const treeBudget = new TreeBudgetLedger({ db: store.db, isLive: (id) => runs.has(id) });
  const locks = new LockService({
    store,
    log,
    sessions: lifecycle,
    mailbox: cluster.mailbox,
    node: cluster.ownership?.node,
    timeoutMs: config.lockTimeoutMs,
    onError: reportError,
  });
  const supervisor = new RunSupervisor({
    store,
    log,
    runner,
    credential: () => credentialId(modelCredentials),
    settings: config,
    throttle: capacity.throttle,
    memoryWaits: () => capacity.memory.waitingSince(),
    serial,
    lifecycle,
    runs,
    permissions,
    scheduler,
    treeBudget,
    // Each process gets a token of its own (never an admin's): from its shell, through `baton` or curl, and
    // through the coordination tools, it can do exactly what its session may (src/access/policy.ts).
    prepareAgent: async (sessionId, withTools) => {
      const token = await authenticator.mintAgentToken(sessionId);
      return {
        env: { BATON_URL: address.url, BATON_SESSION_ID: sessionId, BATON_TOKEN: token },
        tools: withTools ? buildServedTools(clientWith(token), sessionId) : [],
      };
    },
    // Workspace locks: file edits take the file's lock first; a settled turn releases what it held.
    checkToolCall: (sessionId, call) => locks.checkToolCall(sessionId, call),
    onTurnSettled: (sessionId) => locks.releaseSession(sessionId),
    onError: reportError,
    tracer: tracing?.turns,
    ownership: cluster.ownership,
    mailbox: cluster.mailbox,
  });
  capacity.memory.connect({
    releaseIdleRun: (graceMs) => supervisor.releaseIdle(graceMs),
    releaseSpare: () => runner.releaseSpare?.() ?? Promise.resolve(false),
    retryQueue: () => supervisor.drainQueue(),
  });
  const worktrees = new WorktreeManager({
    store,
    log,
    serial,
    root: join(config.home, "worktrees"),
    onError: reportError,
  });
  const sessions = new SessionService({
    store,
    log,
    serial,
    lifecycle,
    permissions,
    supervisor,
    treeBudget,
    workspace: worktrees,
    defaults: sessionDefaultsFrom(config),
  });
  const keyed = new KeyedSessions(sessions, keyTemplatesFrom(config));
  const access = new AccessControl({
    authenticator,
    logins: new Logins(store, authenticator),
    directory,
    resolve: (idOrName) => sessions.resolve(idOrName),
  });
  const retention = new RetentionPruner({
    store,
    policy: { maxEvents: config.retentionMaxEvents, maxAgeMs: config.retentionMaxAgeMs },
    onError: (error) => reportError(error, "event retention"),
  });
  const notifier = new Notifier({
    store,
    log,
    sessions,
    config,
    logger,
    access,
    keyed,
    // Telegram's Approve/Deny buttons answer through the same broker as the API and the CLI.
    permissionResolver: {
      resolve: async (idOrName, requestId, answer) => {
        const session = await sessions.resolve(idOrName);
        await permissions.answer(session.id, requestId, {
          decision: answer.behavior,
          by: answer.by,
          ...(answer.message ? { message: answer.message } : {}),
        });
      },
    },
  });
  const coordination = new CoordinationCommands({ store, log, serial, supervisor, sessions });
  const metrics = new BatonMetrics({
    store,
    log,
    liveProcesses: () => supervisor.liveCount,
    livePids: () => runs.pids(),
    warmSpares: () => runner.warmSpares?.().ready ?? 0,
  });
  const server = await buildServer({
    sessions,
    permissions,
    locks,
    log,
    durable: () => store.durable(),
    sseHeartbeatMs: config.sseHeartbeatMs,
    fanoutProcess: config.fanoutProcess,
    logger,
    access,
    allowedOrigins: config.allowedOrigins,
    guard: new BrowserGuard({
      boundHost: config.host,
      allowedHosts: config.allowedHosts,
      allowedOrigins: config.allowedOrigins,
    }),
    spawnAs: spawnAsPrincipal(sessions),
    keyed,
    rateLimits: { spawnPerMinute: config.spawnRatePerMinute, sendPerMinute: config.sendRatePerMinute },
    version: VERSION,
    liveProcesses: () => supervisor.liveCount,
    warmSpares: () => runner.warmSpares?.() ?? { size: 0, ready: 0 },
    resourcesOf: (sessionId) => resourcesOf(runs.get(sessionId)?.process?.pid),
    isDraining: () => draining,
    coordination,
    mcpTools: ({ token, principal }) =>
      buildServedTools(clientWith(token), principal.role === "agent" ? principal.sessionId : undefined),
    effectiveConfig: () => effectiveConfig(config),
    metrics: { metrics, public: config.metricsPublic },
    store,
    ...(notifier.slackEndpoint ? { slack: notifier.slackEndpoint } : {}),
    tracing,
    membership: cluster.membership,
  });

  let stopping: Promise<void> | undefined;
  return {
    config,
    store,
    log,
    sessions,
    supervisor,
    server,
    notifier,
    logger,
    access,
    adminToken,
    async reloadCredentials(next) {
      Object.assign(modelCredentials, modelCredentialsOf(next));
      if (runner instanceof SdkRunner) runner.setModelCredentials(modelCredentials);
      await supervisor.limits.credentialsReloaded();
    },
    async listen() {
      const listening = await server.listen({ host: config.host, port: config.port });
      address.url = listening.replace("[::1]", "localhost");
      homeLock?.announce(address.url);
      if (!options.runner) warnIfNoModelAccess(config, logger);
      await retention.start();
      worktrees.start();
      await cluster.start();
      await supervisor.recover();
      await locks.start();
      await notifier.start();
      supervisor.startQueueSweeper();
      return address.url;
    },
    stop() {
      stopping ??= (async () => {
        draining = true;
        // Before the processes close: locks stay held for the sessions the next start resumes.
        locks.stop();
        worktrees.stop();
        await notifier.stopInbound();
        await supervisor.stop();
        await cluster.stop();
        await capacity.memory.stop();
        await server.close();
        await tracing?.stop(); // after the last turn and request ended: their spans are exported
        metrics.stop();
        await notifier.stop();
        await retention.stop();
        directory.stop();
        await store.close();
        homeLock?.release();
      })();
      return stopping;
    },
  };
}
