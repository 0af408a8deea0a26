import { resolveNodeId } from "./cluster/node-identity.ts";
import { type BatonConfig, ConfigError, isPostgresUrl } from "./core/config.ts";
import { describeError, isBatonError } from "./core/errors.ts";
import { isSecretKey, stringsIn } from "./core/mask.ts";
import { SECRET_SETTINGS } from "./core/settings-schema.ts";
import { prepareAgentBin } from "./runner/agent-bin.ts";
import { readProcessStartTime } from "./runner/process-tree.ts";
import { SdkRunner } from "./runner/sdk-runner.ts";
import { type KeyTemplate, parseKeyTemplates } from "./sessions/keyed-sessions.ts";
import type { SessionDefaults } from "./sessions/session-service.ts";
import { TranscriptStore } from "./sessions/transcript-store.ts";
import { acquireHomeLock, type HomeLock } from "./store/home-lock.ts";
import { IDLE_TRANSACTION_TIMEOUT_MS, openStore, type Store } from "./store/open-store.ts";

/*
 * What the composition root (app.ts) derives from the settings before it wires the parts: the runner, the
 * secrets to scrub, the key templates, the spawn refusal that depends on the machine.
 */

/**
 * Where transcripts live: in the database on PostgreSQL (a cluster's nodes do not share CLAUDE_CONFIG_DIR),
 * in local files on SQLite (one node) unless the `transcripts` setting says otherwise.
 */
export function transcriptsIn(config: BatonConfig): "database" | "local" {
  return config.transcripts ?? (isPostgresUrl(config.db) ? "database" : "local");
}

/**
 * The Agent SDK runner as Baton configures it (also used by the benchmarks, wrapped in a timer). Given the
 * store, and with transcripts in the database, every conversation is mirrored there and resumed from there.
 */
export function createSdkRunner(config: BatonConfig, store?: Store): SdkRunner {
  // In a cluster a batch retried after an outage is written only while the session is still this node's.
  const node = isPostgresUrl(config.db) ? resolveNodeId(config.nodeId, config.home) : undefined;
  const transcripts =
    store && transcriptsIn(config) === "database" ? new TranscriptStore(store, { node }) : undefined;
  return new SdkRunner(
    {
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
      transcripts,
    },
    config.warmPool,
  );
}

/**
 * The values of every secret setting (tokens, keys, bot and webhook secrets) and of the agent environment's
 * secret-looking variables (`*_TOKEN`, `*_KEY`, …; paths and flags there are not secrets): scrubbed from
 * logs and events.
 */
export function knownSecrets(config: BatonConfig): string[] {
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
export function keyTemplatesFrom(config: BatonConfig): KeyTemplate[] {
  try {
    return parseKeyTemplates(config.keyTemplates);
  } catch (error) {
    const field = isBatonError(error) ? String(error.details?.field ?? "keyTemplates") : "keyTemplates";
    throw new ConfigError(field, describeError(error));
  }
}

/**
 * Why `bypassPermissions` cannot work on this machine, if it cannot: the `claude` CLI refuses to start as
 * root unless its environment has IS_SANDBOX=1 (measured; see agent-sdk-notes).
 */
export function bypassRefusal(config: BatonConfig): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  if ((config.agentEnv.IS_SANDBOX ?? process.env.IS_SANDBOX) === "1") return undefined;
  return (
    "bypassPermissions cannot run here: Baton runs as root and the claude CLI refuses that mode as root " +
    'unless IS_SANDBOX=1 is in the agent\'s environment (set agentEnv: {IS_SANDBOX: "1"} only inside a ' +
    "sandbox, or run Baton as an ordinary user)"
  );
}

/** What a spawn gets when it leaves a limit out, and what it may not ask for (settings `default*`). */
export function sessionDefaultsFrom(config: BatonConfig): SessionDefaults {
  return {
    maxBudgetUsd: config.defaultMaxBudgetUsd,
    maxTurns: config.defaultMaxTurns,
    idleTimeoutMs: config.defaultIdleTimeoutMs,
    permissionMode: config.defaultPermissionMode,
    allowedRoots: config.allowedRoots,
    maxQueue: config.maxQueue,
    bypassRefusal: bypassRefusal(config),
  };
}

/**
 * The store, and on SQLite the home lock, taken before anything reads the database: a second server on the
 * same SQLite file would resume, and kill, the first one's sessions. PostgreSQL is not locked (a cluster's
 * nodes share it): see docs/architecture.md, "One server per database".
 */
export async function openDatabase(
  config: BatonConfig,
): Promise<{ homeLock: HomeLock | undefined; store: Store }> {
  const homeLock = isPostgresUrl(config.db)
    ? undefined
    : acquireHomeLock(config.db, {
        pid: process.pid,
        startTime: readProcessStartTime(process.pid),
        host: config.host,
        port: config.port,
      });
  // A node frozen mid-transaction holds the cluster's writes until PostgreSQL ends its transaction: after
  // half a lease (at least 5 s), so the other nodes can adopt its sessions when the lease runs out.
  const idleTransactionTimeoutMs = Math.max(IDLE_TRANSACTION_TIMEOUT_MS, config.nodeLeaseMs / 2);
  const store = await openStore(config.db, { idleTransactionTimeoutMs }).catch((error: unknown) => {
    homeLock?.release();
    throw error;
  });
  return { homeLock, store };
}
