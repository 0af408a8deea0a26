import assert from "node:assert/strict";
import { test } from "node:test";
import { selectDeliveries } from "../../src/store/outbox-queries.ts";
import { startFakeSlack } from "../support/fake-slack.ts";
import { startHarness } from "../support/harness.ts";
import { isTopic, isTurnEnd } from "../support/wait-for-event.ts";
import { waitUntil } from "../support/wait-until.ts";
import { startWebhookReceiver } from "../support/webhook-receiver.ts";

test("per-session webhooks get only the events they ask for; the bus channel publishes notification.bus", async (t) => {
  const receiver = await startWebhookReceiver();
  const h = await startHarness(t, { allowPrivateTargets: true, outboxJitter: false });
  t.after(() => receiver.stop());
  const session = await h.client.spawn({
    prompt: "@say webhooks done",
    workDir: h.tempDir(),
    name: "hooked",
    notify: { channel: "bus", target: "ops" },
    webhooks: [
      { url: `${receiver.url}/only-failed`, events: ["session.failed"] },
      { url: `${receiver.url}/spawned`, events: ["session.spawned"] },
      { url: `${receiver.url}/defaults` },
    ],
  });

  const notification = await h.waitFor(isTopic("notification.bus"));
  assert.equal(notification.data.sessionId, session.id);
  assert.equal(notification.data.eventTopic, "session.completed");
  assert.equal(notification.data.target, "ops");
  assert.match(
    String(notification.data.text),
    /^✅ hooked \(ses_\w+\) completed · 1 turn, \$[\d.]+\n\nwebhooks done$/,
  );

  const requests = await receiver.waitFor((list) => list.length >= 2);
  await h.baton.notifier.settle();
  const paths = requests
    .map((request) => `${request.path} ${(request.json as { type: string }).type}`)
    .sort();
  assert.deepEqual(paths, ["/defaults session.completed", "/spawned session.spawned"]);
  const completed = requests.find((request) => request.path === "/defaults")?.json as {
    type: string;
    timestamp: string;
    data: Record<string, unknown>;
  };
  assert.equal(completed.data.sessionId, session.id);
  assert.equal(completed.data.sessionName, "hooked");
  assert.equal(completed.data.result, "webhooks done");
  assert.ok(Date.parse(completed.timestamp));
  const rows = await selectDeliveries(h.baton.store.db, { sessionId: session.id });
  assert.equal(
    rows.filter((row) => row.target.endsWith("/only-failed")).length,
    0,
    "no delivery for unwanted events",
  );
});

test("Slack gets the same message through the Web API (defaults) and an incoming webhook, long results cut", async (t) => {
  const slack = await startFakeSlack();
  const h = await startHarness(t, {
    allowPrivateTargets: true,
    slackBotToken: slack.token,
    slackApiUrl: slack.apiUrl,
    notifyDefaults: [{ channel: "slack", target: "#builds" }],
  });
  t.after(() => slack.stop());
  const longResult = `${"All checks passed. ".repeat(300)}THE END`;
  const byDefault = await h.client.spawn({
    prompt: `@say ${longResult}`,
    workDir: h.tempDir(),
    name: "slacker",
  });
  const viaWebhook = await h.client.spawn({
    prompt: "@say short and sweet",
    workDir: h.tempDir(),
    notify: { channel: "slack", target: slack.webhookUrl },
  });
  await h.waitFor(isTurnEnd(byDefault.id));
  await h.waitFor(isTurnEnd(viaWebhook.id));

  const messages = await waitUntil(
    () => (slack.messages().length >= 2 ? slack.messages() : undefined),
    10_000,
  );
  const api = messages.find((message) => message.via === "webApi");
  assert.equal(api?.channel, "#builds");
  assert.match(api?.text ?? "", new RegExp(`^✅ slacker \\(${byDefault.id}\\) completed`));
  assert.match(api?.text ?? "", /All checks passed\./);
  assert.doesNotMatch(api?.text ?? "", /THE END/, "the long result was cut");
  assert.match(api?.text ?? "", /… \(\d+ more characters not shown\)$/);
  assert.ok((api?.text.length ?? 0) < 4000);
  const hook = messages.find((message) => message.via === "webhook");
  assert.match(hook?.text ?? "", new RegExp(`^✅ ${viaWebhook.id} completed .*\\n\\nshort and sweet$`));
});
