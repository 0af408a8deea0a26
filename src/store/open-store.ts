import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { Kysely, PostgresDialect, SqliteDialect } from "kysely";
import { type Migration, Migrator } from "kysely/migration";
import pg from "pg";
import * as initial from "./migrations/001-initial.ts";
import * as notify from "./migrations/002-notify.ts";
import * as permissions from "./migrations/003-permissions.ts";
import * as waits from "./migrations/004-waits.ts";
import * as locks from "./migrations/005-locks.ts";
import * as access from "./migrations/006-access.ts";
import * as usage from "./migrations/007-usage.ts";
import * as keys from "./migrations/008-keys.ts";
import * as fingerprint from "./migrations/009-agent-fingerprint.ts";
import * as credentialLimits from "./migrations/010-credential-limits.ts";
import * as usageDaily from "./migrations/011-usage-daily.ts";
import * as slackInbound from "./migrations/012-slack-inbound.ts";
import * as nodes from "./migrations/013-nodes.ts";
import * as listIndexes from "./migrations/014-session-list-indexes.ts";
import * as transcripts from "./migrations/015-transcripts.ts";
import * as nodeFreeMemory from "./migrations/016-node-free-memory.ts";
import * as interruptRequests from "./migrations/017-interrupt-requests.ts";
import type { Database, Db, Tx } from "./schema.ts";
import { openSqlite } from "./sqlite-driver.ts";
import type { WalSync } from "./wal-sync.ts";

export type Dialect = "sqlite" | "postgres";

/** Numbered migrations, applied in name order; never edit one that has shipped, add the next number. */
const MIGRATIONS: Record<string, Migration> = {
  "001-initial": initial,
  "002-notify": notify,
  "003-permissions": permissions,
  "004-waits": waits,
  "005-locks": locks,
  "006-access": access,
  "007-usage": usage,
  "008-keys": keys,
  "009-agent-fingerprint": fingerprint,
  "010-credential-limits": credentialLimits,
  "011-usage-daily": usageDaily,
  "012-slack-inbound": slackInbound,
  "013-nodes": nodes,
  "014-session-list-indexes": listIndexes,
  "015-transcripts": transcripts,
  "016-node-free-memory": nodeFreeMemory,
  "017-interrupt-requests": interruptRequests,
};

export interface Store {
  readonly db: Db;
  readonly dialect: Dialect;
  /**
   * Runs `work` in one transaction: a state change and the event recording it commit together or not at all.
   * Resolves once the commit is durable.
   */
  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * Resolves once every commit made so far is on disk. Writes outside `transaction` and reads that may
   * show another caller's fresh commit await it before anything leaves Baton (see WalSync for SQLite;
   * PostgreSQL commits are durable when they return).
   */
  durable(): Promise<void>;
  close(): Promise<void>;
}

/** How long PostgreSQL lets a transaction of Baton's sit idle by default (see openPostgres). */
export const IDLE_TRANSACTION_TIMEOUT_MS = 5000;

export async function openStore(
  location: string,
  options: { idleTransactionTimeoutMs?: number } = {},
): Promise<Store> {
  const isPostgres = /^postgres(ql)?:\/\//.test(location);
  const idleTimeout = options.idleTransactionTimeoutMs ?? IDLE_TRANSACTION_TIMEOUT_MS;
  const { db, walSync } = isPostgres
    ? { db: openPostgres(location, idleTimeout), walSync: undefined }
    : openSqliteFile(location);
  await migrate(db);
  const durable = async () => walSync?.durable();
  let closed: Promise<void> | undefined;
  return {
    db,
    dialect: isPostgres ? "postgres" : "sqlite",
    async transaction(work) {
      const result = await db.transaction().execute(async (tx) => {
        if (isPostgres) await lockWriters(tx);
        return work(tx);
      });
      await durable();
      return result;
    },
    durable,
    close: () => {
      closed ??= db.destroy().then(() => walSync?.close());
      return closed;
    },
  };
}

function openSqliteFile(path: string): { db: Db; walSync: WalSync } {
  mkdirSync(dirname(path), { recursive: true });
  const { database, walSync } = openSqlite(path);
  return { db: new Kysely<Database>({ dialect: new SqliteDialect({ database }) }), walSync };
}

/**
 * Every write transaction takes the writers' row lock (lockWriters), so a node frozen inside one (a paused
 * VM or process) would stop every other node's writes until it runs again, adoption included. PostgreSQL
 * ends a transaction that sits idle past `idleTransactionTimeoutMs` and with it the lock. Baton's own
 * transactions wait only on their statements (the lock service's cluster mutex, on the few writes it
 * covers), far below that; the node that wakes finds its connection gone: the statement it was in fails,
 * the next gets a fresh connection.
 */
function openPostgres(url: string, idleTransactionTimeoutMs: number): Db {
  const pool = new pg.Pool({
    connectionString: url,
    max: 8,
    options: `-c idle_in_transaction_session_timeout=${Math.round(idleTransactionTimeoutMs)}`,
    // int8 (seq, counters) arrives as a string by default; our values stay far below 2^53.
    types: { getTypeParser: (oid, format) => (oid === 20 ? Number : pg.types.getTypeParser(oid, format)) },
  });
  // A connection the network or a database restart breaks emits "error", and an "error" nobody listens
  // for ends the process. The query running on it (if any) already rejects with that error, and the pool
  // drops a broken client (an idle one with the pool's own "error"): the next query gets a fresh
  // connection, so a restart or a short cut costs the queries it hit, never Baton itself.
  pool.on("connect", (client) => client.on("error", () => undefined));
  pool.on("error", () => undefined);
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

/**
 * Baton's writes check, then act (a live name is free, the queue has room) and rely on SQLite's single
 * writer to keep that atomic. PostgreSQL runs transactions side by side (READ COMMITTED, a pool), so without
 * this two spawns with one name both passed the check and the loser hit the unique index as a 500 instead of
 * NAME_TAKEN. Taking the event counter's row lock first serialises writers as SQLite does; each later
 * statement reads a fresh snapshot, so it sees everything the previous writer committed.
 */
async function lockWriters(tx: Tx): Promise<void> {
  await tx.selectFrom("counters").select("value").where("name", "=", "event_seq").forUpdate().execute();
}

async function migrate(db: Db): Promise<void> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => MIGRATIONS } });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((result) => result.status === "Error")?.migrationName ?? "unknown";
    throw new Error(`database migration ${failed} failed: ${(error as Error).message}`);
  }
}
