import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { sql } from "kysely";
import type { Settings } from "../../src/core/settings-schema.ts";
import type { MockModelRequest } from "../../src/mock-model/index.ts";
import { agentEnvFor, type Harness, startHarness } from "../support/harness.ts";
import { slowCommand } from "../support/slow-sessions.ts";
import { isTopic, isTurnEnd } from "../support/wait-for-event.ts";
import { waitUntil } from "../support/wait-until.ts";

/*
 * `transcripts: "database"` on SQLite: the conversation is mirrored into Baton's database, so after a
 * restart with a new, empty CLAUDE_CONFIG_DIR (another machine, as far as the CLI can tell) a follow-up
 * resumes the same conversation from the database alone. With `local` the same restart finds nothing.
 */

const FIRST = "@say remembered-7f3a";

/** Agent state under a directory of its own: a config dir the first process never wrote to. */
function freshAgentEnv(h: Harness, name: string): Record<string, string> {
  const root = join(h.root, name);
  mkdirSync(root, { recursive: true });
  return agentEnvFor(root);
}

function transcriptFiles(configDir: string): string[] {
  try {
    return readdirSync(join(configDir, "projects"), { recursive: true, encoding: "utf8" }).filter((file) =>
      file.endsWith(".jsonl"),
    );
  } catch {
    return [];
  }
}

/** Runs one turn, restarts Baton on an empty config dir, sends a follow-up; returns what the model saw. */
async function resumeOnEmptyConfigDir(
  t: TestContext,
  transcripts: Settings["transcripts"],
): Promise<{
  h: Harness;
  end: { topic: string; data: Record<string, unknown> };
  request?: MockModelRequest;
}> {
  const h = await startHarness(t, { transcripts });
  const session = await h.client.spawn({ prompt: FIRST, workDir: h.tempDir() });
  const first = await h.waitFor(isTurnEnd(session.id), { session: session.id });
  assert.equal(first.topic, "session.completed", JSON.stringify(first.data));

  const agentEnv = freshAgentEnv(h, "second-machine");
  await h.restart({ agentEnv });
  const before = h.mock.requests.length;
  const startedAt = Date.now();
  await h.client.send(session.id, { text: "@say second-turn" });
  const end = await h.waitFor(isTurnEnd(session.id), { session: session.id, after: first.seq });
  t.diagnostic(`${transcripts}: follow-up after the restart settled in ${Date.now() - startedAt} ms`);
  const request = h.mock.requests.slice(before).find((each) => each.instruction === "@say second-turn");
  assert.deepEqual(
    transcriptFiles(agentEnv.CLAUDE_CONFIG_DIR ?? ""),
    [],
    "nothing was written to the new config dir",
  );
  return { h, end, ...(request ? { request } : {}) };
}

test("transcripts in the database: a follow-up after a restart on an empty CLAUDE_CONFIG_DIR resumes the same conversation", async (t) => {
  const { h, end, request } = await resumeOnEmptyConfigDir(t, "database");
  assert.equal(end.topic, "session.completed", JSON.stringify(end.data));
  assert.equal(end.data.result, "second-turn");
  assert.ok(request, "the follow-up reached the model");
  const body = JSON.stringify(request.body);
  assert.ok(body.includes("remembered-7f3a"), "the model saw the first turn's prompt and answer");
  assert.ok(request.messageCount >= 3, `the history came along (${request.messageCount} messages)`);
  const rows = await h.baton.store.db
    .selectFrom("transcript_entries")
    .select(({ fn }) => fn.countAll<number>().as("count"))
    .executeTakeFirstOrThrow();
  assert.ok(Number(rows.count) > 0);
});

test("transcripts local (SQLite's default): the same restart on an empty CLAUDE_CONFIG_DIR cannot resume, and nothing goes to the database", async (t) => {
  const { h, end } = await resumeOnEmptyConfigDir(t, undefined);
  assert.equal(end.topic, "session.failed", JSON.stringify(end.data));
  const rows = await h.baton.store.db.selectFrom("transcript_entries").selectAll().execute();
  assert.deepEqual(rows, []);
});

test("transcripts in the database: a session on a parked warm spare is mirrored too, and resumes from the database", async (t) => {
  const h = await startHarness(t, { transcripts: "database", warmPool: 1, keepAliveMs: 60_000 });
  // The first spawn of a kind teaches the pool its options; the second claims the spare parked for it.
  const teacher = await h.client.spawn({ prompt: "@say teach", workDir: h.tempDir() });
  await h.waitFor(isTurnEnd(teacher.id), { session: teacher.id });
  await waitUntil(async () => (await h.client.health()).warmPool.ready === 1, 60_000, "a parked spare");
  const owned = new Set(h.baton.supervisor.runs.pids());

  const session = await h.client.spawn({ prompt: FIRST, workDir: h.tempDir() });
  const first = await h.waitFor(isTurnEnd(session.id), { session: session.id });
  assert.equal(first.topic, "session.completed", JSON.stringify(first.data));
  const onSpare = await h.client.get(session.id);
  assert.ok(onSpare.pid && !owned.has(onSpare.pid), "the session ran in the spare's process");
  assert.ok(onSpare.agentSessionId);
  const mirrored = await h.baton.store.db
    .selectFrom("transcript_entries")
    .select("entry")
    .where("session_id", "=", onSpare.agentSessionId)
    .execute();
  assert.ok(
    mirrored.some((row) => row.entry.includes("remembered-7f3a")),
    "the spare's conversation is in the database",
  );

  await h.restart({ agentEnv: freshAgentEnv(h, "second-machine"), warmPool: 0 });
  await h.client.send(session.id, { text: "@say second-turn" });
  const end = await h.waitFor(isTurnEnd(session.id), { session: session.id, after: first.seq });
  assert.equal(end.topic, "session.completed", JSON.stringify(end.data));
  const request = h.mock.requests.find((each) => each.instruction === "@say second-turn");
  assert.ok(request && JSON.stringify(request.body).includes("remembered-7f3a"), "the history came along");
});

test("transcripts in the database: a database that refuses the lines mid-turn does not disturb the session", async (t) => {
  const h = await startHarness(t, { transcripts: "database" });
  const session = await h.client.spawn({
    prompt: `@bash ${slowCommand(2, "echo tool-done")}\n@say finished anyway`,
    workDir: h.tempDir(),
    allowedTools: ["Bash"],
  });
  await h.waitFor(isTopic("session.tool_use", session.id), { session: session.id });
  // Every later append fails: the SDK retries, drops the batch and reports it (logged); the CLI goes on.
  await h.baton.store.db.schema.dropTable("transcript_entries").execute();
  const end = await h.waitFor(isTurnEnd(session.id), { session: session.id });
  assert.equal(end.topic, "session.completed", JSON.stringify(end.data));
  assert.equal(end.data.result, "finished anyway");
});

test("transcripts in the database: a subagent's transcript is stored under its subpath and comes back with a resume", async (t) => {
  const h = await startHarness(t, { transcripts: "database" });
  const subagent = {
    description: "scripted helper",
    subagent_type: "general-purpose",
    prompt: "@bash echo from-the-subagent\n@say subagent finished",
  };
  const session = await h.client.spawn({
    prompt: `@tool Agent ${JSON.stringify(subagent)}\n@say parent done`,
    workDir: h.tempDir(),
    allowedTools: ["Bash"],
  });
  const first = await h.waitFor(isTurnEnd(session.id), { session: session.id, timeoutMs: 90_000 });
  assert.equal(first.topic, "session.completed", JSON.stringify(first.data));
  const { agentSessionId } = await h.client.get(session.id);
  assert.ok(agentSessionId);
  const subpaths = await h.baton.store.db
    .selectFrom("transcript_entries")
    .select("subpath")
    .distinct()
    .where("session_id", "=", agentSessionId)
    .where("subpath", "<>", "")
    .execute();
  assert.ok(
    subpaths.some((row) => row.subpath.startsWith("subagents/")),
    `a subagent transcript: ${JSON.stringify(subpaths)}`,
  );

  await h.restart({ agentEnv: freshAgentEnv(h, "second-machine") });
  await h.client.send(session.id, { text: "@say second-turn" });
  const end = await h.waitFor(isTurnEnd(session.id), { session: session.id, after: first.seq });
  assert.equal(end.topic, "session.completed", JSON.stringify(end.data));
  // The resumed CLI runs on the config dir the SDK materialised from the database: the subagent's file is
  // there too.
  const { pid } = await h.client.get(session.id);
  assert.ok(pid, "the resumed process's pid reached the session");
  const environ = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
  const configDir = environ.find((entry) => entry.startsWith("CLAUDE_CONFIG_DIR="))?.slice(18) ?? "";
  assert.ok(configDir.includes("claude-resume-"), configDir);
  const files = transcriptFiles(configDir);
  assert.ok(
    files.some((file) => file.includes(`${agentSessionId}/subagents/`)),
    `materialised: ${JSON.stringify(files)}`,
  );
});

test("transcripts in the database: a first turn whose lines never reached the database starts over after a restart", async (t) => {
  const h = await startHarness(t, { transcripts: "database" });
  const session = await h.client.spawn({
    prompt: `@bash ${slowCommand(3, "echo first-try")}\n@say finished`,
    workDir: h.tempDir(),
    allowedTools: ["Bash"],
  });
  await h.waitFor(isTopic("session.spawned", session.id), { session: session.id });
  const { agentSessionId: lost } = await h.client.get(session.id);
  assert.ok(lost);
  // As if the node died before the CLI flushed a line: the database never gets one of this conversation.
  const db = h.baton.store.db;
  await sql`create trigger lose_lines before insert on transcript_entries when new.session_id = ${sql.lit(lost)}
    begin select raise(ignore); end`.execute(db);
  await db.deleteFrom("transcript_entries").where("session_id", "=", lost).execute();
  const tool = await h.waitFor(isTopic("session.tool_use", session.id), { session: session.id });

  await h.restart({ agentEnv: freshAgentEnv(h, "second-machine") });
  const end = await h.waitFor(isTurnEnd(session.id), { session: session.id, after: tool.seq });
  assert.equal(end.topic, "session.completed", JSON.stringify(end.data));
  assert.equal(end.data.result, "finished");
  const { events } = await h.client.sessionEvents(session.id);
  const resumed = events.find((event) => event.topic === "session.resumed");
  assert.equal(resumed?.data.reason, "baton_restarted");
  const spawned = events.filter((event) => event.topic === "session.spawned");
  assert.equal(spawned.length, 2);
  assert.equal(spawned[1]?.data.resumed, undefined, "a new conversation, not a resume");
  const after = await h.client.get(session.id);
  assert.ok(after.agentSessionId && after.agentSessionId !== lost, "under a new conversation id");
});
