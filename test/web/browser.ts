import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import { type BrowserContext, chromium, type Page } from "playwright-core";

/** Debian's chromium (`.ci/run` installs it when missing); Playwright never downloads a browser here. */
export const CHROMIUM = process.env.BATON_CHROMIUM ?? "/usr/bin/chromium";

/** Flags for a headless run on a machine without network: no background traffic, no GPU, no sandbox (root). */
const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Screenshots of failed steps land here (git-ignored). */
export const TEST_OUTPUT = fileURLToPath(new URL("../../test-output/", import.meta.url));

export interface Browser {
  /** A fresh browser context (its own cookies) and one page in it, watched for console errors. */
  newPage(options?: { allowConsole?: RegExp[] }): Promise<WatchedPage>;
}

export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  /** Console errors and uncaught exceptions so far that no `allowConsole` pattern excused. */
  errors: string[];
  /** Console messages matching these are expected (e.g. the browser's own line for a refused request). */
  allowConsole: RegExp[];
  close(): Promise<void>;
}

/** Headless Chromium with its own profile folder (a fresh --user-data-dir), as tests and benchmarks use it. */
export function launchChromium(profile: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 800 },
  });
}

/**
 * One headless Chromium for a whole test file (each launch costs a core for seconds), closed after it.
 * A fresh --user-data-dir each time: no state leaks between runs.
 */
export async function launchBrowser(t: TestContext): Promise<Browser> {
  const profiles: string[] = [];
  const contexts: BrowserContext[] = [];
  t.after(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    for (const dir of profiles) rmSync(dir, { recursive: true, force: true });
  });
  return {
    async newPage(options = {}) {
      const profile = mkdtempSync(join(tmpdir(), "baton-chromium-"));
      profiles.push(profile);
      const context = await launchChromium(profile);
      contexts.push(context);
      const page = context.pages()[0] ?? (await context.newPage());
      const errors: string[] = [];
      const allowConsole = [...(options.allowConsole ?? [])];
      const allowed = (text: string) => allowConsole.some((pattern) => pattern.test(text));
      page.on("console", (message) => {
        if ((message.type() === "error" || message.type() === "warning") && !allowed(message.text())) {
          errors.push(`console.${message.type()}: ${message.text()}`);
        }
      });
      page.on("pageerror", (error) => errors.push(`uncaught: ${error.message}`));
      return { page, context, errors, allowConsole, close: () => context.close() };
    },
  };
}

/**
 * Runs one browser story as a subtest: on failure it saves a full-page screenshot under test-output/, and it
 * fails when the page logged a console error or threw, even if every assertion passed.
 */
export async function story(
  t: TestContext,
  name: string,
  watched: WatchedPage,
  body: (t: TestContext) => Promise<void>,
): Promise<void> {
  let failed = false;
  await t.test(name, async (sub) => {
    const before = watched.errors.length;
    try {
      await body(sub);
      const fresh = watched.errors.slice(before);
      if (fresh.length > 0) throw new Error(`the page logged errors:\n  ${fresh.join("\n  ")}`);
    } catch (error) {
      mkdirSync(TEST_OUTPUT, { recursive: true });
      const file = join(TEST_OUTPUT, `${name.replace(/[^a-z0-9]+/gi, "-").slice(0, 80)}.png`);
      await watched.page.screenshot({ path: file, fullPage: true }).catch(() => undefined);
      failed = true;
      writeFileSync(file.replace(/\.png$/, ".txt"), `${(error as Error).stack ?? String(error)}\n`);
      throw new Error(`${(error as Error).message}\n(screenshot: ${file})`, { cause: error });
    }
  });
  // The stories build on each other: after a failed one the rest would only fail for the same reason.
  if (failed) throw new Error(`stopped after the failed story: ${name}`);
}

/** Logs the page in by pasting a token into the login form, as a person would. */
export async function logInWithToken(page: Page, url: string, token: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel("Token").fill(token);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("heading", { name: "Fleet" }).waitFor();
}

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** Runs axe-core in the page (injected through the driver, so the page's CSP is untouched); serious+ only. */
export async function seriousA11yViolations(page: Page): Promise<string[]> {
  await page.evaluate(AXE_SOURCE);
  // A string, not a function: this file is compiled without the DOM's types.
  const violations = await page.evaluate<AxeViolation[]>(`axe.run(document).then((results) =>
    results.violations.map((violation) => ({
      id: violation.id,
      impact: violation.impact,
      help: violation.help,
      targets: violation.nodes.slice(0, 3).map((node) => node.target.join(" ")),
    })))`);
  return violations
    .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
    .map(
      (violation) =>
        `${violation.impact} ${violation.id}: ${violation.help} @ ${violation.targets.join(", ")}`,
    );
}

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}
