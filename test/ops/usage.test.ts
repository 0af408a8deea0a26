import assert from "node:assert/strict";
import { test } from "node:test";
import type { UsageReport } from "../../src/ops/usage-schema.ts";
import { USAGE_GROUPINGS, type UsageTurnRow } from "../../src/store/usage-queries.ts";
import { type Harness, startHarness } from "../support/harness.ts";
import { runCli } from "../support/run-cli.ts";
import { isTurnEnd } from "../support/wait-for-event.ts";

/** Sends a follow-up and waits for the turn it starts to end. */
async function followUp(h: Harness, sessionId: string, text: string): Promise<void> {
  const after = (await h.baton.log.bounds()).latest;
  await h.client.send(sessionId, { text });
  const end = await h.waitFor(isTurnEnd(sessionId), { after });
  assert.equal(end.topic, "session.completed", JSON.stringify(end.data));
}

function keyOf(row: UsageTurnRow, groupBy: string): string {
  if (groupBy === "owner") return row.owner;
  if (groupBy === "tree") return row.root_session_id;
  if (groupBy === "model") return row.model;
  return row.ended_at.slice(0, 10);
}

test("usage: one record per turn (resumed in process, and after a restart), roll-ups equal the records, CLI table", async (t) => {
  const h = await startHarness(t);
  const workDir = h.tempDir();
  const root = await h.client.spawn({ prompt: "@bash echo a\n@say root done", workDir, owner: "alice" });
  await h.waitFor(isTurnEnd(root.id));
  const child = await h.client.spawn({
    prompt: "@say child done",
    workDir,
    owner: "bob",
    parentSessionId: root.id,
    notifyParent: false, // no wake-up turn for the root: the test counts every turn
  });
  await h.waitFor(isTurnEnd(child.id));
  await followUp(h, root.id, "@say again"); // the warm process takes the follow-up
  await h.restart();
  await followUp(h, child.id, "@say after the restart"); // a new process resumes the conversation

  const records = await h.baton.store.db.selectFrom("usage_turns").selectAll().orderBy("ended_at").execute();
  assert.deepEqual(
    records.map((row) => [row.session_id, row.requests, row.input_tokens, row.output_tokens]),
    [
      [root.id, 2, 200, 40],
      [child.id, 1, 100, 20],
      [root.id, 1, 100, 20],
      // The resumed process's first result carries the conversation's earlier totals: only the turn is counted.
      [child.id, 1, 100, 20],
    ],
  );
  assert.ok(records.every((row) => row.root_session_id === root.id && row.cost_usd > 0));

  // The records add up to what the sessions were charged.
  const sessions = await Promise.all([h.client.get(root.id), h.client.get(child.id)]);
  const charged = sessions.reduce((sum, session) => sum + session.costUsd, 0);
  const recorded = records.reduce((sum, row) => sum + row.cost_usd, 0);
  assert.ok(Math.abs(charged - recorded) < 1e-9, `charged ${charged}, recorded ${recorded}`);

  for (const groupBy of USAGE_GROUPINGS) {
    const report = await h.client.usage({ groupBy });
    const keys = [...new Set(records.map((row) => keyOf(row, groupBy)))];
    assert.deepEqual(report.rows.map((row) => row.key).sort(), keys.sort(), groupBy);
    for (const row of report.rows) {
      const mine = records.filter((record) => keyOf(record, groupBy) === row.key);
      assert.ok(Math.abs(row.costUsd - mine.reduce((sum, r) => sum + r.cost_usd, 0)) < 1e-9);
      assert.equal(
        row.inputTokens,
        mine.reduce((sum, r) => sum + r.input_tokens, 0),
      );
      assert.equal(
        row.outputTokens,
        mine.reduce((sum, r) => sum + r.output_tokens, 0),
      );
      assert.equal(row.turns, mine.length);
      assert.equal(row.sessions, new Set(mine.map((r) => r.session_id)).size);
    }
    assert.equal(report.total.turns, 4);
    assert.ok(Math.abs(report.total.costUsd - recorded) < 1e-9);
  }
  assert.deepEqual(
    (await h.client.usage({ groupBy: "owner", owner: "bob" })).rows.map((row) => [row.key, row.turns]),
    [["bob", 2]],
  );
  const future = new Date(Date.now() + 60_000).toISOString();
  assert.equal((await h.client.usage({ from: future })).total.turns, 0);
  await assert.rejects(h.client.usage({ groupBy: "planet" }), { status: 400 });

  const env = { BATON_URL: h.url };
  const json = await runCli(["usage", "--by", "tree", "--since", "1d", "--json"], env);
  assert.equal(json.code, 0, json.stderr);
  const report = JSON.parse(json.stdout) as UsageReport;
  assert.deepEqual(report, await h.client.usage({ groupBy: "tree" }));
  const table = await runCli(["usage", "--by", "owner"], env);
  assert.equal(table.code, 0, table.stderr);
  const lines = table.stdout.trim().split("\n");
  assert.match(
    lines[0] ?? "",
    /^OWNER\s+COST\s+INPUT\s+OUTPUT\s+CACHE READ\s+CACHE WRITE\s+TURNS\s+SESSIONS$/,
  );
  assert.match(lines.at(-1) ?? "", /^TOTAL\s+\$0\.\d{4}\s+500\s+100\s+0\s+0\s+4\s+2$/);
  const bad = await runCli(["usage", "--by", "planet"], env);
  assert.equal(bad.code, 2);
});
