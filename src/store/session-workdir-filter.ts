import { type Expression, type SqlBool, sql } from "kysely";

/**
 * A session's `workDir` lives inside the JSON `config` column (no column of its own: that would need a
 * migration, and a second copy of a value the config already holds). Baton writes that column with
 * JSON.stringify, so the key and its value appear verbatim as `"workDir":"<JSON-escaped path>"`: the closing
 * quote makes the match exact rather than a prefix, and the same text inside another string value (a prompt)
 * is escaped (`\"workDir\"`) and never matches. LIKE behaves alike in SQLite and PostgreSQL except that
 * SQLite's ignores ASCII case, so callers re-check the parsed value (SessionService.list does).
 */
export function configHasWorkDir(workDir: string): Expression<SqlBool> {
  const needle = `"workDir":${JSON.stringify(workDir)}`;
  const pattern = `%${needle.replace(/[!%_]/g, (char) => `!${char}`)}%`;
  return sql<SqlBool>`${sql.ref("config")} like ${pattern} escape '!'`;
}
