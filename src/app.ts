import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { AccessControl } from "./access/access-control.ts";
import { Authenticator } from "./access/authenticator.ts";
import { Logins } from "./access/logins.ts";
import { principalLabel } from "./access/principal.ts";
import { SessionDirectory } from "./access/session-directory.ts";
import { scopeSpawn } from "./access/spawn-scope.ts";
import { ensureTokenFile } from "./access/token-file.ts";
import { sha256Hex } from "./access/token-hash.ts";
import { BrowserGuard } from "./api/browser-guard.ts";
import { buildServer } from "./api/build-server.ts";
import { BatonClient } from "./client/baton-client.ts";
import { buildServedTools } from "./coordination/agent-tools.ts";
import { type BatonConfig, ConfigError, isPostgresUrl } from "./core/config.ts";
import { effectiveConfig } from "./core/effective-config.ts";
import { describeError, isBatonError } from "./core/errors.ts";
import { createLogger, type Logger } from "./core/logger.ts";
import { isSecretKey, makeSecretScrubber, stringsIn } from "./core/mask.ts";
import { SECRET_SETTINGS } from "./core/settings-schema.ts";
import { VERSION } from "./core/version.ts";
import { EventLog } from "./events/event-log.ts";
import { RetentionPruner } from "./events/retention.ts";
import { LockService } from "./locks/lock-service.ts";
import { Notifier } from "./notify/notifier.ts";
import { BatonMetrics } from "./ops/metrics.ts";
import { prepareAgentBin } from "./runner/agent-bin.ts";
import { warnIfNoModelAccess } from "./runner/model-access.ts";
import { readProcessStartTime } from "./runner/process-tree.ts";
import { SdkRunner } from "./runner/sdk-runner.ts";
import { CoordinationCommands } from "./sessions/coordination-commands.ts";
import { KeyedSessions, type KeyTemplate, parseKeyTemplates } from "./sessions/keyed-sessions.ts";
import { RunSupervisor } from "./sessions/run-supervisor.ts";
import type { AgentRunner } from "./sessions/runner-port.ts";
import { configOf } from "./sessions/session-mapper.ts";
import { SessionService } from "./sessions/session-service.ts";
import { acquireHomeLock } from "./store/home-lock.ts";
import { openStore, type Store } from "./store/open-store.ts";
import { WorktreeManager } from "./worktrees/worktree-manager.ts";

export interface Baton {
  readonly config: BatonConfig;
  readonly store: Store;
  readonly log: EventLog;
  readonly sessions: SessionService;
  readonly supervisor: RunSupervisor;
  readonly server: FastifyInstance;
  /** Notifications, webhooks and completion callbacks; `setPermissionResolver` wires Telegram's buttons. */
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
}

export interface CreateOptions {
  runner?: AgentRunner;
  logger?: Logger;
}

/** The Agent SDK runner as Baton configures it (also used by the benchmarks, wrapped in a timer). */
export function createSdkRunner(config: BatonConfig): SdkRunner {
  return new SdkRunner({
    anthropicApiKey: config.anthropicApiKey,
    anthropicBaseUrl: config.anthropicBaseUrl,
    claudeCodeOauthToken: config.claudeCodeOauthToken,
    agentEnv: config.agentEnv,
    quietAgents: config.quietAgents,
    batonBinDir: prepareAgentBin(config.home),
    claudeExecutable: config.claudeExecutable,
    closeGraceMs: Math.min(config.shutdownGraceMs, 5000),
    outputDeltas: config.outputDeltaMs > 0,
    trustWorkDirs: config.trustWorkDirs,
  });
}

/**
 * The values of every secret setting (tokens, keys, bot and webhook secrets) and of the agent environment's
 * secret-looking variables (`*_TOKEN`, `*_KEY`, …; paths and flags there are not secrets): scrubbed from
 * logs and events.
 */
function knownSecrets(config: BatonConfig): string[] {
  const settings = config as unknown as Record<string, unknown>;
  const agentSecrets = Object.entries(config.agentEnv).filter(([key]) => isSecretKey(key));
  return [
    ...[...SECRET_SETTINGS]
      .filter((name) => name !== "agentEnv")
      .flatMap((name) => stringsIn(settings[name])),
    ...agentSecrets.map(([, value]) => value),
  ];
}

/** The `keyTemplates` setting, each template checked against the session schema (exit 2 naming the field). */
function keyTemplatesFrom(config: BatonConfig): KeyTemplate[] {
  try {
    return parseKeyTemplates(config.keyTemplates);
  } catch (error) {
    const field = isBatonError(error) ? String(error.details?.field ?? "keyTemplates") : "keyTemplates";
    throw new ConfigError(field, describeError(error));
  }
}

/** JSON with object keys sorted, so the same request hashes the same whatever its key order. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner && typeof inner === "object" && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => a.localeCompare(b)))
      : inner,
  );
}

/**
 * Why `bypassPermissions` cannot work on this machine, if it cannot: the `claude` CLI refuses to start as
 * root unless its environment has IS_SANDBOX=1 (measured; see agent-sdk-notes).
 */
function bypassRefusal(config: BatonConfig): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  if ((config.agentEnv.IS_SANDBOX ?? process.env.IS_SANDBOX) === "1") return undefined;
  return (
    "bypassPermissions cannot run here: Baton runs as root and the claude CLI refuses that mode as root " +
    'unless IS_SANDBOX=1 is in the agent\'s environment (set agentEnv: {IS_SANDBOX: "1"} only inside a ' +
    "sandbox, or run Baton as an ordinary user)"
  );
}

/** The composition root: the only place that knows every concrete part. */
export async function createBaton(config: BatonConfig, options: CreateOptions = {}): Promise<Baton> {
  const scrub = makeSecretScrubber(knownSecrets(config));
  const logger = options.logger ?? createLogger(config.logLevel, scrub);
  // One server per SQLite database, taken before anything reads it (a second one would resume, and kill, the
  // first one's sessions). PostgreSQL is not locked: see docs/architecture.md, "One server per database".
  const homeLock = isPostgresUrl(config.db)
    ? undefined
    : acquireHomeLock(config.db, {
        pid: process.pid,
        startTime: readProcessStartTime(process.pid),
        host: config.host,
        port: config.port,
      });
  const store = await openStore(config.db).catch((error: unknown) => {
    homeLock?.release();
    throw error;
  });
  const log = await EventLog.open(store, scrub, {
    onGap: (gap) => logger.warn(gap, `event feed caught up seqs ${gap.from}-${gap.to} from the log`),
  });
  let baseUrl = `http://${config.host}:${config.port}`;
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
  const clientWith = (token: string) => new BatonClient({ url: baseUrl, token });
  const reportError = (error: unknown, context: string) =>
    logger.error({ err: error }, `${context}: ${describeError(error)}`);
  const runner = options.runner ?? createSdkRunner(config);
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
      maxRestarts: config.maxRestarts,
      restartBackoffMs: config.restartBackoffMs,
      stallTimeoutMs: config.stallTimeoutMs,
      queueTimeoutMs: config.queueTimeoutMs,
      outputDeltaMs: config.outputDeltaMs,
    },
    // Each process gets a token of its own (never an admin's): from its shell, through `baton` or curl, and
    // through the coordination tools, it can do exactly what its session may (src/access/policy.ts).
    // baseUrl is known once listening, before any run starts.
    prepareAgent: async (sessionId, withTools) => {
      const token = await authenticator.mintAgentToken(sessionId);
      return {
        env: { BATON_URL: baseUrl, BATON_SESSION_ID: sessionId, BATON_TOKEN: token },
        tools: withTools ? buildServedTools(clientWith(token), sessionId) : [],
      };
    },
    // Workspace locks: file edits take the file's lock first; a settled turn releases what it held.
    checkToolCall: (sessionId, call) => locks.checkToolCall(sessionId, call),
    onTurnSettled: (sessionId) => locks.releaseSession(sessionId),
    onError: reportError,
  });
  const locks = new LockService({
    store,
    log,
    serial: supervisor.serial,
    timeoutMs: config.lockTimeoutMs,
    onError: reportError,
  });
  const worktrees = new WorktreeManager({
    store,
    log,
    serial: supervisor.serial,
    root: join(config.home, "worktrees"),
    onError: reportError,
  });
  const sessions = new SessionService({
    store,
    log,
    supervisor,
    workspace: worktrees,
    defaults: {
      maxBudgetUsd: config.defaultMaxBudgetUsd,
      maxTurns: config.defaultMaxTurns,
      idleTimeoutMs: config.defaultIdleTimeoutMs,
      permissionMode: config.defaultPermissionMode,
      allowedRoots: config.allowedRoots,
      maxQueue: config.maxQueue,
      bypassRefusal: bypassRefusal(config),
    },
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
  const notifier = new Notifier({ store, log, sessions, config, logger, access, keyed });
  // Telegram's Approve/Deny buttons answer through the same broker as the API and the CLI.
  notifier.setPermissionResolver({
    resolve: async (idOrName, requestId, answer) => {
      const session = await sessions.resolve(idOrName);
      await supervisor.permissions.answer(session.id, requestId, {
        decision: answer.behavior,
        by: answer.by,
        ...(answer.message ? { message: answer.message } : {}),
      });
    },
  });
  const coordination = new CoordinationCommands({ store, log, supervisor, sessions });
  const metrics = new BatonMetrics({
    store,
    log,
    liveProcesses: () => supervisor.liveCount,
    livePids: () => supervisor.livePids(),
  });
  const server = await buildServer({
    sessions,
    permissions: supervisor.permissions,
    locks,
    log,
    durable: () => store.durable(),
    sseHeartbeatMs: config.sseHeartbeatMs,
    logger,
    access,
    allowedOrigins: config.allowedOrigins,
    guard: new BrowserGuard({
      boundHost: config.host,
      allowedHosts: config.allowedHosts,
      allowedOrigins: config.allowedOrigins,
    }),
    spawnAs: async (principal, input, options = {}) => {
      const own =
        principal.role === "agent" ? configOf(await sessions.resolve(principal.sessionId)) : undefined;
      const scope = scopeSpawn(principal, input, own);
      const idempotency = options.idempotencyKey
        ? {
            scopedKey: `${principalLabel(principal)}:${options.idempotencyKey}`,
            requestSha256: sha256Hex(canonicalJson(input)),
          }
        : undefined;
      return sessions.spawnOnce(scope.input, { roots: scope.roots, idempotency });
    },
    keyed,
    rateLimits: { spawnPerMinute: config.spawnRatePerMinute, sendPerMinute: config.sendRatePerMinute },
    version: VERSION,
    liveProcesses: () => supervisor.liveCount,
    isDraining: () => draining,
    coordination,
    mcpTools: ({ token, principal }) =>
      buildServedTools(clientWith(token), principal.role === "agent" ? principal.sessionId : undefined),
    effectiveConfig: () => effectiveConfig(config),
    metrics: { metrics, public: config.metricsPublic },
    store,
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
    async listen() {
      const address = await server.listen({ host: config.host, port: config.port });
      baseUrl = address.replace("[::1]", "localhost");
      homeLock?.announce(baseUrl);
      if (!options.runner) warnIfNoModelAccess(config, logger);
      await retention.start();
      worktrees.start();
      await supervisor.recover();
      await locks.start();
      await notifier.start();
      supervisor.startQueueSweeper();
      return baseUrl;
    },
    stop() {
      stopping ??= (async () => {
        draining = true;
        // Before the processes close: locks stay held for the sessions the next start resumes.
        locks.stop();
        worktrees.stop();
        await supervisor.stop();
        await server.close();
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
