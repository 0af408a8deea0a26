import assert from "node:assert/strict";
import { type TestContext, test } from "node:test";
import type { Settings } from "../../src/core/settings-schema.ts";
import type { PermissionAnswer, PermissionResolver } from "../../src/notify/permission-resolver.ts";
import { type FakeTelegram, startFakeTelegram } from "../support/fake-telegram.ts";
import { type Harness, startHarness } from "../support/harness.ts";
import { isTopic, isTurnEnd } from "../support/wait-for-event.ts";
import { waitUntil } from "../support/wait-until.ts";

const CHAT = "111222333";
const STRANGER = "999888777";

async function startWithTelegram(
  t: TestContext,
  extra: Partial<Settings> = {},
): Promise<{ h: Harness; telegram: FakeTelegram }> {
  const telegram = await startFakeTelegram();
  const h = await startHarness(t, {
    telegramBotToken: telegram.token,
    telegramApiRoot: telegram.apiRoot,
    telegramChatIds: [CHAT],
    outboxJitter: false,
    ...extra,
  });
  // Registered after the harness, so it runs after Baton (and its bot) stopped.
  t.after(() => telegram.stop());
  return { h, telegram };
}

test("completion reaches the configured chat; a reply reaches the session; strangers get nothing", async (t) => {
  const { h, telegram } = await startWithTelegram(t);
  const session = await h.client.spawn({
    prompt: "@say first answer",
    workDir: h.tempDir(),
    name: "tg-session",
    notify: { channel: "telegram", target: CHAT },
  });
  const done = await telegram.waitForSent((m) => m.chat_id === CHAT && m.text.includes("completed"));
  assert.match(done.text, /^✅ tg-session \(ses_\w+\) completed · 1 turn, \$[\d.]+\n\nfirst answer$/);

  // A stranger replying to the same message, then sending a command: no answer, nothing reaches the session.
  telegram.userMessage({ chatId: STRANGER, text: "@say from a stranger", replyTo: done.message_id });
  telegram.userMessage({ chatId: STRANGER, text: "/list" });
  const replyId = telegram.userMessage({
    chatId: CHAT,
    text: "@say second answer",
    replyTo: done.message_id,
  });
  const ack = await telegram.waitForSent((m) => m.reply_to_message_id === replyId);
  assert.match(ack.text, /^📨 Sent to tg-session/);
  // Updates are handled in order, so the stranger's were dealt with before the ack was sent.
  assert.equal(telegram.sent.filter((m) => m.chat_id === STRANGER).length, 0, "the stranger got no answer");

  const second = await telegram.waitForSent((m) => m.chat_id === CHAT && m.text.includes("second answer"));
  assert.match(second.text, /completed · 2 turns/);
  assert.equal(h.mock.requests.at(-1)?.instruction, "@say second answer");
  assert.ok(!h.mock.requests.some((request) => request.instruction?.includes("stranger")));
  assert.equal((await h.client.get(session.id)).result, "second answer");
});

test("/new spawns a session for the chat; /list, /status and /kill answer", async (t) => {
  const { h, telegram } = await startWithTelegram(t);
  const workDir = h.tempDir();
  const newId = telegram.userMessage({ chatId: CHAT, text: `/new ${workDir} @say built by telegram` });
  const started = await telegram.waitForSent((m) => m.reply_to_message_id === newId);
  const sessionId = /\b(ses_\w+)\b/.exec(started.text)?.[1] ?? "";
  assert.match(started.text, /^🚀 Started ses_\w+/);
  const session = await h.client.get(sessionId);
  assert.equal(session.owner, `telegram:${CHAT}`);
  assert.deepEqual(session.config.notify, { channel: "telegram", target: CHAT });
  await telegram.waitForSent(
    (m) => m.text.startsWith(`✅ ${sessionId} completed`) && m.text.endsWith("built by telegram"),
  );

  const listId = telegram.userMessage({ chatId: CHAT, text: "/list" });
  const list = await telegram.waitForSent((m) => m.reply_to_message_id === listId);
  assert.match(list.text, new RegExp(`• ${sessionId} — completed`));

  const statusId = telegram.userMessage({ chatId: CHAT, text: `/status ${sessionId}` });
  const status = await telegram.waitForSent((m) => m.reply_to_message_id === statusId);
  assert.match(status.text, /status: completed · 1 turn · \$[\d.]+$/m);
  assert.match(status.text, /built by telegram$/);

  const unknownId = telegram.userMessage({ chatId: CHAT, text: "/status no-such-session" });
  const unknown = await telegram.waitForSent((m) => m.reply_to_message_id === unknownId);
  assert.match(unknown.text, /^⚠️ no session with id or name "no-such-session"/);

  const killId = telegram.userMessage({ chatId: CHAT, text: `/kill ${sessionId}` });
  const killed = await telegram.waitForSent((m) => m.reply_to_message_id === killId);
  assert.match(killed.text, /^🛑 Killed ses_\w+/);
  assert.equal((await h.client.get(sessionId)).status, "killed");
  const killEvent = await h.waitFor(isTopic("session.killed", sessionId));
  assert.equal(killEvent.data.by, `telegram:${CHAT}`, "the audit names the chat, the principal that acted");
});

test("a permission request shows Approve/Deny buttons that answer through the PermissionResolver", async (t) => {
  const { h, telegram } = await startWithTelegram(t);
  const calls: { session: string; requestId: string; answer: PermissionAnswer }[] = [];
  const resolver: PermissionResolver = {
    async resolve(session, requestId, answer) {
      calls.push({ session, requestId, answer });
    },
  };
  h.baton.notifier.setPermissionResolver(resolver);
  const session = await h.client.spawn({
    prompt: "@say waiting",
    workDir: h.tempDir(),
    notify: { channel: "telegram", target: CHAT },
  });
  await h.waitFor(isTurnEnd(session.id));
  // The permission flow itself is the sessions side's; here its event is recorded as that side will.
  for (const requestId of ["req_approve", "req_deny"]) {
    await h.baton.log.write(({ emit }) =>
      emit("session.permission_requested", session.id, {
        requestId,
        toolName: "Bash",
        toolUseId: `toolu_${requestId}`,
        input: { command: "rm -rf build" },
      }),
    );
  }
  const approveMessage = await telegram.waitForSent(
    (m) =>
      m.text.includes("asks to use Bash") &&
      m.reply_markup !== undefined &&
      m.reply_markup.inline_keyboard?.[0]?.[0]?.callback_data === "perm:req_approve:allow",
  );
  const denyMessage = await telegram.waitForSent(
    (m) => m.reply_markup?.inline_keyboard?.[0]?.[1]?.callback_data === "perm:req_deny:deny",
  );
  assert.match(approveMessage.text, /rm -rf build/);
  assert.deepEqual(
    approveMessage.reply_markup?.inline_keyboard?.[0]?.map((button) => button.text),
    ["Approve", "Deny"],
  );

  // A stranger pressing the button is ignored entirely.
  telegram.pressButton({
    chatId: STRANGER,
    messageId: approveMessage.message_id,
    data: "perm:req_approve:allow",
  });
  const approveQuery = telegram.pressButton({
    chatId: CHAT,
    messageId: approveMessage.message_id,
    data: "perm:req_approve:allow",
  });
  const denyQuery = telegram.pressButton({
    chatId: CHAT,
    messageId: denyMessage.message_id,
    data: "perm:req_deny:deny",
    username: "bob",
  });
  await waitUntil(() => denyMessage.edits.length > 0 || undefined, 10_000, "the deny message edited");

  assert.deepEqual(calls, [
    { session: session.id, requestId: "req_approve", answer: { behavior: "allow", by: `telegram:${CHAT}` } },
    {
      session: session.id,
      requestId: "req_deny",
      answer: { behavior: "deny", by: `telegram:${CHAT}`, message: `Denied by telegram:${CHAT}` },
    },
  ]);
  assert.deepEqual(
    telegram.callbackAnswers.map((answer) => [answer.callback_query_id, answer.text]),
    [
      [approveQuery, "Approved"],
      [denyQuery, "Denied"],
    ],
  );
  assert.match(approveMessage.edits.at(-1) ?? "", /\n\n✅ Approved by alice$/);
  assert.match(denyMessage.edits.at(-1) ?? "", /\n\n🚫 Denied by bob$/);
});

test("end to end: a real permission request is approved by a Telegram button press and the tool runs", async (t) => {
  const { h, telegram } = await startWithTelegram(t);
  const workDir = h.tempDir();
  const session = await h.client.spawn({
    prompt: "@bash echo from-telegram > approved.txt\n@say approved and written",
    workDir,
    permissionMode: "default",
    notify: { channel: "telegram", target: CHAT },
  });
  const requested = await h.waitFor(isTopic("session.permission_requested", session.id));
  const message = await telegram.waitForSent(
    (m) =>
      m.reply_markup?.inline_keyboard?.[0]?.[0]?.callback_data === `perm:${requested.data.requestId}:allow`,
  );
  assert.match(message.text, /echo from-telegram > approved\.txt/);
  telegram.pressButton({
    chatId: CHAT,
    messageId: message.message_id,
    data: `perm:${requested.data.requestId}:allow`,
  });

  const resolved = await h.waitFor(isTopic("session.permission_resolved", session.id));
  assert.deepEqual([resolved.data.decision, resolved.data.by], ["allow", `telegram:${CHAT}`]);
  const end = await h.waitFor(isTurnEnd(session.id));
  assert.equal(end.data.result, "approved and written");
  const { readFileSync } = await import("node:fs");
  assert.equal(readFileSync(`${workDir}/approved.txt`, "utf8").trim(), "from-telegram");
});

test("a chat mapped to an owner acts as that user: it sees and stops only its owner's sessions", async (t) => {
  const { h, telegram } = await startWithTelegram(t, { telegramChatOwners: { [CHAT]: "alice" } });
  const theirs = await h.client.spawn({
    prompt: "@say bob's",
    workDir: h.tempDir(),
    owner: "bob",
    name: "bobs",
  });
  await h.waitFor(isTurnEnd(theirs.id));

  const newId = telegram.userMessage({ chatId: CHAT, text: `/new ${h.tempDir()} @say alice's` });
  const started = await telegram.waitForSent((m) => m.reply_to_message_id === newId);
  const mine = /\b(ses_\w+)\b/.exec(started.text)?.[1] ?? "";
  assert.equal((await h.client.get(mine)).owner, "alice", "the chat spawns as its owner");
  await h.waitFor(isTurnEnd(mine));

  const listId = telegram.userMessage({ chatId: CHAT, text: "/list" });
  const list = await telegram.waitForSent((m) => m.reply_to_message_id === listId);
  assert.match(list.text, new RegExp(mine));
  assert.doesNotMatch(list.text, /bobs/);

  const killId = telegram.userMessage({ chatId: CHAT, text: "/kill bobs" });
  const refused = await telegram.waitForSent((m) => m.reply_to_message_id === killId);
  assert.match(refused.text, new RegExp(`^⚠️ telegram:${CHAT} may not kill session "bobs"`));
  assert.equal((await h.client.get(theirs.id)).status, "completed", "bob's session lives");
});

test("with a keyTemplates entry, a chat's plain messages are one conversation: the session keyed by the chat", async (t) => {
  const { h, telegram } = await startWithTelegram(t);
  await h.restart({ keyTemplates: [{ prefix: "telegram:", template: { workDir: h.tempDir() } }] });

  const firstId = telegram.userMessage({ chatId: CHAT, text: "@say hello from the chat" });
  const started = await telegram.waitForSent((m) => m.reply_to_message_id === firstId);
  assert.match(started.text, /^🚀 Started this chat's session/);
  const session = await h.client.getByKey(`telegram:${CHAT}`);
  assert.deepEqual(session.config.notify, { channel: "telegram", target: CHAT });
  await telegram.waitForSent((m) => m.chat_id === CHAT && m.text.endsWith("hello from the chat"));

  const secondId = telegram.userMessage({ chatId: CHAT, text: "@say and again" });
  const sent = await telegram.waitForSent((m) => m.reply_to_message_id === secondId);
  assert.match(sent.text, /^📨 Sent to this chat's session/);
  await telegram.waitForSent((m) => m.chat_id === CHAT && m.text.endsWith("and again"));
  assert.equal((await h.client.getByKey(`telegram:${CHAT}`)).id, session.id, "the same conversation");
  assert.match(JSON.stringify(h.mock.requests.at(-1)?.body), /hello from the chat/);
});
