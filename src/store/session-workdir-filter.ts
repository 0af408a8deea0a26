import { type Expression, type Kysely, PostgresAdapter, type RawBuilder, type SqlBool, sql } from "kysely";

/**
 * A session's `workDir` lives inside the JSON `config` column (no column of its own: a second copy of a
 * value the config already holds). Both dialects index the extracted value (migration 014), so a
 * `workDir` filter reads one keyset page like every other filter instead of scanning every config
 * (measured with 100,000 sessions: 46 ms through LIKE, under 1 ms through the index). The expression must
 * be written exactly as the index's, hence one function for both.
 */
export function workDirOf(db: Pick<Kysely<unknown>, "getExecutor">): RawBuilder<string> {
  return db.getExecutor().adapter instanceof PostgresAdapter
    ? sql<string>`(${sql.ref("config")}::json ->> 'workDir')`
    : sql<string>`json_extract(${sql.ref("config")}, '$.workDir')`;
}

/** Sessions whose `config.workDir` is exactly `workDir`. */
export function configHasWorkDir(
  db: Pick<Kysely<unknown>, "getExecutor">,
  workDir: string,
): Expression<SqlBool> {
  return sql<SqlBool>`${workDirOf(db)} = ${workDir}`;
}
