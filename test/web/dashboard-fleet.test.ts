import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { Page } from "playwright-core";
import type { Session } from "../../src/sessions/session-schema.ts";
import { startHarness } from "../support/harness.ts";
import { isTopic, isTurnEnd } from "../support/wait-for-event.ts";
import { launchBrowser, logInWithToken, seriousA11yViolations, story } from "./browser.ts";

const FLEET = 1000;
const LONG = { timeout: 60_000 };
/** Three pieces a second apart: long enough to watch the text grow in the page. */
const STREAMED = "Streaming answers arrive piece by piece so a person can read along while the model writes";

/** Moves within the page (no reload): the page's one WebSocket stays open. */
async function openHash(page: Page, hash: string): Promise<void> {
  await page.evaluate((target) => {
    (globalThis as unknown as { location: { hash: string } }).location.hash = target;
  }, hash);
}

// Storing a thousand sessions through the API is most of this file's time (a commit each): on a loaded
// two-core machine well over the suite's default 240 s per test, hence its own limit.
test("Mission Control with a big fleet: a virtualised list, why sessions wait, locks, queued messages, edited input, streamed text", {
  timeout: 600_000,
}, async (t) => {
  const browser = await launchBrowser(t);
  const h = await startHarness(t, {
    // One slot per owner: the bulk owner's first session holds it (asking a person), the rest queue.
    maxPerOwner: 1,
    maxConcurrent: 4,
    maxQueue: FLEET + 10,
    queueTimeoutMs: 3_600_000,
    spawnRatePerMinute: 0,
    outputDeltaMs: 50,
  });
  // Chromium's own line for the login probe the API refuses before the token is pasted.
  const watched = await browser.newPage({ allowConsole: [/status of 401/] });
  const { page } = watched;
  const sockets: string[] = [];
  const apiCalls: string[] = [];
  page.on("websocket", (socket) => sockets.push(socket.url()));
  page.on("request", (request) => {
    if (!request.url().includes("/assets/") && request.resourceType() !== "document")
      apiCalls.push(request.url());
  });
  const workDir = h.tempDir();
  let listedAtLoad = 0;
  /** Whole-fleet listings (a queue move re-reads only `status=queued`). */
  const fleetLists = () => apiCalls.filter((url) => /\/sessions\?(?!.*status=)/.test(url)).length;

  await story(
    t,
    `${FLEET} sessions: only rows near the viewport are in the DOM; scrolling reveals the oldest`,
    watched,
    async () => {
      const blocker = await h.client.spawn({
        prompt: "@bash echo first > first.txt\n@say done",
        workDir,
        owner: "bulk",
        permissionMode: "default",
      });
      await h.waitFor(isTopic("session.permission_requested", blocker.id), { timeoutMs: 60_000 });
      const spawning = performance.now();
      for (let start = 1; start < FLEET; start += 50) {
        await Promise.all(
          Array.from({ length: Math.min(50, FLEET - start) }, (_, offset) =>
            h.client.spawn({ prompt: `@say queued ${start + offset}`, workDir, owner: "bulk" }),
          ),
        );
      }
      t.diagnostic(`stored ${FLEET} sessions in ${Math.round(performance.now() - spawning)} ms`);
      const newest = (await h.client.list({ limit: 1 })).sessions[0];
      assert.ok(newest?.queuePosition, "the newest bulk session is queued");

      await logInWithToken(page, h.url, h.token);
      await page.getByText(`${FLEET} of ${FLEET} sessions`).waitFor(LONG);
      listedAtLoad = fleetLists();
      const top = page.locator(`tr[data-session="${newest.id}"]`);
      await top.getByText(`#${newest.queuePosition} in queue`).waitFor();
      await top.getByText("waits for a free slot").waitFor();
      const rendered = await page.locator("tr[data-session]").count();
      assert.ok(rendered > 0 && rendered < 100, `${rendered} rows in the DOM for ${FLEET} sessions`);
      assert.equal(
        await page.locator("table.fleet").first().getAttribute("aria-rowcount"),
        String(FLEET + 1),
      );
      assert.deepEqual(await seriousA11yViolations(page), [], "a big fleet");

      const callsBefore = apiCalls.length;
      await page.evaluate(() => {
        const root = globalThis as unknown as {
          scrollTo(x: number, y: number): void;
          document: { body: { scrollHeight: number } };
        };
        root.scrollTo(0, root.document.body.scrollHeight);
      });
      const oldest = page.locator(`tr[data-session="${blocker.id}"]`);
      await oldest.getByText("needs you: approve").waitFor();
      await oldest.getByText("waits for a permission answer").waitFor();
      assert.equal(
        await oldest.getAttribute("aria-rowindex"),
        String(FLEET + 1),
        "the oldest is the last row",
      );
      await top.waitFor({ state: "detached" });
      const afterScroll = await page.locator("tr[data-session]").count();
      assert.ok(afterScroll < 100, `${afterScroll} rows in the DOM after scrolling`);
      assert.deepEqual(apiCalls.slice(callsBefore), [], "scrolling asks the API for nothing");
      const scrollToTop = () =>
        page.evaluate(() =>
          (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0),
        );
      await scrollToTop();
      // Keyboard: Tab walks row to row past the rows first rendered (focus scrolls, the list follows).
      await top.getByRole("link").focus();
      for (let step = 0; step < 40; step += 1) await page.keyboard.press("Tab");
      const focusedRow = await page.evaluate(() => {
        const doc = globalThis as unknown as {
          document: { activeElement: { closest(s: string): { getAttribute(a: string): string } | null } };
        };
        return doc.document.activeElement.closest("tr")?.getAttribute("aria-rowindex");
      });
      assert.equal(focusedRow, "42", "40 Tabs from the first row reach row 42");
      await scrollToTop();

      // The head of the queue goes: everyone behind it moves up (a session.queued each), and the page takes
      // the positions from those events instead of re-reading a thousand sessions.
      let head: Session | undefined;
      let cursor: string | null = null;
      do {
        const listed: { sessions: Session[]; nextCursor: string | null } = await h.client.list({
          status: "queued",
          limit: 500,
          ...(cursor && { cursor }),
        });
        head ??= listed.sessions.find((session) => session.queuePosition === 1);
        cursor = listed.nextCursor;
      } while (cursor);
      assert.ok(head);
      const callsAtKill = apiCalls.length;
      await h.client.kill(head.id);
      await top.getByText(`#${newest.queuePosition - 1} in queue`).waitFor(LONG);
      const reads = apiCalls.slice(callsAtKill).filter((url) => /\/sessions\/ses_[^/?]+$/.test(url));
      assert.ok(reads.length < 10, `${reads.length} sessions re-read after a queue move`);
    },
  );

  const lockDir = h.tempDir();
  let holderId = "";
  let waiterId = "";
  await story(
    t,
    "why a session waits (a lock), the locks a session holds and the messages queued for it",
    watched,
    async () => {
      const holder = await h.client.spawn({
        prompt: "@bash echo original > a.txt\n@say holder done",
        workDir: lockDir,
        owner: "lock-a",
        name: "holder",
        permissionMode: "default",
      });
      holderId = holder.id;
      await h.waitFor(isTopic("session.permission_requested", holder.id), { timeoutMs: 60_000 });
      await h.client.lock(holder.id, { reason: "dashboard test" });
      await h.client.send(holder.id, { text: "@say the queued message arrived", mode: "queue" });
      const waiter = await h.client.spawn({
        prompt: "@write b.txt from the waiter\n@say waiter done",
        workDir: lockDir,
        owner: "lock-b",
        name: "waiter",
      });
      waiterId = waiter.id;
      await h.waitFor(isTopic("session.lock_waiting", waiter.id), { timeoutMs: 60_000 });

      await page.getByLabel("Search").fill("waiter");
      const row = page.locator(`tr[data-session="${waiter.id}"]`);
      await row.locator('[data-wait="lock"]').getByText(lockDir, { exact: false }).waitFor();
      await page.getByLabel("Search").fill("");

      await openHash(page, `#/s/${waiter.id}`);
      await page.getByTestId("waiting-on").getByText("waits for a workspace lock").waitFor();
      const locks = page.getByRole("region", { name: "Locks" });
      await locks.getByText("waits for").waitFor();
      await locks.getByRole("link", { name: "holder" }).waitFor();

      await openHash(page, `#/s/${holder.id}`);
      await page.getByTestId("waiting-on").getByText("waits for a permission answer").waitFor();
      await page
        .getByRole("region", { name: "Locks" })
        .locator(`[data-lock="workdir:${lockDir}"]`)
        .getByText("dashboard test")
        .waitFor();
      await page
        .getByRole("region", { name: "Queued messages" })
        .getByText("@say the queued message arrived")
        .waitFor();
    },
  );

  await story(
    t,
    "Allow with an edited input and a message: the tool runs with what the person wrote",
    watched,
    async () => {
      const card = page.getByRole("article", { name: "Permission: Bash" });
      await card.getByText("Edit the input, then allow").click();
      assert.deepEqual(await seriousA11yViolations(page), [], "session view with locks, queue, edit box");
      const editor = card.getByLabel("Edited input (JSON)");
      const original = JSON.parse(await editor.inputValue()) as Record<string, unknown>;
      assert.equal(original.command, "echo original > a.txt");
      await editor.fill("not json");
      await card.getByRole("button", { name: "Allow with edited input" }).click();
      await card.getByRole("alert").getByText("must be a JSON object").waitFor();
      await editor.fill(JSON.stringify({ ...original, command: "echo edited > a.txt" }));
      await card.getByLabel("Message to the agent (optional)").fill("ran it with my command");
      await card.getByRole("button", { name: "Allow with edited input" }).click();

      const end = await h.waitFor(isTurnEnd(holderId), { timeoutMs: 60_000 });
      assert.equal(end.topic, "session.completed");
      assert.equal(readFileSync(join(lockDir, "a.txt"), "utf8").trim(), "edited");
      await page.getByText("with edited input: “ran it with my command”").waitFor();
      // The turn's end released the lock and delivered the queued message; the waiter went on.
      await page
        .locator('[data-topic="session.output"]')
        .getByText("the queued message arrived")
        .waitFor(LONG);
      await page.getByRole("region", { name: "Queued messages" }).getByText("No message waits").waitFor();
      await page.getByRole("region", { name: "Locks" }).getByText("Holds no lock.").waitFor();
      await h.waitFor(isTurnEnd(waiterId), { timeoutMs: 60_000 });
      assert.ok(existsSync(join(lockDir, "b.txt")));
    },
  );

  await story(t, "streamed assistant text grows on screen before the turn ends", watched, async () => {
    const session = await h.client.spawn({
      prompt: `@pace 1000\n@say ${STREAMED}`,
      workDir,
      owner: "streamer",
      name: "streamer",
    });
    await openHash(page, `#/s/${session.id}`);
    await page.getByRole("heading", { name: /streamer/ }).waitFor();
    const readStream = () =>
      page.evaluate(() => {
        const doc = (
          globalThis as unknown as { document: { querySelector(s: string): { textContent: string } | null } }
        ).document;
        return {
          text: doc.querySelector("[data-streaming] .text")?.textContent ?? "",
          ended: doc.querySelector('[data-topic="session.completed"]') !== null,
        };
      });
    const streaming = page.locator("[data-streaming] .text");
    await streaming.waitFor(LONG);
    const first = await readStream();
    assert.equal(first.ended, false, "the turn has not ended");
    assert.ok(first.text.length > 0 && first.text.length < STREAMED.length, `a piece: "${first.text}"`);
    assert.ok(STREAMED.startsWith(first.text), "the first piece begins the text");
    await page.waitForFunction(
      (length) => {
        const doc = (
          globalThis as unknown as { document: { querySelector(s: string): { textContent: string } | null } }
        ).document;
        return (doc.querySelector("[data-streaming] .text")?.textContent?.length ?? 0) > length;
      },
      first.text.length,
      LONG,
    );
    const grown = await readStream();
    assert.equal(grown.ended, false);
    assert.ok(STREAMED.startsWith(grown.text) && grown.text.length > first.text.length);
    await page.locator('[data-topic="session.output"]').getByText(STREAMED).waitFor(LONG);
    await streaming.waitFor({ state: "detached" });
    await page.locator('[data-topic="session.completed"]').waitFor(LONG);
  });

  await story(t, "all along: one WebSocket, and no polling", watched, async () => {
    assert.equal(sockets.length, 1, `WebSockets opened: ${sockets.join(", ")}`);
    // Events since then (spawns, turns, locks) updated single sessions; the fleet was never listed again.
    assert.ok(listedAtLoad >= FLEET / 500, `the fleet was listed in pages at load (${listedAtLoad})`);
    assert.equal(fleetLists(), listedAtLoad, "no re-listing, no polling");
  });
});
