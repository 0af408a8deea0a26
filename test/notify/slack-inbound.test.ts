import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import type { Settings } from "../../src/core/settings-schema.ts";
import { type FakeSlack, type SlackMessage, signLikeSlack, startFakeSlack } from "../support/fake-slack.ts";
import { type Harness, startHarness } from "../support/harness.ts";
import { isTopic } from "../support/wait-for-event.ts";
import { waitUntil } from "../support/wait-until.ts";

const SECRET = "8f742231b10e8888abcd99yyyzzz85a5";
const BOT_USER = "U0BATON";
/** A channel Baton obeys, as an admin; keyTemplates has `slack:C` for it. */
const TEAM = "C0TEAM";
/** Obeyed, but no template matches `slack:G…`. */
const QUIET = "G0QUIET";
/** A template would match, but it is not in slackChannelIds. */
const STRANGER = "C0STRANGER";
/** A DM owned by alice (slackChannelOwners), with a `slack:D` template. */
const ALICE_DM = "D0ALICE";

interface Slackside {
  h: Harness;
  slack: FakeSlack;
  /** Posts an Events API request signed as Slack would; the answer as the test sees it. */
  deliver(body: unknown, headers?: Record<string, string>): Promise<{ status: number; json: unknown }>;
  /** Waits for Baton's answer in a channel (and thread) whose text ends with `ending`. */
  answer(channel: string, ending: string, threadTs?: string): Promise<SlackMessage>;
}

async function startWithSlack(t: TestContext, extra: Partial<Settings> = {}): Promise<Slackside> {
  const slack = await startFakeSlack();
  const workDir = mkdtempSync(join(tmpdir(), "baton-slack-"));
  const h = await startHarness(t, {
    allowPrivateTargets: true,
    outboxJitter: false,
    slackBotToken: slack.token,
    slackApiUrl: slack.apiUrl,
    slackSigningSecret: SECRET,
    slackChannelIds: [TEAM, QUIET, ALICE_DM],
    slackChannelOwners: { [ALICE_DM]: "alice" },
    keyTemplates: [
      { prefix: "slack:C", template: { workDir } },
      { prefix: "slack:D", template: { workDir } },
    ],
    ...extra,
  });
  t.after(async () => {
    await slack.stop();
    rmSync(workDir, { recursive: true, force: true });
  });
  return {
    h,
    slack,
    async deliver(body, headers = {}) {
      const signed = signLikeSlack(body, SECRET);
      const response = await fetch(`${h.url}/slack/events`, {
        method: "POST",
        headers: { ...signed.headers, ...headers },
        body: signed.body,
      });
      const text = await response.text();
      return { status: response.status, json: text ? JSON.parse(text) : undefined };
    },
    answer: (channel, ending, threadTs) =>
      waitUntil(
        () =>
          slack
            .messages()
            .find(
              (m) =>
                m.via === "webApi" &&
                m.channel === channel &&
                m.threadTs === threadTs &&
                m.text.endsWith(ending),
            ),
        60_000,
        `an answer in ${channel}${threadTs ? ` thread ${threadTs}` : ""} ending "${ending}"`,
      ),
  };
}

let clock = 1_712_000_000;
/** A fresh Slack message timestamp (`ts`): unique per channel, as Slack's are. */
function nextTs(): string {
  clock += 1;
  return `${clock}.000100`;
}

/** An `event_callback` for a person's message, shaped like Slack's. */
function messageEvent(options: {
  channel: string;
  text: string;
  ts?: string;
  threadTs?: string;
  eventId?: string;
  type?: "message" | "app_mention";
  event?: Record<string, unknown>;
}): Record<string, unknown> {
  const ts = options.ts ?? nextTs();
  return {
    token: "legacy-verification-token",
    team_id: "T0TEAM",
    api_app_id: "A0BATON",
    type: "event_callback",
    event_id: options.eventId ?? `Ev${ts.replace(".", "")}${options.type ?? "message"}`,
    event_time: Math.floor(Number(ts)),
    authorizations: [{ team_id: "T0TEAM", user_id: BOT_USER, is_bot: true, is_enterprise_install: false }],
    event: {
      type: options.type ?? "message",
      channel: options.channel,
      channel_type: options.channel.startsWith("D") ? "im" : "channel",
      user: "U0ALICE",
      text: options.text,
      ts,
      event_ts: ts,
      ...(options.threadTs ? { thread_ts: options.threadTs } : {}),
      ...options.event,
    },
  };
}

function instructions(h: Harness): string[] {
  return h.mock.requests.map((request) => request.instruction ?? "");
}

test("url_verification is answered with its challenge; unsigned, forged and stale requests are 401 and change nothing", async (t) => {
  const { h, slack, deliver, answer } = await startWithSlack(t);
  const challenge = await deliver({
    token: "x",
    challenge: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
    type: "url_verification",
  });
  assert.deepEqual(challenge, {
    status: 200,
    json: { challenge: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" },
  });

  const forged = messageEvent({ channel: TEAM, text: "@say forged" });
  const post = (headers: Record<string, string>, body = JSON.stringify(forged)) =>
    fetch(`${h.url}/slack/events`, { method: "POST", headers, body }).then(async (response) => ({
      status: response.status,
      code: ((await response.json()) as { error: { code: string } }).error.code,
    }));
  const json = { "content-type": "application/json" };
  const unauthenticated = { status: 401, code: "UNAUTHENTICATED" };
  // No signature, even with Baton's admin token: a Baton token is not what opens this route.
  assert.deepEqual(await post({ ...json, authorization: `Bearer ${h.token}` }), unauthenticated);
  // Signed with another secret.
  assert.deepEqual(await post(signLikeSlack(forged, "not-the-secret").headers), unauthenticated);
  // Signed correctly, then the body altered on the way.
  const signed = signLikeSlack(forged, SECRET);
  assert.deepEqual(await post(signed.headers, signed.body.replace("forged", "altered")), unauthenticated);
  // Signed correctly six minutes ago: a replay.
  const stale = signLikeSlack(forged, SECRET, Math.floor(Date.now() / 1000) - 6 * 60);
  assert.deepEqual(await post(stale.headers, stale.body), unauthenticated);
  // Signed, but not an envelope: 400 naming what is wrong.
  const notEnvelope = signLikeSlack("just a string", SECRET);
  assert.deepEqual(await post(notEnvelope.headers, notEnvelope.body), {
    status: 400,
    code: "VALIDATION_FAILED",
  });

  // The inbox works in arrival order: once a later message is answered, the forged ones would have been too.
  assert.equal((await deliver(messageEvent({ channel: TEAM, text: "@say genuine" }))).status, 200);
  await answer(TEAM, "genuine");
  const { sessions } = await h.client.list({});
  assert.equal(sessions.length, 1, "only the genuine message made a session");
  assert.ok(!instructions(h).some((text) => /forged|altered/.test(text)), "no forged text reached the model");
  assert.equal(slack.messages().length, 1);
});

test("a channel is one conversation: two messages, one keyed session, answered in the channel; a thread is its own", async (t) => {
  const { h, slack, deliver, answer } = await startWithSlack(t);
  const first = messageEvent({
    channel: TEAM,
    text: `<@${BOT_USER}> @say hello from the channel`,
    type: "app_mention",
  });
  assert.deepEqual(await deliver(first), { status: 200, json: {} });
  const reply = await answer(TEAM, "hello from the channel");
  assert.match(reply.text, /^✅ ses_\w+ completed · 1 turn/);
  const session = await h.client.getByKey(`slack:${TEAM}`);
  assert.deepEqual(session.config.notify, { channel: "slack", target: TEAM });
  assert.equal(session.owner, `slack:${TEAM}`, "an admin channel's sessions are the channel's own");
  assert.equal(h.mock.requests.at(-1)?.instruction, "@say hello from the channel", "the mention is dropped");

  await deliver(messageEvent({ channel: TEAM, text: "@say and again &amp; more" }));
  const second = await answer(TEAM, "and again & more");
  assert.match(second.text, /completed · 2 turns/);
  assert.equal((await h.client.getByKey(`slack:${TEAM}`)).id, session.id, "the same conversation");
  assert.match(
    JSON.stringify(h.mock.requests.at(-1)?.body),
    /hello from the channel/,
    "the model sees history",
  );

  // A reply inside a thread starts that thread's own conversation, answered in the thread.
  const parentTs = nextTs();
  await deliver(messageEvent({ channel: TEAM, text: "@say in the thread", threadTs: parentTs }));
  const inThread = await answer(TEAM, "in the thread", parentTs);
  assert.match(inThread.text, /completed · 1 turn/);
  const threadSession = await h.client.getByKey(`slack:${TEAM}:${parentTs}`);
  assert.notEqual(threadSession.id, session.id);
  assert.doesNotMatch(JSON.stringify(h.mock.requests.at(-1)?.body), /hello from the channel/);
  assert.equal(
    slack.messages().filter((m) => m.threadTs === undefined).length,
    2,
    "two answers in the channel",
  );
});

test("Slack's retries and twin events reach the session once; bots, edits, unlisted channels and keys without a template are ignored", async (t) => {
  const { h, slack, deliver, answer } = await startWithSlack(t);
  const ts = nextTs();
  const once = messageEvent({ channel: TEAM, text: `<@${BOT_USER}> @say only once`, ts, eventId: "Ev0ONCE" });
  assert.equal((await deliver(once)).status, 200);
  // Slack retries the same event (no answer within 3 s, say), and the mention also arrives as app_mention.
  assert.equal(
    (await deliver(once, { "x-slack-retry-num": "1", "x-slack-retry-reason": "http_timeout" })).status,
    200,
  );
  const twin = messageEvent({
    channel: TEAM,
    text: `<@${BOT_USER}> @say only once`,
    ts,
    type: "app_mention",
  });
  assert.equal((await deliver(twin)).status, 200);
  await answer(TEAM, "only once");

  const ignored = [
    messageEvent({
      channel: TEAM,
      text: "@say from a bot",
      event: { subtype: "bot_message", bot_id: "B0OTHER" },
    }),
    messageEvent({
      channel: TEAM,
      text: "@say from baton itself",
      event: { bot_id: "B0BATON", user: BOT_USER },
    }),
    messageEvent({ channel: TEAM, text: "@say as a bot user", event: { user: BOT_USER } }),
    messageEvent({
      channel: TEAM,
      text: "",
      event: { subtype: "message_changed", message: { text: "@say an edit", user: "U0ALICE" } },
    }),
    messageEvent({ channel: STRANGER, text: "@say from a stranger" }),
    messageEvent({ channel: QUIET, text: "@say no template" }),
  ];
  for (const event of ignored) assert.deepEqual(await deliver(event), { status: 200, json: {} });
  // In arrival order: when this is answered, everything above was dealt with.
  await deliver(messageEvent({ channel: TEAM, text: "@say barrier" }));
  await answer(TEAM, "barrier");

  const said = instructions(h);
  assert.equal(said.filter((text) => text === "@say only once").length, 1, "delivered once");
  for (const text of ["from a bot", "baton itself", "as a bot user", "an edit", "stranger", "no template"]) {
    assert.ok(!said.some((instruction) => instruction.includes(text)), `"${text}" reached no session`);
  }
  const { sessions } = await h.client.list({});
  assert.deepEqual(
    sessions.map((session) => session.id),
    [(await h.client.getByKey(`slack:${TEAM}`)).id],
  );
  assert.deepEqual(
    slack.messages().map((m) => m.text.split("\n\n").at(-1)),
    ["only once", "barrier"],
  );
});

test("a DM owned by alice acts as alice: its session is alice's, and it may not message another owner's key", async (t) => {
  const { h, deliver, answer } = await startWithSlack(t);
  await deliver(messageEvent({ channel: ALICE_DM, text: "@say hi alice" }));
  await answer(ALICE_DM, "hi alice");
  const session = await h.client.getByKey(`slack:${ALICE_DM}`);
  assert.equal(session.owner, "alice");

  // The key passes to bob (killed and taken over by an admin spawn for bob): alice's DM may not send to it.
  await h.client.kill(session.id);
  await h.waitFor(isTopic("session.killed", session.id));
  const bobs = await h.client.spawn({
    prompt: "@say bob holds it",
    workDir: String(session.config.workDir),
    owner: "bob",
    key: `slack:${ALICE_DM}`,
  });
  await h.waitFor(isTopic("session.completed", bobs.id));
  await deliver(messageEvent({ channel: ALICE_DM, text: "@say sneaking in" }));
  const refused = await answer(ALICE_DM, `it belongs to another owner`);
  assert.match(refused.text, new RegExp(`^⚠️ slack:${ALICE_DM} may not send a message to session`));
  assert.ok(!instructions(h).includes("@say sneaking in"));
});

test("a message stored but not yet handed over when Baton stops reaches its session after the restart", async (t) => {
  const { h, slack, deliver, answer } = await startWithSlack(t);
  // As if Baton were stopping: the inbox takes no more work, the route still stores and acknowledges.
  await h.baton.notifier.slackInbox?.stop();
  assert.deepEqual(await deliver(messageEvent({ channel: TEAM, text: "@say kept across a restart" })), {
    status: 200,
    json: {},
  });
  assert.deepEqual((await h.client.list({})).sessions, [], "nothing was handed over yet");
  assert.equal(slack.messages().length, 0);

  await h.restart();
  await answer(TEAM, "kept across a restart");
  assert.equal((await h.client.getByKey(`slack:${TEAM}`)).status, "completed");
});
