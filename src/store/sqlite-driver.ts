import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { SqliteDatabase, SqliteStatement } from "kysely";

/**
 * Adapts Node's built-in `node:sqlite` to the statement shape Kysely's SqliteDialect expects. We use the
 * built-in module instead of better-sqlite3 so installing Baton never compiles a native addon (CI and user
 * machines often lack a toolchain or matching headers). See docs/architecture.md, "Storage".
 */
export function openSqlite(path: string): SqliteDatabase {
  const db = new DatabaseSync(path);
  // WAL lets readers (event replay, listings) run while a writer commits; FULL fsyncs every commit, because
  // a client that was told "accepted" must find its session or message after a power loss.
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = FULL");
  db.exec("PRAGMA foreign_keys = ON");
  db.exec("PRAGMA busy_timeout = 5000");
  const statements = new Map<string, StatementSync>();
  return {
    close: () => db.close(),
    prepare(sql: string): SqliteStatement {
      let statement = statements.get(sql);
      if (!statement) {
        statement = db.prepare(sql);
        if (statements.size > 500) statements.clear();
        statements.set(sql, statement);
      }
      return wrapStatement(statement);
    },
  };
}

type SqlValue = null | number | bigint | string | Uint8Array;

function wrapStatement(statement: StatementSync): SqliteStatement {
  const bind = (parameters: ReadonlyArray<unknown>): SqlValue[] => parameters.map(toSqlValue);
  return {
    // A statement "reads" when it yields columns (SELECT, or INSERT/UPDATE ... RETURNING).
    reader: statement.columns().length > 0,
    all: (parameters) => statement.all(...bind(parameters)),
    run: (parameters) => statement.run(...bind(parameters)),
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
