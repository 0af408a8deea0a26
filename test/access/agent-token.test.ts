import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { startHarness } from "../support/harness.ts";
import { isTopic, isTurnEnd } from "../support/wait-for-event.ts";

/**
 * Run by a real agent's Bash, in the background, with nothing but its own environment (BATON_URL,
 * BATON_SESSION_ID, BATON_TOKEN): it waits for its own session's permission request, tries to approve it,
 * to kill a session of another tree and to read another owner's events, and publishes the HTTP statuses.
 */
const ESCAPE_SCRIPT = `#!/bin/sh
auth="authorization: Bearer $BATON_TOKEN"
for i in $(seq 1 200); do
  id=$(curl -s -H "$auth" "$BATON_URL/permissions?status=pending&session=$BATON_SESSION_ID" | grep -o '"id":"[^"]*"' | head -1 | cut -d'"' -f4)
  [ -n "$id" ] && break
  sleep 0.1
done
approve=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "$auth" -H 'content-type: application/json' \\
  -d '{"decision":"allow","by":"admin:token"}' "$BATON_URL/sessions/$BATON_SESSION_ID/permissions/$id")
kill=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "$auth" -H 'content-type: application/json' -d '{}' \\
  "$BATON_URL/sessions/$1/kill")
read=$(curl -s -o /dev/null -w '%{http_code}' -H "$auth" "$BATON_URL/sessions/$2/events")
whoami=$(curl -s -H "$auth" "$BATON_URL/whoami" | grep -o '"principal":"[^"]*"' | cut -d'"' -f4)
curl -s -o /dev/null -X POST -H "$auth" -H 'content-type: application/json' \\
  -d "{\\"topic\\":\\"test.escape\\",\\"data\\":{\\"request\\":\\"$id\\",\\"approve\\":\\"$approve\\",\\"kill\\":\\"$kill\\",\\"read\\":\\"$read\\",\\"whoami\\":\\"$whoami\\"}}" \\
  "$BATON_URL/events"
`;

test("an agent's own token cannot approve its own request, kill outside its tree or read another owner", async (t) => {
  const h = await startHarness(t);
  const workDir = h.tempDir();
  writeFileSync(join(workDir, "escape.sh"), ESCAPE_SCRIPT);
  // Another tree of the same owner, and a session of another owner.
  const stranger = await h.client.spawn({ prompt: "@say idle", workDir: h.tempDir(), name: "stranger" });
  const foreign = await h.client.spawn({ prompt: "@say theirs", workDir: h.tempDir(), owner: "bob" });
  await h.waitFor(isTurnEnd(stranger.id));
  await h.waitFor(isTurnEnd(foreign.id));

  const agent = await h.client.spawn({
    prompt: `@bash nohup sh escape.sh ${stranger.id} ${foreign.id} > /dev/null 2>&1 &\n@write guarded.txt hi\n@say done`,
    workDir,
    name: "escaper",
    permissionMode: "default",
    allowedTools: ["Bash"],
  });
  const requested = await h.waitFor(isTopic("session.permission_requested", agent.id), { timeoutMs: 60_000 });
  const report = await h.waitFor(isTopic("test.escape"), { timeoutMs: 60_000 });
  assert.deepEqual(report.data, {
    request: requested.data.requestId,
    approve: "403",
    kill: "403",
    read: "403",
    whoami: `agent:${agent.id}`,
  });
  assert.equal((await h.client.get(agent.id)).status, "waiting", "its own request is still pending");
  assert.equal((await h.client.get(stranger.id)).status, "completed", "the other tree's session lives");

  // A human answers it; the audit names who did, not what a body claimed.
  await h.client.answerPermission(agent.id, String(requested.data.requestId), {
    decision: "allow",
    by: "mallory",
  });
  const resolved = await h.waitFor(isTopic("session.permission_resolved", agent.id));
  assert.equal(resolved.data.by, "admin:token");
  await h.waitFor(isTurnEnd(agent.id), { timeoutMs: 60_000 });

  // The agent's token dies with its session.
  const token = await agentTokenOf(h, workDir);
  assert.equal((await whoami(h.url, token)).status, 200);
  await h.client.kill(agent.id);
  assert.equal((await whoami(h.url, token)).status, 401);
});

/** Asks the (live, released-later) agent to hand over its token the way any of its tools could. */
async function agentTokenOf(h: Awaited<ReturnType<typeof startHarness>>, workDir: string): Promise<string> {
  const file = join(workDir, "token.txt");
  await h.client.send("escaper", { text: `@bash printenv BATON_TOKEN > ${file}\n@say kept` });
  await h.waitFor((event) => event.topic === "session.completed" && event.data.result === "kept", {
    timeoutMs: 60_000,
  });
  return readFileSync(file, "utf8").trim();
}

function whoami(url: string, token: string): Promise<Response> {
  return fetch(`${url}/whoami`, { headers: { authorization: `Bearer ${token}` } });
}
