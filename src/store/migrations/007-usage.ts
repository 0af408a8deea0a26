import type { Kysely } from "kysely";

/**
 * Usage accounting. `usage_turns`: one row per model per finished turn (tokens and cost, with the session's
 * owner and tree root copied in, so roll-ups never walk the session tree). `tool_call_counts`: calls per
 * tool name since the database was created (the `baton_tool_calls_total` counter survives restarts and
 * event retention). `usage_totals`: the same sums per owner, kept up to date in the transaction that adds
 * the turn rows, so a scrape reads one row per owner instead of summing every record.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("usage_turns")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("turn_id", "text", (c) => c.notNull())
    .addColumn("session_id", "text", (c) => c.notNull())
    .addColumn("owner", "text", (c) => c.notNull())
    .addColumn("root_session_id", "text", (c) => c.notNull())
    .addColumn("model", "text", (c) => c.notNull())
    .addColumn("input_tokens", "bigint", (c) => c.notNull())
    .addColumn("output_tokens", "bigint", (c) => c.notNull())
    .addColumn("cache_read_tokens", "bigint", (c) => c.notNull())
    .addColumn("cache_write_tokens", "bigint", (c) => c.notNull())
    .addColumn("cost_usd", "double precision", (c) => c.notNull())
    .addColumn("requests", "integer", (c) => c.notNull())
    .addColumn("first_of_turn", "integer", (c) => c.notNull())
    .addColumn("ended_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("usage_turns_ended_at").on("usage_turns").columns(["ended_at"]).execute();
  await db.schema.createIndex("usage_turns_root").on("usage_turns").columns(["root_session_id"]).execute();
  await db.schema
    .createTable("usage_totals")
    .addColumn("owner", "text", (c) => c.primaryKey())
    .addColumn("cost_usd", "double precision", (c) => c.notNull())
    .addColumn("input_tokens", "bigint", (c) => c.notNull())
    .addColumn("output_tokens", "bigint", (c) => c.notNull())
    .addColumn("cache_read_tokens", "bigint", (c) => c.notNull())
    .addColumn("cache_write_tokens", "bigint", (c) => c.notNull())
    .execute();
  await db.schema
    .createTable("tool_call_counts")
    .addColumn("tool", "text", (c) => c.primaryKey())
    .addColumn("calls", "bigint", (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("tool_call_counts").execute();
  await db.schema.dropTable("usage_totals").execute();
  await db.schema.dropTable("usage_turns").execute();
}
