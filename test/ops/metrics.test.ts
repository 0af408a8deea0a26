import assert from "node:assert/strict";
import { test } from "node:test";
import { SESSION_STATUSES } from "../../src/sessions/session-status.ts";
import { countSessionsByStatus } from "../../src/store/session-queries.ts";
import { selectRawUsage, selectToolCallCounts } from "../../src/store/usage-queries.ts";
import { startHarness } from "../support/harness.ts";
import { Scrape } from "../support/prometheus.ts";
import { isTurnEnd } from "../support/wait-for-event.ts";
import { waitUntil } from "../support/wait-until.ts";

const CONTRACT_METRICS = [
  "baton_sessions",
  "baton_queue_depth",
  "baton_spawn_seconds",
  "baton_turn_seconds",
  "baton_cost_usd_total",
  "baton_tokens_total",
  "baton_tool_calls_total",
  "baton_permission_wait_seconds",
  "baton_event_seq",
  "baton_subscribers",
  "baton_outbox_pending",
  "baton_live_processes",
  "baton_agent_rss_bytes",
];

test("/metrics after 3 sessions (one failed, one tool call each) equals what the store says, across a restart", async (t) => {
  const h = await startHarness(t);
  const workDir = h.tempDir();
  const spawned = await Promise.all([
    h.client.spawn({ prompt: "@bash echo one\n@say done", workDir, owner: "alice" }),
    h.client.spawn({ prompt: "@bash echo two\n@say done", workDir, owner: "alice" }),
    h.client.spawn({ prompt: "@bash echo three\n@error 500 api_error boom", workDir, owner: "bob" }),
  ]);
  const ends = await Promise.all(spawned.map((session) => h.waitFor(isTurnEnd(session.id))));
  assert.deepEqual(
    ends.map((end) => end.topic),
    ["session.completed", "session.completed", "session.failed"],
  );

  // The failed session's process is closed just after its session.failed: the two completed stay warm.
  await waitUntil(() => (h.baton.supervisor.liveCount === 2 ? true : undefined), 15_000, "2 live processes");
  const scrape = new Scrape(await h.client.metrics());
  const db = h.baton.store.db;
  for (const name of CONTRACT_METRICS) assert.ok(scrape.family(name).help.length > 10, `${name} has HELP`);
  assert.ok(scrape.families.has("process_cpu_user_seconds_total"), "process defaults are exported");
  for (const family of scrape.families.values())
    for (const sample of family.metrics)
      for (const label of Object.keys(sample.labels ?? {}))
        assert.ok(!/session/i.test(label), `${family.name} has no per-session label (${label})`);

  const counts = await countSessionsByStatus(db);
  for (const status of SESSION_STATUSES)
    assert.equal(scrape.value("baton_sessions", { status }), counts[status] ?? 0, `sessions ${status}`);
  assert.equal(scrape.value("baton_sessions", { status: "completed" }), 2);
  assert.equal(scrape.value("baton_sessions", { status: "failed" }), 1);
  assert.equal(scrape.value("baton_queue_depth"), 0);
  assert.equal(scrape.value("baton_tool_calls_total", { tool: "Bash" }), 3);
  assert.equal(scrape.value("baton_spawn_seconds"), 3, "three spawns observed");
  assert.equal(scrape.value("baton_turn_seconds"), 3, "three turns observed");
  assert.equal(scrape.value("baton_event_seq"), (await h.baton.log.bounds()).latest);
  assert.equal(scrape.value("baton_live_processes"), 2);
  assert.ok(scrape.value("baton_agent_rss_bytes") > 10_000_000, "the warm processes' memory is counted");

  // Cost per owner equals both the per-turn records and the sessions' own costs.
  const sessions = (await h.client.list()).sessions;
  const sessionCost = (owner: string) =>
    sessions.filter((session) => session.owner === owner).reduce((sum, session) => sum + session.costUsd, 0);
  const usage = (await selectRawUsage(db, { groupBy: "owner" })).rows; // summed from the per-turn records
  for (const owner of ["alice", "bob"]) {
    const row = usage.find((candidate) => candidate.key === owner);
    assert.ok(row && row.costUsd > 0, `usage recorded for ${owner}`);
    assert.ok(Math.abs(scrape.value("baton_cost_usd_total", { owner }) - row.costUsd) < 1e-9);
    assert.ok(Math.abs(row.costUsd - sessionCost(owner)) < 1e-9, `${owner}: usage = session costs`);
    assert.equal(scrape.value("baton_tokens_total", { owner, kind: "input" }), row.inputTokens);
    assert.equal(scrape.value("baton_tokens_total", { owner, kind: "output" }), row.outputTokens);
    assert.ok(row.inputTokens > 0 && row.outputTokens > 0, `${owner} has tokens`);
  }

  // Counters that must survive a restart are read from the store, not from memory.
  const before = {
    cost: scrape.value("baton_cost_usd_total", { owner: "alice" }),
    tokens: scrape.value("baton_tokens_total", { owner: "bob", kind: "output" }),
  };
  await h.restart();
  const after = new Scrape(await h.client.metrics());
  assert.equal(after.value("baton_cost_usd_total", { owner: "alice" }), before.cost);
  assert.equal(after.value("baton_tokens_total", { owner: "bob", kind: "output" }), before.tokens);
  assert.equal(after.value("baton_tool_calls_total", { tool: "Bash" }), 3);
  assert.deepEqual([...(await selectToolCallCounts(h.baton.store.db))], [["Bash", 3]]);
  assert.equal(after.value("baton_live_processes"), 0);
});

test("metricsPublic opens /metrics to a scraper without a token, and nothing else", async (t) => {
  const h = await startHarness(t, { metricsPublic: true });
  const open = await fetch(`${h.url}/metrics`);
  assert.equal(open.status, 200);
  assert.match(await open.text(), /^# HELP baton_sessions /m);
  assert.equal((await fetch(`${h.url}/usage`)).status, 401);
  assert.equal((await fetch(`${h.url}/sessions`)).status, 401);
});
