import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import pg from "pg";
import { BatonClient } from "../../src/client/baton-client.ts";
import type { BatonEvent } from "../../src/events/catalogue.ts";
import { startMockModel } from "../../src/mock-model/index.ts";
import { isAlive, listDescendants } from "../../src/runner/process-tree.ts";
import { placementOff } from "../support/baton-cluster.ts";
import { type BatonProcess, startBatonProcess, stopBatonProcess } from "../support/baton-process.ts";
import { agentEnvFor, testSettings } from "../support/harness.ts";
import { assertNoLeakedProcesses } from "../support/leak-guard.ts";
import { createTestDatabase, postgresSkipReason } from "../support/postgres.ts";
import { isTurnEnd, waitForEvent } from "../support/wait-for-event.ts";
import { waitUntil } from "../support/wait-until.ts";

/*
 * Two `baton serve` nodes on one PostgreSQL database that share NOTHING on disk for their agents: each has
 * its own CLAUDE_CONFIG_DIR. The transcripts live in the database (the default on PostgreSQL), so when A
 * dies mid-tool and its local transcripts are deleted, B still resumes the very conversation.
 */
const skip = await postgresSkipReason();

const LEASE_MS = 3000;
const CLUSTER = { nodeHeartbeatMs: 300, nodeLeaseMs: LEASE_MS };
const TERMINAL = ["session.completed", "session.failed", "session.killed"];
/** A word only the first prompt contains: if the model sees it after the resume, the history came along. */
const MARKER = "first-prompt-c41d";

function jsonlFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((file) => file.endsWith(".jsonl"));
}

/** Whether the conversation's Bash tool call is in the transcript table yet. */
async function toolCallStored(url: string, agentSessionId: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query(
      "select count(*)::int as n from transcript_entries where session_id = $1 and entry like $2",
      [agentSessionId, '%"tool_use"%'],
    );
    return (rows[0] as { n: number } | undefined)?.n !== 0;
  } finally {
    await client.end();
  }
}

async function allEvents(client: BatonClient): Promise<BatonEvent[]> {
  const events: BatonEvent[] = [];
  for (let cursor = 0; ; ) {
    const page = await client.events({ after: cursor, limit: 5000, deltas: true });
    events.push(...page.events);
    if (page.events.length === 0) return events;
    cursor = page.events.at(-1)?.seq ?? cursor;
  }
}

test("kill -9 node A with three sessions mid-tool and delete its transcripts: node B, with its own CLAUDE_CONFIG_DIR, adopts all three and resumes each conversation from the database", {
  skip,
  timeout: 240_000,
}, async (t) => {
  const database = await createTestDatabase();
  const mock = await startMockModel();
  const root = mkdtempSync(join(tmpdir(), "baton-transcripts-"));
  const nodes: BatonProcess[] = [];
  t.after(async () => {
    for (const node of nodes) await stopBatonProcess(node);
    await mock.stop();
    await database.drop();
    rmSync(root, { recursive: true, force: true });
    assertNoLeakedProcesses("transcripts in the database");
  });
  // Each node's agents get a machine of their own: config dir, temp dir, home.
  const agentRoot = (name: string) => {
    const dir = join(root, `agents-${name}`);
    mkdirSync(dir, { recursive: true });
    return dir;
  };
  const start = async (name: string) => {
    const settings = testSettings(root, mock.url, {
      db: database.url,
      ...placementOff(root),
      ...CLUSTER,
      agentEnv: agentEnvFor(agentRoot(name)),
    });
    const node = await startBatonProcess({ ...settings, home: join(root, `home-${name}`), nodeId: name });
    nodes.push(node);
    return node;
  };
  const a = await start("node-a");
  const b = await start("node-b");
  const configA = join(root, "agents-node-a", "claude-config");
  const configB = join(root, "agents-node-b", "claude-config");
  const clientA = new BatonClient({ url: a.url, token: a.token });
  const clientB = new BatonClient({ url: b.url, token: b.token });

  // Three sessions mid-tool on A at the moment it dies: each tool waits for a file the test never creates
  // (however slowly the three start on a loaded box), and after the crash the resume closes the dangling
  // call, so the script goes on to its answer.
  const never = join(root, "never-created");
  const sessions = [];
  for (const index of [1, 2, 3]) {
    const marker = `${MARKER}-${index}`;
    const spawned = await clientA.spawn({
      prompt: `@bash while [ ! -e ${never} ]; do sleep 0.2; done; echo ${marker}\n@say finished ${index}`,
      workDir: mkdtempSync(join(root, "w-")),
      allowedTools: ["Bash"],
      owner: `owner-${index}`, // one owner each: maxPerOwner never queues the third
    });
    sessions.push({ id: spawned.id, marker, index });
  }
  const crashed = [];
  for (const session of sessions) {
    const pid = await waitUntil(
      async () => {
        const live = (await clientA.get(session.id)).pid;
        return live && listDescendants(live).length > 0 ? live : undefined;
      },
      60_000,
      `session ${session.index} mid-tool on A`,
    );
    const before = await clientB.get(session.id);
    assert.ok(before.agentSessionId, `a conversation id for session ${session.index} before the crash`);
    crashed.push({ ...session, tree: [pid, ...listDescendants(pid)], agentSessionId: before.agentSessionId });
  }
  // The CLI hands its transcript lines to the SDK when it flushes its file (measured on this loaded box:
  // 0.2-3 s after the line's event), and the SDK writes them at once. A node killed inside that window takes
  // the unflushed lines with it; for a conversation's very first lines that would leave nothing to resume
  // (docs/deployment.md). So the crash comes once every tool call is in the database.
  const mirroredAt = Date.now();
  for (const session of crashed) {
    await waitUntil(
      async () => (await toolCallStored(database.url, session.agentSessionId)) || undefined,
      30_000,
      `session ${session.index}'s tool call mirrored to the database`,
    );
  }
  // A's CLI keeps local files too (the ones deleted below); how many of the three it has flushed by now
  // varies on a loaded box, so only their presence is checked.
  assert.ok(jsonlFiles(join(configA, "projects")).length > 0, "A's CLI wrote local transcripts");
  t.diagnostic(
    `tool calls in the database ${Date.now() - mirroredAt} ms after the last tool was seen running`,
  );
  for (const session of crashed) {
    const row = await clientB.get(session.id);
    assert.equal(row.status, "running", `session ${session.index} still mid-tool when A dies`);
  }
  const requestsBefore = mock.requests.length;

  a.child.kill("SIGKILL");
  await a.exited;
  const killedAt = Date.now();
  // A's machine is gone, and its disk with it. (A's orphaned CLIs may write there again until B reaps them:
  // B never looks, its agents have a config dir of their own.)
  rmSync(join(configA, "projects"), { recursive: true, force: true });

  const ends = await Promise.all(
    crashed.map((session) =>
      waitForEvent({ url: b.url, session: session.id, timeoutMs: LEASE_MS + 90_000 }, isTurnEnd(session.id)),
    ),
  );
  const completedAfter = Date.now() - killedAt;
  const events = await allEvents(clientB);
  assert.deepEqual(
    events.map((event) => event.seq),
    Array.from({ length: events.length }, (_, index) => index + 1),
    "seq is 1..N with no gap across both nodes",
  );
  const adoptedAfter: number[] = [];
  for (const [position, session] of crashed.entries()) {
    const end = ends[position];
    assert.equal(end?.topic, "session.completed", JSON.stringify(end?.data));
    assert.equal(
      end?.data.result,
      `finished ${session.index}`,
      "the script went on after the resume: the same conversation",
    );
    for (const pid of session.tree) await waitUntil(() => !isAlive(pid), 10_000, `A's process ${pid} gone`);

    // The model, asked from B, saw the first prompt: the history came from the database, not from a file.
    const resumedRequests = mock.requests
      .slice(requestsBefore)
      .filter((request) => request.sessionId === session.agentSessionId);
    assert.ok(resumedRequests.length > 0, `B's process for session ${session.index} asked the model`);
    for (const request of resumedRequests) {
      assert.ok(
        JSON.stringify(request.body).includes(session.marker),
        "the resumed request has the first prompt",
      );
    }
    const own = events.filter((event) => event.sessionId === session.id);
    assert.equal(
      own.filter((event) => TERMINAL.includes(event.topic)).length,
      1,
      "exactly one terminal event",
    );
    const resumed = own.find((event) => event.topic === "session.resumed");
    assert.equal(resumed?.data.reason, "node_lost", JSON.stringify(resumed));
    const spawned = own.filter((event) => event.topic === "session.spawned");
    assert.equal(spawned.length, 2, "one process on A, one on B");
    assert.equal(spawned[1]?.data.resumed, true);
    const after = await clientB.get(session.id);
    assert.equal(after.agentSessionId, session.agentSessionId, "the same conversation");
    assert.equal(after.nodeId, "node-b", "B owns the adopted session");
    adoptedAfter.push(Date.parse(spawned[1]?.ts ?? "") - killedAt);
  }
  assert.deepEqual(jsonlFiles(join(configB, "projects")), [], "B never had a transcript on its disk");
  t.diagnostic(
    `kill -9 -> processes on B: ${adoptedAfter.join(", ")} ms; -> all three turns completed: ` +
      `${completedAfter} ms (lease ${LEASE_MS} ms)`,
  );
});
