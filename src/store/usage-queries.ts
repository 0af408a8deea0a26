import { type ExpressionBuilder, sql } from "kysely";
import type { Database, Executor, UsageTotalsTable, UsageTurnsTable } from "./schema.ts";
import { addToDailyRollups } from "./usage-daily-writes.ts";

export type UsageTurnRow = UsageTurnsTable;
type UsageTotalsRow = UsageTotalsTable;

export const USAGE_GROUPINGS = ["owner", "tree", "day", "model"] as const;
export type UsageGrouping = (typeof USAGE_GROUPINGS)[number];

export interface UsageFilter {
  groupBy: UsageGrouping;
  /** Inclusive lower bound on `ended_at` (ISO). */
  from?: string | undefined;
  /** Exclusive upper bound on `ended_at` (ISO). */
  to?: string | undefined;
  owner?: string | undefined;
}

export interface UsageSums {
  costUsd: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  turns: number;
  sessions: number;
}

/** Cost and tokens summed since the database was created. */
export type UsageTotals = Omit<UsageSums, "turns" | "sessions">;

/**
 * Adds turn rows and, in the same transaction, their sums to the owners' running totals and to the per-day
 * roll-ups (usage-daily-writes.ts).
 */
export async function insertUsageTurns(tx: Executor, rows: readonly UsageTurnRow[]): Promise<void> {
  if (rows.length === 0) return;
  await tx
    .insertInto("usage_turns")
    .values([...rows])
    .execute();
  await addToDailyRollups(tx, rows);
  const byOwner = new Map<string, UsageTotalsRow>();
  for (const row of rows) {
    const total = byOwner.get(row.owner) ?? {
      owner: row.owner,
      cost_usd: 0,
      input_tokens: 0,
      output_tokens: 0,
      cache_read_tokens: 0,
      cache_write_tokens: 0,
    };
    total.cost_usd += row.cost_usd;
    total.input_tokens += row.input_tokens;
    total.output_tokens += row.output_tokens;
    total.cache_read_tokens += row.cache_read_tokens;
    total.cache_write_tokens += row.cache_write_tokens;
    byOwner.set(row.owner, total);
  }
  for (const total of byOwner.values()) {
    await tx
      .insertInto("usage_totals")
      .values(total)
      .onConflict((conflict) =>
        conflict.column("owner").doUpdateSet((eb) => ({
          cost_usd: eb("usage_totals.cost_usd", "+", total.cost_usd),
          input_tokens: eb("usage_totals.input_tokens", "+", total.input_tokens),
          output_tokens: eb("usage_totals.output_tokens", "+", total.output_tokens),
          cache_read_tokens: eb("usage_totals.cache_read_tokens", "+", total.cache_read_tokens),
          cache_write_tokens: eb("usage_totals.cache_write_tokens", "+", total.cache_write_tokens),
        })),
      )
      .execute();
  }
}

export async function incrementToolCalls(tx: Executor, tool: string): Promise<void> {
  await tx
    .insertInto("tool_call_counts")
    .values({ tool, calls: 1 })
    .onConflict((conflict) =>
      conflict.column("tool").doUpdateSet({ calls: (eb) => eb("tool_call_counts.calls", "+", 1) }),
    )
    .execute();
}

export async function selectToolCallCounts(db: Executor): Promise<Map<string, number>> {
  const rows = await db.selectFrom("tool_call_counts").selectAll().execute();
  return new Map(rows.map((row) => [row.tool, Number(row.calls)]));
}

/** A grouping's key column: the day is the UTC date prefix of the ISO `ended_at`. */
function keyOf(groupBy: UsageGrouping) {
  switch (groupBy) {
    case "owner":
      return sql<string>`owner`;
    case "tree":
      return sql<string>`root_session_id`;
    case "model":
      return sql<string>`model`;
    case "day":
      return sql<string>`substr(ended_at, 1, 10)`;
  }
}

/**
 * The sums of a group. A turn has one row per model it used, all with the same owner, tree and day: in
 * those groups it counts once (its first row); in a model's group each of its rows is that model's turn.
 */
function sums(eb: ExpressionBuilder<Database, "usage_turns">, groupBy?: UsageGrouping) {
  return [
    eb.fn.sum<number>("cost_usd").as("cost_usd"),
    eb.fn.sum<number>("input_tokens").as("input_tokens"),
    eb.fn.sum<number>("output_tokens").as("output_tokens"),
    eb.fn.sum<number>("cache_read_tokens").as("cache_read_tokens"),
    eb.fn.sum<number>("cache_write_tokens").as("cache_write_tokens"),
    groupBy === "model"
      ? eb.fn.countAll<number>().as("turns")
      : eb.fn.sum<number>("first_of_turn").as("turns"),
    eb.fn.count<number>("session_id").distinct().as("sessions"),
  ] as const;
}

type SumRow = {
  cost_usd: unknown;
  input_tokens: unknown;
  output_tokens: unknown;
  cache_read_tokens: unknown;
  cache_write_tokens: unknown;
  turns: unknown;
  sessions: unknown;
};

function toSums(row: SumRow | undefined): UsageSums {
  return {
    costUsd: Number(row?.cost_usd ?? 0),
    inputTokens: Number(row?.input_tokens ?? 0),
    outputTokens: Number(row?.output_tokens ?? 0),
    cacheReadTokens: Number(row?.cache_read_tokens ?? 0),
    cacheWriteTokens: Number(row?.cache_write_tokens ?? 0),
    turns: Number(row?.turns ?? 0),
    sessions: Number(row?.sessions ?? 0),
  };
}

/**
 * Usage summed per key of `groupBy` straight from the per-turn records (most expensive first), and over the
 * whole range. `GET /usage` reads the day roll-ups instead (usage-rollup-queries.ts), which use this for
 * partial days.
 */
export async function selectRawUsage(
  db: Executor,
  filter: UsageFilter,
): Promise<{ rows: Array<UsageSums & { key: string }>; total: UsageSums }> {
  let base = db.selectFrom("usage_turns");
  if (filter.from) base = base.where("ended_at", ">=", filter.from);
  if (filter.to) base = base.where("ended_at", "<", filter.to);
  if (filter.owner) base = base.where("owner", "=", filter.owner);
  const key = keyOf(filter.groupBy);
  const [grouped, total] = await Promise.all([
    base
      .select((eb) => [key.as("key"), ...sums(eb, filter.groupBy)])
      .groupBy(key)
      .orderBy("cost_usd", "desc")
      .orderBy("key")
      .execute(),
    base.select((eb) => sums(eb)).executeTakeFirst(),
  ]);
  return {
    rows: grouped.map((row) => ({ key: String(row.key), ...toSums(row) })),
    total: toSums(total),
  };
}

/** Cost and tokens per owner since the database was created: the source of the Prometheus counters. */
export async function selectUsageTotals(db: Executor): Promise<Array<UsageTotals & { owner: string }>> {
  const rows = await db.selectFrom("usage_totals").selectAll().execute();
  return rows.map((row) => ({
    owner: row.owner,
    costUsd: Number(row.cost_usd),
    inputTokens: Number(row.input_tokens),
    outputTokens: Number(row.output_tokens),
    cacheReadTokens: Number(row.cache_read_tokens),
    cacheWriteTokens: Number(row.cache_write_tokens),
  }));
}

/** The dearest single model request seen in a tree (a turn's cost over its requests), 0 when none. */
export async function selectMaxRequestCost(db: Executor, rootSessionId: string): Promise<number> {
  const row = await db
    .selectFrom("usage_turns")
    .select((eb) => eb.fn.max<number>(sql<number>`cost_usd / requests`).as("max_cost"))
    .where("root_session_id", "=", rootSessionId)
    .where("requests", ">", 0)
    .executeTakeFirst();
  return Number(row?.max_cost ?? 0);
}
