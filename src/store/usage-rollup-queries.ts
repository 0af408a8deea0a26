import { sql } from "kysely";
import type { Executor } from "./schema.ts";
import { selectRawUsage, type UsageFilter, type UsageGrouping, type UsageSums } from "./usage-queries.ts";

/**
 * `GET /usage` from the per-day roll-ups (migration 011). Whole UTC days of the range are summed from
 * `usage_daily` (a few rows per day); a partial first or last day is summed from the raw records, which
 * are few. Distinct session counts cannot be added up, so they come from one COUNT(DISTINCT) over
 * `usage_daily_sessions` and the partial days' records together.
 */

const DAY_MS = 86_400_000;

/** The whole days of [from, to) as [first, end) day strings, and the partial edges outside them. */
function splitRange(filter: UsageFilter) {
  const startsADay = (iso: string) => Date.parse(iso) % DAY_MS === 0;
  const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  const fromMs = filter.from ? Date.parse(filter.from) : undefined;
  const toMs = filter.to ? Date.parse(filter.to) : undefined;
  const first =
    fromMs === undefined ? "0000-00-00" : dayOf(startsADay(filter.from ?? "") ? fromMs : fromMs + DAY_MS);
  const end = toMs === undefined ? "9999-99-99" : dayOf(toMs);
  const edges: Array<{ from?: string; to?: string }> = [];
  if (filter.from && !startsADay(filter.from))
    edges.push({ from: filter.from, to: `${first}T00:00:00.000Z` });
  if (filter.to && !startsADay(filter.to)) edges.push({ from: `${end}T00:00:00.000Z`, to: filter.to });
  return { first, end, edges };
}

const ROLLUP_KEYS: Record<UsageGrouping | "all", string> = {
  owner: "owner",
  tree: "root_session_id",
  model: "model",
  day: "day",
  all: "''",
};
const RAW_KEYS: Record<UsageGrouping | "all", string> = {
  ...ROLLUP_KEYS,
  day: "substr(ended_at, 1, 10)",
};

/** Usage summed per key of `groupBy` (most expensive first), and over the whole range. */
export async function selectUsageRollup(
  db: Executor,
  filter: UsageFilter,
): Promise<{ rows: Array<UsageSums & { key: string }>; total: UsageSums }> {
  const { first, end, edges } = splitRange(filter);
  // A range inside one day has no whole day: its records are few, sum them directly.
  if (first >= end) return selectRawUsage(db, filter);
  const [rows, total] = await Promise.all([
    sumGroups(db, { filter, groupBy: filter.groupBy, first, end, edges }),
    sumGroups(db, { filter, groupBy: "all", first, end, edges }),
  ]);
  const { key: _all, ...sums } = total.get("") ?? { ...emptySums(), key: "" };
  return {
    rows: [...rows.values()].sort((a, b) => b.costUsd - a.costUsd || a.key.localeCompare(b.key)),
    total: sums,
  };
}

/** What a roll-up reads: whole days [first, end) from the day tables, the partial `edges` from the records. */
interface RollupSpan {
  filter: UsageFilter;
  groupBy: UsageGrouping | "all";
  first: string;
  end: string;
  edges: Array<{ from?: string; to?: string }>;
}

async function sumGroups(
  db: Executor,
  { filter, groupBy, first, end, edges }: RollupSpan,
): Promise<Map<string, UsageSums & { key: string }>> {
  const key = sql.raw(ROLLUP_KEYS[groupBy]);
  const turns = sql.raw(groupBy === "model" ? "model_turns" : "turns");
  const owner = filter.owner ? sql`and owner = ${filter.owner}` : sql``;
  const daily = await sql<Record<string, unknown>>`
    select ${key} as key, sum(cost_usd) as cost_usd, sum(input_tokens) as input_tokens,
      sum(output_tokens) as output_tokens, sum(cache_read_tokens) as cache_read_tokens,
      sum(cache_write_tokens) as cache_write_tokens, sum(${turns}) as turns
    from usage_daily where day >= ${first} and day < ${end} ${owner}
    ${groupBy === "all" ? sql`` : sql`group by ${key}`}`.execute(db);
  const found = new Map<string, UsageSums & { key: string }>();
  const add = (rowKey: string, sums: Omit<UsageSums, "sessions">) => {
    const into = found.get(rowKey) ?? { ...emptySums(), key: rowKey };
    into.costUsd += sums.costUsd;
    into.inputTokens += sums.inputTokens;
    into.outputTokens += sums.outputTokens;
    into.cacheReadTokens += sums.cacheReadTokens;
    into.cacheWriteTokens += sums.cacheWriteTokens;
    into.turns += sums.turns;
    found.set(rowKey, into);
  };
  for (const row of daily.rows) add(String(row.key), numbersOf(row));
  for (const edge of edges) {
    const raw = await selectRawUsage(db, {
      ...filter,
      ...edge,
      groupBy: groupBy === "all" ? "owner" : groupBy,
    });
    if (groupBy === "all") add("", raw.total);
    else for (const row of raw.rows) add(row.key, row);
  }
  for (const [rowKey, sessions] of await countSessions(db, { filter, groupBy, first, end, edges }))
    if (found.has(rowKey)) (found.get(rowKey) as UsageSums).sessions = sessions;
  return found;
}

async function countSessions(
  db: Executor,
  { filter, groupBy, first, end, edges }: RollupSpan,
): Promise<Map<string, number>> {
  const owner = filter.owner ? sql`and owner = ${filter.owner}` : sql``;
  const rawParts = edges.map(
    (edge) => sql`union all select ${sql.raw(RAW_KEYS[groupBy])} as key, session_id from usage_turns
      where ended_at >= ${edge.from ?? ""} and ended_at < ${edge.to ?? "9999"} ${owner}`,
  );
  const result = await sql<{ key: unknown; sessions: unknown }>`
    select key, count(distinct session_id) as sessions from (
      select ${sql.raw(ROLLUP_KEYS[groupBy])} as key, session_id from usage_daily_sessions
      where day >= ${first} and day < ${end} ${owner}
      ${rawParts.length > 0 ? sql.join(rawParts, sql` `) : sql``}
    ) as spans group by key`.execute(db);
  return new Map(result.rows.map((row) => [String(row.key), Number(row.sessions)]));
}

function numbersOf(row: Record<string, unknown>): Omit<UsageSums, "sessions"> {
  return {
    costUsd: Number(row.cost_usd ?? 0),
    inputTokens: Number(row.input_tokens ?? 0),
    outputTokens: Number(row.output_tokens ?? 0),
    cacheReadTokens: Number(row.cache_read_tokens ?? 0),
    cacheWriteTokens: Number(row.cache_write_tokens ?? 0),
    turns: Number(row.turns ?? 0),
  };
}

function emptySums(): UsageSums {
  return {
    costUsd: 0,
    inputTokens: 0,
    outputTokens: 0,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    turns: 0,
    sessions: 0,
  };
}
