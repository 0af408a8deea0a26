import { type Kysely, sql } from "kysely";

/**
 * Per-day roll-ups of `usage_turns`, kept in the transaction that adds the turn rows (usage-rollup-queries.ts),
 * so `GET /usage` sums a few rows per day instead of every record. `usage_daily`: the sums per (UTC day,
 * owner, tree root, model); `turns` counts each turn once (its first row), `model_turns` every row.
 * `usage_daily_sessions`: which sessions had usage that day (per model), for the distinct session counts
 * that sums cannot give. Existing records are rolled up here once.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("usage_daily")
    .addColumn("day", "text", (c) => c.notNull())
    .addColumn("owner", "text", (c) => c.notNull())
    .addColumn("root_session_id", "text", (c) => c.notNull())
    .addColumn("model", "text", (c) => c.notNull())
    .addColumn("cost_usd", "double precision", (c) => c.notNull())
    .addColumn("input_tokens", "bigint", (c) => c.notNull())
    .addColumn("output_tokens", "bigint", (c) => c.notNull())
    .addColumn("cache_read_tokens", "bigint", (c) => c.notNull())
    .addColumn("cache_write_tokens", "bigint", (c) => c.notNull())
    .addColumn("turns", "bigint", (c) => c.notNull())
    .addColumn("model_turns", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("usage_daily_pk", ["day", "owner", "root_session_id", "model"])
    .execute();
  await db.schema
    .createTable("usage_daily_sessions")
    .addColumn("day", "text", (c) => c.notNull())
    .addColumn("session_id", "text", (c) => c.notNull())
    .addColumn("model", "text", (c) => c.notNull())
    .addColumn("owner", "text", (c) => c.notNull())
    .addColumn("root_session_id", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("usage_daily_sessions_pk", [
      "day",
      "session_id",
      "model",
      "owner",
      "root_session_id",
    ])
    .execute();
  await sql`insert into usage_daily
    select substr(ended_at, 1, 10), owner, root_session_id, model, sum(cost_usd), sum(input_tokens),
      sum(output_tokens), sum(cache_read_tokens), sum(cache_write_tokens), sum(first_of_turn), count(*)
    from usage_turns group by substr(ended_at, 1, 10), owner, root_session_id, model`.execute(db);
  await sql`insert into usage_daily_sessions
    select distinct substr(ended_at, 1, 10), session_id, model, owner, root_session_id
    from usage_turns`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("usage_daily_sessions").execute();
  await db.schema.dropTable("usage_daily").execute();
}
