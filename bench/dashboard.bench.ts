import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { DEFAULT_DASHBOARD_DIR } from "../src/api/routes/dashboard-routes.ts";
import { createBaton } from "../src/app.ts";
import { BatonClient } from "../src/client/baton-client.ts";
import { loadConfig } from "../src/core/config.ts";
import { testSettings } from "../test/support/harness.ts";
import { launchChromium } from "../test/web/browser.ts";
import { summarize } from "./stats.ts";
import { StubRunner } from "./stub-runner.ts";
import type { BenchTable } from "./table.ts";

const FLEET = 1000;
const LOADS = 5;
const LIVE_SAMPLES = 20;

/** The fleet's count line once every session is loaded (the list is virtualised: few rows are in the DOM). */
const FLEET_LOADED = `${FLEET} of ${FLEET} sessions`;

/**
 * Before the page's own scripts: the moment (since navigation start) the whole fleet is loaded and its first
 * rows are on screen.
 */
const WATCH_FLEET_RENDERED = `new MutationObserver((_, observer) => {
  if (document.querySelector("p.count")?.textContent === ${JSON.stringify(FLEET_LOADED)} &&
      document.querySelector("tr[data-session]")) {
    window.fleetRenderedAt = performance.now();
    observer.disconnect();
  }
}).observe(document, { childList: true, subtree: true })`;

/** From the first `GET /sessions` page's start to the last one's end: the API's share of the navigation. */
const LISTING_MS = `(() => {
  const pages = performance.getEntriesByType("resource").filter((entry) => /\\/sessions\\?/.test(entry.name));
  return Math.max(...pages.map((entry) => entry.responseEnd)) - Math.min(...pages.map((entry) => entry.startTime));
})()`;

/** Records, in the page, when each fleet row first appears (wall clock, comparable with Baton's event ts). */
const WATCH_ROWS = `(() => {
  window.rowSeenAt = {};
  new MutationObserver(() => {
    for (const row of document.querySelectorAll("tr[data-session]")) {
      const id = row.getAttribute("data-session");
      if (!(id in window.rowSeenAt)) window.rowSeenAt[id] = Date.now();
    }
  }).observe(document.body, { childList: true, subtree: true });
})()`;

/**
 * Mission Control in Debian's Chromium against a Baton whose agents are stubs (no `claude`; only Baton's and
 * the page's own work): the page weight, the time from navigation to a rendered fleet of 1,000 sessions, and
 * the time from a session's `session.created` event to its row on screen.
 */
export async function runDashboardBenchmark(options: { signal?: AbortSignal } = {}): Promise<BenchTable> {
  const root = mkdtempSync(join(tmpdir(), "baton-bench-dashboard-"));
  const settings = testSettings(root, "http://127.0.0.1:9", {
    maxConcurrent: 50,
    maxPerOwner: 50,
    spawnRatePerMinute: 0,
  });
  const baton = await createBaton(loadConfig({ env: {}, flags: settings }), { runner: new StubRunner(1) });
  const context = await launchChromium(mkdtempSync(join(root, "chromium-")));
  try {
    const url = await baton.listen();
    const client = new BatonClient({ url, token: baton.adminToken });
    const workDir = mkdtempSync(join(root, "work-"));
    for (let start = 0; start < FLEET; start += 25) {
      options.signal?.throwIfAborted();
      await Promise.all(
        Array.from({ length: Math.min(25, FLEET - start) }, (_, offset) =>
          client.spawn({
            prompt: `stub ${start + offset}`,
            workDir,
            owner: `owner-${(start + offset) % 10}`,
          }),
        ),
      );
    }
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(url);
    await page.getByLabel("Token").fill(baton.adminToken);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByText(FLEET_LOADED).waitFor({ timeout: 60_000 });
    await context.addInitScript(WATCH_FLEET_RENDERED);
    const loads: number[] = [];
    const listings: number[] = [];
    for (let round = 0; round < LOADS; round += 1) {
      await page.reload();
      // A function, not a string: the page's CSP forbids eval, and Playwright would eval a string there.
      await page.waitForFunction(
        () => (globalThis as { fleetRenderedAt?: number }).fleetRenderedAt !== undefined,
        undefined,
        { timeout: 60_000 },
      );
      loads.push(await page.evaluate<number>("window.fleetRenderedAt"));
      listings.push(await page.evaluate<number>(LISTING_MS));
    }
    const domRows = await page.locator("tr[data-session]").count();
    await page.evaluate(WATCH_ROWS);
    const live: number[] = [];
    for (let sample = 0; sample < LIVE_SAMPLES; sample += 1) {
      options.signal?.throwIfAborted();
      const session = await client.spawn({ prompt: `live ${sample}`, workDir });
      await page.locator(`tr[data-session="${session.id}"]`).waitFor();
      const created = (await client.sessionEvents(session.id, { limit: 1 })).events[0];
      const seenAt = await page.evaluate<number>(`window.rowSeenAt[${JSON.stringify(session.id)}]`);
      if (created) live.push(seenAt - Date.parse(created.ts));
    }
    const weight = pageWeight();
    const loadStats = summarize(loads);
    const listingStats = summarize(listings);
    const liveStats = summarize(live);
    return {
      title: "Mission Control in Chromium (stub agents)",
      rows: [
        { measure: "page weight, JS + CSS gzip (kB)", median: (weight / 1000).toFixed(1), p95: "", n: 1 },
        {
          measure: `navigation → fleet of ${FLEET} rendered (ms)`,
          median: loadStats.median.toFixed(0),
          p95: loadStats.p95.toFixed(0),
          n: loads.length,
        },
        {
          measure: "… of which GET /sessions pages (ms)",
          median: listingStats.median.toFixed(0),
          p95: listingStats.p95.toFixed(0),
          n: listings.length,
        },
        { measure: `fleet rows in the DOM (of ${FLEET}, 1280×800)`, median: String(domRows), p95: "", n: 1 },
        {
          measure: "session.created → its row on screen (ms)",
          median: liveStats.median.toFixed(0),
          p95: liveStats.p95.toFixed(0),
          n: live.length,
        },
      ],
      notes: [
        "Debian's chromium, headless, driven by playwright-core; Baton in this process with stub agents.",
        "Navigation: performance.now() when a MutationObserver, installed before the page's scripts, first",
        "sees the whole fleet counted and its first rows rendered (page load, login check, GET /sessions",
        "pages, first render); the list is virtualised, so only rows near the viewport are in the DOM.",
        "Event → screen: the event's ts against the page's clock when a MutationObserver saw the row (one",
        "machine clock); includes the WebSocket hop, the page's 50 ms batching and GET /sessions/:id.",
      ],
    };
  } finally {
    await context.close();
    await baton.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

/** gzip -9 of the built JS and CSS, as a browser downloads them. */
function pageWeight(): number {
  const assets = join(DEFAULT_DASHBOARD_DIR, "assets");
  return readdirSync(assets)
    .filter((name) => name.endsWith(".js") || name.endsWith(".css"))
    .reduce((total, name) => total + gzipSync(readFileSync(join(assets, name)), { level: 9 }).length, 0);
}
