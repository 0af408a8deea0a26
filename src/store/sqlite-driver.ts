import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { SqliteDatabase, SqliteStatement } from "kysely";
import { WalSync } from "./wal-sync.ts";

/**
 * Adapts Node's built-in `node:sqlite` to the statement shape Kysely's SqliteDialect expects. We use the
 * built-in module instead of better-sqlite3 so installing Baton never compiles a native addon (CI and user
 * machines often lack a toolchain or matching headers). See docs/architecture.md, "Storage".
 */
export function openSqlite(
  path: string,
  fsync?: ConstructorParameters<typeof WalSync>[1],
): { database: SqliteDatabase; walSync: WalSync } {
  const db = new DatabaseSync(path);
  // WAL lets readers (event replay, listings) run while a writer commits. NORMAL leaves out only the fsync
  // after each commit, which WalSync does off the event loop: a client told "accepted" still finds its
  // session or message after a power loss (see wal-sync.ts).
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = NORMAL");
  db.exec("PRAGMA foreign_keys = ON");
  db.exec("PRAGMA busy_timeout = 5000");
  const walSync = new WalSync(path, fsync);
  const statements = new Map<string, SqliteStatement>();
  const database: SqliteDatabase = {
    close: () => db.close(),
    prepare(sql: string): SqliteStatement {
      let statement = statements.get(sql);
      if (!statement) {
        statement = wrapStatement(db, db.prepare(sql), walSync);
        if (statements.size > 500) statements.clear();
        statements.set(sql, statement);
      }
      return statement;
    },
  };
  return { database, walSync };
}

type SqlValue = null | number | bigint | string | Uint8Array;

/** Statements that never write; anything else run outside a transaction is taken as a commit of its own. */
const READ_ONLY = /^\s*(select|explain)\b/i;

function wrapStatement(db: DatabaseSync, statement: StatementSync, walSync: WalSync): SqliteStatement {
  const bind = (parameters: ReadonlyArray<unknown>): SqlValue[] => parameters.map(toSqlValue);
  const readOnly = READ_ONLY.test(statement.sourceSQL);
  const isRollback = /^\s*rollback\s*$/i.test(statement.sourceSQL);
  // A commit is the statement that leaves a transaction (other than by rolling back), or a write that ran
  // without one (autocommit). Either way its pages are in the WAL now and await WalSync's fsync.
  const executed = <T>(execute: () => T): T => {
    const inTransaction = db.isTransaction;
    const result = execute();
    if (!db.isTransaction && (inTransaction ? !isRollback : !readOnly)) walSync.noteCommit();
    return result;
  };
  return {
    // A statement "reads" when it yields columns (SELECT, or INSERT/UPDATE ... RETURNING).
    reader: statement.columns().length > 0,
    all: (parameters) => executed(() => statement.all(...bind(parameters))),
    run: (parameters) => executed(() => statement.run(...bind(parameters))),
    iterate: (parameters) => statement.iterate(...bind(parameters)),
  };
}

function toSqlValue(value: unknown): SqlValue {
  if (value === undefined || value === null) return null;
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "string") return value;
  if (value instanceof Uint8Array) return value;
  if (value instanceof Date) return value.toISOString();
  return JSON.stringify(value);
}
