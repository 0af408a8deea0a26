import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  incrementToolCalls,
  insertUsageTurns,
  selectMaxRequestCost,
  selectRawUsage,
  selectToolCallCounts,
  USAGE_GROUPINGS,
  type UsageGrouping,
  type UsageSums,
  type UsageTurnRow,
} from "../../src/store/usage-queries.ts";
import { selectUsageRollup } from "../../src/store/usage-rollup-queries.ts";
import { BACKENDS, useDatabase } from "../support/store-backends.ts";

/** 60 turns over 3 owners, 2 trees per owner, 3 days and 2 models; turn 7k uses both models (two rows). */
function sampleRows(): UsageTurnRow[] {
  const rows: UsageTurnRow[] = [];
  for (let turn = 0; turn < 60; turn++) {
    const owner = ["alice", "bob", "carol"][turn % 3] as string;
    const base = {
      turn_id: `turn-${turn}`,
      session_id: `ses-${turn % 9}`,
      owner,
      root_session_id: `root-${owner}-${turn % 2}`,
      requests: 1 + (turn % 4),
      ended_at: new Date(Date.UTC(2026, 10, 28 + (turn % 3), turn % 24, 5)).toISOString(),
    };
    const models = turn % 7 === 0 ? ["opus", "haiku"] : [turn % 2 ? "opus" : "sonnet"];
    for (const [index, model] of models.entries()) {
      rows.push({
        ...base,
        id: `turn-${turn}:${index}`,
        first_of_turn: index === 0 ? 1 : 0,
        model,
        input_tokens: 1000 + turn * 13 + index,
        output_tokens: 200 + turn * 7,
        cache_read_tokens: turn * 3,
        cache_write_tokens: turn % 5,
        cost_usd: 0.001 * (turn + 1) + index * 0.0005,
      });
    }
  }
  return rows;
}

function keyOf(row: UsageTurnRow, groupBy: UsageGrouping): string {
  if (groupBy === "owner") return row.owner;
  if (groupBy === "tree") return row.root_session_id;
  if (groupBy === "model") return row.model;
  return row.ended_at.slice(0, 10);
}

/** The roll-up computed by hand from the per-turn records. */
function expectedSums(rows: UsageTurnRow[]): UsageSums {
  return {
    costUsd: rows.reduce((sum, row) => sum + row.cost_usd, 0),
    inputTokens: rows.reduce((sum, row) => sum + row.input_tokens, 0),
    outputTokens: rows.reduce((sum, row) => sum + row.output_tokens, 0),
    cacheReadTokens: rows.reduce((sum, row) => sum + row.cache_read_tokens, 0),
    cacheWriteTokens: rows.reduce((sum, row) => sum + row.cache_write_tokens, 0),
    turns: new Set(rows.map((row) => row.turn_id)).size,
    sessions: new Set(rows.map((row) => row.session_id)).size,
  };
}

function assertSums(actual: UsageSums, expected: UsageSums, what: string): void {
  assert.ok(Math.abs(actual.costUsd - expected.costUsd) < 1e-9, `${what}: cost`);
  const { costUsd: _cost, ...counts } = actual;
  const { costUsd: _expectedCost, ...expectedCounts } = expected;
  assert.deepEqual({ ...counts, key: undefined }, { ...expectedCounts, key: undefined }, what);
}

for (const backend of BACKENDS) {
  describe(`usage records on ${backend.name}`, { skip: backend.skip }, () => {
    test("every grouping's roll-up (per-day tables) equals the sums of the per-turn records, in range and per owner, after a reopen", async (t) => {
      const database = await useDatabase(t, backend);
      const store = await database.open();
      const rows = sampleRows();
      // In several batches, as turns arrive: the per-owner running totals must add up across them.
      for (let start = 0; start < rows.length; start += 7)
        await store.transaction((tx) => insertUsageTurns(tx, rows.slice(start, start + 7)));
      await store.close();
      const reopened = await database.open(); // as a restarted Baton reads them
      const from = "2026-11-29T00:00:00.000Z";
      const to = "2026-11-30T12:00:00.000Z";
      for (const groupBy of USAGE_GROUPINGS) {
        // Whole days, partial days at either end, inside one day, per owner.
        const ranges: Array<{ from: string; to: string }> = [
          { from, to },
          { from: "2026-11-28T06:00:00.000Z", to },
          { from: "2026-11-28T03:00:00.000Z", to: "2026-11-28T20:00:00.000Z" },
        ];
        const filters: Array<{ from?: string; to?: string; owner?: string }> = [
          {},
          ...ranges,
          { owner: "bob" },
          { ...ranges[1], owner: "alice" },
        ];
        for (const filter of filters) {
          const chosen = rows.filter(
            (row) =>
              (!filter.from || !filter.to || (row.ended_at >= filter.from && row.ended_at < filter.to)) &&
              (!filter.owner || row.owner === filter.owner),
          );
          const report = await selectUsageRollup(reopened.db, { groupBy, ...filter });
          const keys = [...new Set(chosen.map((row) => keyOf(row, groupBy)))].sort();
          assert.deepEqual(report.rows.map((row) => row.key).sort(), keys, `${groupBy} keys`);
          for (const row of report.rows) {
            const mine = chosen.filter((candidate) => keyOf(candidate, groupBy) === row.key);
            assertSums(row, expectedSums(mine), `${groupBy}=${row.key} ${JSON.stringify(filter)}`);
          }
          assertSums(report.total, expectedSums(chosen), `${groupBy} total ${JSON.stringify(filter)}`);
          const raw = await selectRawUsage(reopened.db, { groupBy, ...filter });
          assert.deepEqual(
            report.rows.map((row) => [row.key, row.turns, row.sessions]),
            raw.rows.map((row) => [row.key, row.turns, row.sessions]),
          );
          const costs = report.rows.map((row) => row.costUsd);
          assert.deepEqual(
            costs,
            [...costs].sort((a, b) => b - a),
            "dearest first",
          );
        }
      }
      assert.deepEqual(await selectUsageRollup(reopened.db, { groupBy: "owner", owner: "nobody" }), {
        rows: [],
        total: expectedSums([]),
      });
    });

    test("tool call counters add up under concurrent increments; the per-request cost estimate", async (t) => {
      const store = await (await useDatabase(t, backend)).open();
      await Promise.all(
        Array.from({ length: 20 }, (_, index) =>
          store.transaction((tx) => incrementToolCalls(tx, index % 4 === 0 ? "Write" : "Bash")),
        ),
      );
      assert.deepEqual(Object.fromEntries(await selectToolCallCounts(store.db)), { Bash: 15, Write: 5 });
      await insertUsageTurns(store.db, sampleRows());
      // root-alice-0 holds turns 0, 6, 12, …, 54: the dearest per request is turn 48 ($0.049, one request).
      assert.ok(Math.abs((await selectMaxRequestCost(store.db, "root-alice-0")) - 0.049) < 1e-12);
      assert.equal(await selectMaxRequestCost(store.db, "no-such-root"), 0);
    });
  });
}
