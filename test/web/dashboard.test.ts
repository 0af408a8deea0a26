import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { BatonClient } from "../../src/client/baton-client.ts";
import { startHarness } from "../support/harness.ts";
import { SLOW_SCRIPT } from "../support/slow-sessions.ts";
import { isTopic, isTurnEnd } from "../support/wait-for-event.ts";
import { launchBrowser, logInWithToken, seriousA11yViolations, story } from "./browser.ts";

const VIEWER = "dashboard-viewer-token-000000000";
const ALICE = "dashboard-alice-token-0000000000";
/** Chromium's own console line for a request the API refused: expected on the login page (not logged in). */
const REFUSED = /Failed to load resource: the server responded with a status of 401/;
/** Writing through the shell needs approval in "default" permission mode. */
const GUARDED = "@bash echo approved > guarded.txt\n@say wrote it";
const LONG = { timeout: 60_000 };

test("Mission Control in a real browser: login, spawn, live fleet, approvals, follow-up, interrupt, kill, restart", async (t) => {
  // The browser first: its teardown (closing Chromium) runs before the harness's leak guard looks.
  const browser = await launchBrowser(t);
  const h = await startHarness(t, {
    tokens: [
      { name: "vera", token: VIEWER, role: "viewer" },
      { name: "alice", token: ALICE, role: "user", owner: "alice" },
    ],
  });
  const admin = await browser.newPage({ allowConsole: [REFUSED] });
  const { page } = admin;
  const workDir = h.tempDir();
  let formSession = "";

  await story(t, "a wrong token cannot log in", admin, async () => {
    await page.goto(h.url);
    await page.getByLabel("Token").fill("not-a-token-baton-knows");
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByRole("alert").filter({ hasText: "unknown or revoked token" }).waitFor();
    assert.equal(await page.getByRole("heading", { name: "Fleet" }).count(), 0);
    const cookies = await admin.context.cookies();
    assert.deepEqual(
      cookies.filter((cookie) => cookie.name === "baton_login"),
      [],
    );
    assert.deepEqual(await seriousA11yViolations(page), [], "login page");
  });

  await story(
    t,
    "log in with the token, spawn from the form: the session runs, completes, shows its tool call",
    admin,
    async () => {
      await logInWithToken(page, h.url, h.token);
      const cookie = (await admin.context.cookies()).find((entry) => entry.name === "baton_login");
      assert.ok(cookie?.httpOnly, "an HttpOnly cookie");
      assert.equal(cookie?.sameSite, "Strict");
      const visible = await page.evaluate<string>(
        "JSON.stringify([document.cookie, { ...localStorage }, { ...sessionStorage }])",
      );
      assert.ok(!visible.includes(h.token), "the page keeps no token");
      await page.getByRole("link", { name: "Spawn" }).click();
      assert.deepEqual(await seriousA11yViolations(page), [], "spawn form");
      await page.getByLabel("Prompt").fill("@bash echo from-the-dashboard > made.txt\n@say all done");
      admin.allowConsole.push(/status of 400/); // Chromium's line for the refusal this step provokes
      await page.getByLabel("Working folder (absolute path)").fill("not/absolute");
      await page.getByRole("button", { name: "Spawn" }).click();
      await page.getByRole("alert").filter({ hasText: "workDir must be an absolute path" }).waitFor();
      await page.getByLabel("Working folder (absolute path)").fill(workDir);
      await page.getByLabel("Name (optional)").fill("from-form");
      await page.getByLabel("Pre-approved tools (comma-separated, optional)").fill("Bash");
      await page.getByRole("button", { name: "Spawn" }).click();
      await page.getByRole("heading", { name: /from-form/ }).waitFor();
      await page.getByTestId("session-status").filter({ hasText: "completed" }).waitFor(LONG);
      const tool = page.locator('[data-topic="session.tool_use"]');
      await tool.locator("summary code").getByText("echo from-the-dashboard > made.txt").waitFor();
      await tool.locator(".good").filter({ hasText: "done" }).waitFor();
      await tool.locator("summary").click();
      await tool.getByRole("heading", { name: "Result" }).waitFor();
      await page.locator('[data-topic="session.output"]').getByText("all done").waitFor();
      assert.equal(readFileSync(join(workDir, "made.txt"), "utf8").trim(), "from-the-dashboard");
      formSession =
        (await h.client.list({})).sessions.find((session) => session.name === "from-form")?.id ?? "";
      assert.ok(formSession);
      assert.deepEqual(await seriousA11yViolations(page), [], "session view");
    },
  );

  await story(
    t,
    "the fleet updates live: a session spawned elsewhere appears and completes",
    admin,
    async () => {
      await page.getByRole("link", { name: "Fleet" }).click();
      await page.locator(`tr[data-session="${formSession}"]`).waitFor();
      const spawned = await h.client.spawn({ prompt: "@say from the API", workDir, name: "from-api" });
      const row = page.locator(`tr[data-session="${spawned.id}"]`);
      await row.getByRole("link", { name: "from-api" }).waitFor();
      await page.locator(`tr[data-session="${spawned.id}"][data-status="completed"]`).waitFor(LONG);
      await page.locator("body").click({ position: { x: 5, y: 300 } });
      await page.keyboard.press("/");
      assert.equal(
        await page.evaluate<string>("document.activeElement.type"),
        "search",
        "/ focuses the search",
      );
      await page.keyboard.type("from-api");
      await page.locator(`tr[data-session="${formSession}"]`).waitFor({ state: "detached" });
      await page.getByLabel("Search").fill("");
      assert.deepEqual(await seriousA11yViolations(page), [], "fleet view");
      await page.emulateMedia({ colorScheme: "dark" });
      assert.deepEqual(await seriousA11yViolations(page), [], "fleet view, dark");
      await page.setViewportSize({ width: 390, height: 800 });
      assert.deepEqual(await seriousA11yViolations(page), [], "fleet view on a phone");
      const overflow = await page.evaluate<number>("document.documentElement.scrollWidth - innerWidth");
      assert.ok(overflow <= 0, `no sideways scrolling on a phone (${overflow} px too wide)`);
      await page.setViewportSize({ width: 1280, height: 800 });
      await page.emulateMedia({ colorScheme: "light" });
    },
  );

  await story(t, "queue, locks and spend per owner and per day", admin, async () => {
    await page.getByRole("link", { name: "Queue & locks" }).click();
    await page.getByText("No session waits for a slot.").waitFor();
    await page.getByText("No locks held.").waitFor();
    const owners = page.getByRole("region", { name: "Spend per owner" });
    const fleet = await h.client.list({});
    const anonymous = fleet.sessions.filter((session) => session.owner === "anonymous");
    const row = owners.locator('tr[data-spend="anonymous"]');
    await row
      .locator("td")
      .nth(1)
      .filter({ hasText: String(anonymous.length) })
      .waitFor();
    const today = new Date().toISOString().slice(0, 10);
    await page.getByRole("region", { name: "Spend per day" }).locator(`tr[data-spend="${today}"]`).waitFor();
    assert.deepEqual(await seriousA11yViolations(page), [], "queue and locks");
    await page.getByRole("link", { name: "Fleet" }).click();
  });

  await story(t, "a default-mode session asks; the inbox shows it; Allow runs the tool", admin, async () => {
    const guarded = h.tempDir();
    const session = await h.client.spawn({ prompt: GUARDED, workDir: guarded, permissionMode: "default" });
    await h.waitFor(isTopic("session.permission_requested", session.id), { timeoutMs: 60_000 });
    await page.locator(`tr[data-session="${session.id}"]`).getByText("needs you: approve").waitFor();
    await page.getByRole("link", { name: /Approvals/ }).click();
    const card = page.getByRole("article", { name: "Permission: Bash" });
    await card.getByText("echo approved > guarded.txt").first().waitFor();
    assert.deepEqual(await seriousA11yViolations(page), [], "approvals inbox");
    await card.getByRole("button", { name: "Allow", exact: true }).click();
    const end = await h.waitFor(isTurnEnd(session.id), { timeoutMs: 60_000 });
    assert.equal(end.topic, "session.completed");
    assert.equal(readFileSync(join(guarded, "guarded.txt"), "utf8").trim(), "approved");
    await card.waitFor({ state: "detached" });
    await page.getByText("Nothing waits for you.").waitFor();
  });

  await story(
    t,
    "Deny with a message from the session view: the model receives the message",
    admin,
    async () => {
      const guarded = h.tempDir();
      const session = await h.client.spawn({ prompt: GUARDED, workDir: guarded, permissionMode: "default" });
      await h.waitFor(isTopic("session.permission_requested", session.id), { timeoutMs: 60_000 });
      await page.goto(`${h.url}/#/s/${session.id}`);
      const card = page.getByRole("article", { name: "Permission: Bash" });
      await card.getByLabel("Message to the agent (optional)").fill("not in this folder, please");
      await card.getByRole("button", { name: "Deny" }).click();
      const resolved = await h.waitFor(isTopic("session.permission_resolved", session.id));
      assert.equal(resolved.data.decision, "deny");
      await h.waitFor(isTurnEnd(session.id), { timeoutMs: 60_000 });
      assert.match(JSON.stringify(h.mock.requests.at(-1)?.body), /not in this folder, please/);
      assert.equal(existsSync(join(guarded, "guarded.txt")), false);
      await page.getByText("Permission denied for Bash").waitFor();
    },
  );

  await story(t, "Allow always: the same tool runs again without asking", admin, async () => {
    const folder = h.tempDir();
    const session = await h.client.spawn({
      prompt: "@bash echo one > one.txt\n@bash echo two > two.txt\n@say both",
      workDir: folder,
      permissionMode: "default",
    });
    await page.goto(`${h.url}/#/inbox`);
    const card = page.getByRole("article", { name: "Permission: Bash" });
    await card.getByRole("button", { name: "Allow always" }).click();
    const end = await h.waitFor(isTurnEnd(session.id), { timeoutMs: 60_000 });
    assert.equal(end.topic, "session.completed");
    assert.ok(existsSync(join(folder, "one.txt")) && existsSync(join(folder, "two.txt")));
    const { events } = await h.client.sessionEvents(session.id, { limit: 500 });
    assert.equal(events.filter((event) => event.topic === "session.permission_requested").length, 1);
  });

  await story(t, "send a follow-up from the session view", admin, async () => {
    await page.goto(`${h.url}/#/s/${formSession}`);
    const turnsBefore = await page.getByTestId("session-turns").textContent();
    await page.getByLabel("Follow-up message").fill("@say second answer");
    await page.getByLabel("Delivery").selectOption("queue");
    await page.getByRole("button", { name: "Send" }).click();
    await page.locator('[data-topic="session.output"]').getByText("second answer").waitFor(LONG);
    await page
      .getByTestId("session-turns")
      .filter({ hasNotText: turnsBefore ?? "" })
      .waitFor();
  });

  await story(t, "interrupt a slow tool, then kill the session after confirming", admin, async () => {
    const session = await h.client.spawn({
      prompt: SLOW_SCRIPT,
      workDir,
      allowedTools: ["Bash"],
      name: "slow",
    });
    await page.goto(`${h.url}/#/s/${session.id}`);
    await page.locator('[data-topic="session.tool_use"]').getByText("running…").waitFor(LONG);
    await page.getByRole("button", { name: "Interrupt" }).click();
    await h.waitFor(isTopic("session.interrupted", session.id));
    await page.locator('[data-topic="session.interrupted"]').waitFor();
    await page.getByRole("button", { name: "Kill…" }).click();
    await page.getByRole("button", { name: "Cancel" }).click();
    assert.notEqual((await h.client.get(session.id)).status, "killed", "Cancel kills nothing");
    await page.getByRole("button", { name: "Kill…" }).click();
    await page.getByRole("button", { name: "Yes, kill" }).click();
    await page.getByTestId("session-status").filter({ hasText: "killed" }).waitFor();
    assert.equal((await h.client.get(session.id)).status, "killed");
  });

  await story(
    t,
    "the page survives a Baton restart and shows what happened meanwhile, once",
    admin,
    async () => {
      // Chromium logs each refused reconnect; they are the point of this story.
      admin.allowConsole.push(/WebSocket connection to .* failed/, /ERR_CONNECTION_REFUSED/);
      await page.goto(`${h.url}/#/s/${formSession}`);
      await page.getByTestId("link-state").filter({ hasText: "live" }).waitFor();
      const port = Number(new URL(h.url).port);
      await h.restart({ port });
      const wasReconnecting = (await page.getByTestId("link-state").textContent())?.includes("reconnecting");
      await h.client.send(formSession, { text: "@say third answer" });
      const later = await h.client.spawn({ prompt: "@say spawned while away", workDir, name: "while-away" });
      await page.getByTestId("link-state").filter({ hasText: "live" }).waitFor(LONG);
      await page.locator('[data-topic="session.output"]').getByText("third answer").waitFor(LONG);
      await h.waitFor(isTurnEnd(later.id), { timeoutMs: 60_000 });
      const shown = await page
        .locator("[data-seq]")
        .evaluateAll((items) => items.map((item) => Number(item.getAttribute("data-seq"))));
      assert.equal(new Set(shown).size, shown.length, `no event shown twice: ${shown.join(",")}`);
      const { events } = await h.client.sessionEvents(formSession, { output: true, limit: 500 });
      const toolDone = new Set(events.filter((e) => e.topic === "session.tool_done").map((e) => e.seq));
      const expected = events.map((event) => event.seq).filter((seq) => !toolDone.has(seq));
      assert.deepEqual(
        shown,
        expected,
        "every event of the session, in order (tool results folded into calls)",
      );
      await page.getByRole("link", { name: "Fleet" }).click();
      await page.locator(`tr[data-session="${later.id}"]`).waitFor();
      t.diagnostic(`the page was ${wasReconnecting ? "" : "not "}reconnecting when Baton came back`);
    },
  );

  const viewerPage = await browser.newPage({ allowConsole: [/status of 403/, REFUSED] });
  await story(
    t,
    "a viewer logs in with a one-time link, sees no action buttons, and the API refuses it anyway",
    viewerPage,
    async () => {
      const { url } = await new BatonClient({ url: h.url, token: VIEWER }).loginLink();
      await viewerPage.page.goto(url);
      const viewer = viewerPage.page;
      await viewer.getByRole("heading", { name: "Fleet" }).waitFor();
      await viewer.getByText("viewer:vera (viewer)").waitFor();
      assert.equal(await viewer.getByRole("link", { name: "Spawn" }).count(), 0);
      await viewer.goto(`${h.url}/#/s/${formSession}`);
      await viewer.getByRole("heading", { name: "Activity" }).waitFor();
      assert.equal(await viewer.getByRole("button").filter({ hasNotText: "Log out" }).count(), 0);
      const status = await viewer.evaluate(async (id) => {
        const response = await fetch(`/sessions/${id}/kill`, {
          method: "POST",
          body: "{}",
          headers: { "content-type": "application/json" },
        });
        return response.status;
      }, formSession);
      assert.equal(status, 403);
      assert.notEqual((await h.client.get(formSession)).status, "killed");
    },
  );

  await story(t, "log out; a user logs in and sees only its own sessions", viewerPage, async () => {
    const { page: user } = viewerPage;
    await user.getByRole("button", { name: "Log out" }).click();
    await user.getByLabel("Token").waitFor();
    assert.equal((await viewerPage.context.cookies()).filter((c) => c.name === "baton_login").length, 0);
    const alice = new BatonClient({ url: h.url, token: ALICE });
    const own = await alice.spawn({ prompt: "@say mine", workDir, name: "alice-own" });
    await user.goto((await alice.loginLink()).url);
    await user.getByText("user:alice (user)").waitFor();
    await user.locator(`tr[data-session="${own.id}"]`).waitFor();
    assert.equal(await user.locator("tr[data-session]").count(), 1, "only alice's session");
    await user.getByRole("link", { name: "Spawn" }).waitFor();
  });
});
