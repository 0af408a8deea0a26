import assert from "node:assert/strict";
import { test } from "node:test";
import { BatonApiError } from "../../src/client/baton-client.ts";
import type { Session } from "../../src/sessions/session-schema.ts";
import { startHarness } from "../support/harness.ts";
import { isTurnEnd } from "../support/wait-for-event.ts";
import { waitUntil } from "../support/wait-until.ts";

/** One request of this script costs $0.06 (10,000 input and 1,000 output tokens at the CLI's default price). */
const DEAR = "@usage 10000 1000";
const REQUEST_USD = 0.06;
const TREE_BUDGET_USD = 0.7;

test("five children started at once share a tree budget: spend stays within budget + one request, refusals say why", async (t) => {
  const h = await startHarness(t, { maxConcurrent: 8, maxPerOwner: 8 });
  const workDir = h.tempDir();
  const root = await h.client.spawn({
    prompt: `${DEAR}\n@say ready`,
    workDir,
    maxTreeBudgetUsd: TREE_BUDGET_USD,
  });
  await h.waitFor(isTurnEnd(root.id));
  assert.ok(Math.abs((await h.client.get(root.id)).costUsd - REQUEST_USD) < 1e-6, "one request costs $0.06");

  // Each child would spend $0.60 unchecked, and asks for $0.20 of its own: before reservations every one of
  // them was handed the whole remainder ($0.64), so five at once spent about $1.26 of a $0.70 budget.
  const work = `${`${DEAR}\n@bash true\n`.repeat(10)}@say done`;
  const attempts = await Promise.allSettled(
    Array.from({ length: 5 }, () =>
      h.client.spawn({
        prompt: work,
        workDir,
        parentSessionId: root.id,
        maxBudgetUsd: 0.2,
        allowedTools: ["Bash"],
        notifyParent: false,
      }),
    ),
  );
  const started = attempts.flatMap((attempt) => (attempt.status === "fulfilled" ? [attempt.value] : []));
  const refused = attempts.flatMap((attempt) => (attempt.status === "rejected" ? [attempt.reason] : []));
  // $0.70 - $0.06 spent - $0.06 margin: two children get $0.20 (+$0.06 margin each), a third the last $0.06.
  assert.equal(started.length, 3, `three children fit: ${refused.map(String).join("; ")}`);
  assert.equal(refused.length, 2);
  for (const error of refused) {
    assert.ok(error instanceof BatonApiError);
    assert.equal(error.status, 409);
    assert.equal(error.code, "TREE_BUDGET_EXHAUSTED");
    assert.match(
      error.message,
      new RegExp(
        `tree budget of \\$${TREE_BUDGET_USD} set on ${root.id} cannot cover another session: .* spent`,
      ),
    );
  }
  const ends = await Promise.all(
    started.map((child: Session) => h.waitFor(isTurnEnd(child.id), { timeoutMs: 60_000 })),
  );
  for (const end of ends) assert.equal(end.data.reason, "max_budget", JSON.stringify(end.data));

  const { sessions } = await h.client.list();
  const spent = sessions.reduce((sum, session) => sum + session.costUsd, 0);
  t.diagnostic(`tree spend $${spent.toFixed(4)} of a $${TREE_BUDGET_USD} budget`);
  assert.ok(spent <= TREE_BUDGET_USD + REQUEST_USD + 1e-9, `spent $${spent} > budget + one request`);
  assert.ok(spent >= 0.5, `the children worked up to their grants ($${spent})`);

  // Once the children's processes are gone their unspent reservations return: a small spawn fits again.
  await waitUntil(
    () => (started.every((child) => !h.baton.supervisor.isLive(child.id)) ? true : undefined),
    15_000,
    "the children's processes closed",
  );
  const after = await h.client.spawn({
    prompt: "@say small",
    workDir,
    parentSessionId: root.id,
    notifyParent: false,
  });
  const end = await h.waitFor(isTurnEnd(after.id));
  assert.equal(end.topic, "session.completed");
});
