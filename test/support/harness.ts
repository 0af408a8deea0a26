import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { type Baton, createBaton } from "../../src/app.ts";
import { BatonClient } from "../../src/client/baton-client.ts";
import { loadConfig } from "../../src/core/config.ts";
import type { Settings } from "../../src/core/settings-schema.ts";
import type { BatonEvent } from "../../src/events/catalogue.ts";
import { type MockModel, startMockModel } from "../../src/mock-model/index.ts";
import { TEST_TOKEN } from "./auth.ts";
import { assertNoLeakedProcesses, waitForNoDescendants } from "./leak-guard.ts";
import { type WaitOptions, waitForEvent } from "./wait-for-event.ts";

export interface Harness {
  baton: Baton;
  url: string;
  /** The admin token this Baton is configured with (TEST_TOKEN unless the test set `token`). */
  token: string;
  /** A client authenticated with `token`. */
  client: BatonClient;
  mock: MockModel;
  /** A fresh temporary directory (removed after the test). */
  tempDir(prefix?: string): string;
  /** The directory where agent-side state (CLAUDE_CONFIG_DIR, TMPDIR) lives for this test. */
  root: string;
  waitFor(predicate: (event: BatonEvent) => boolean, options?: Partial<WaitOptions>): Promise<BatonEvent>;
  /** Stops Baton (graceful) and starts a new one on the same database: a restart. */
  restart(overrides?: Partial<Settings>): Promise<void>;
}

/** The agent environment every test gets: offline, isolated, quick to fail. */
export function agentEnvFor(root: string): Record<string, string> {
  mkdirSync(join(root, "claude-config"), { recursive: true });
  mkdirSync(join(root, "tmp"), { recursive: true });
  mkdirSync(join(root, "agent-home"), { recursive: true });
  return {
    // The Bash tool starts shells that read ~/.bashrc: on a machine whose rc runs `pyenv init` (its rehash
    // takes a lock file), a shell killed by one test left the lock behind and every later shell waited on
    // it. Agents get an empty home, so tests do not depend on, or disturb, the machine's dotfiles.
    HOME: join(root, "agent-home"),
    CLAUDE_CONFIG_DIR: join(root, "claude-config"),
    TMPDIR: join(root, "tmp"),
    CLAUDE_CODE_TMPDIR: join(root, "tmp"),
    CLAUDE_CODE_MAX_RETRIES: "0",
  };
}

export function testSettings(
  root: string,
  mockUrl: string,
  overrides: Partial<Settings> = {},
): Record<string, unknown> {
  return {
    port: 0,
    home: join(root, "home"),
    logLevel: "error",
    anthropicBaseUrl: mockUrl,
    anthropicApiKey: "test-key",
    quietAgents: true,
    agentEnv: agentEnvFor(root),
    token: TEST_TOKEN,
    // No parked spares unless a test asks for them: a spare is one more process on a shared box, and the
    // warm pool's own tests (test/e2e/warm-pool.test.ts) show a claimed session behaves as a cold one.
    warmPool: 0,
    ...overrides,
  };
}

/**
 * A real Baton (in this process, on an ephemeral port) with its own scripted model and temp dirs. Everything
 * is torn down after the test, and the leak guard fails the test if any child process survived.
 */
export async function startHarness(t: TestContext, overrides: Partial<Settings> = {}): Promise<Harness> {
  const root = mkdtempSync(join(tmpdir(), "baton-test-"));
  const temps: string[] = [root];
  const mock = await startMockModel();
  const start = async (extra: Partial<Settings>) => {
    const config = loadConfig({ env: {}, flags: testSettings(root, mock.url, { ...overrides, ...extra }) });
    const baton = await createBaton(config);
    const url = await baton.listen();
    return { baton, url };
  };
  let current = await start({});
  const harness: Harness = {
    get baton() {
      return current.baton;
    },
    get url() {
      return current.url;
    },
    get token() {
      return current.baton.adminToken;
    },
    get client() {
      return new BatonClient({ url: current.url, token: current.baton.adminToken });
    },
    mock,
    root,
    tempDir(prefix = "work-") {
      const dir = mkdtempSync(join(tmpdir(), `baton-${prefix}`));
      temps.push(dir);
      return dir;
    },
    waitFor(predicate, options = {}) {
      return waitForEvent({ url: current.url, token: current.baton.adminToken, ...options }, predicate);
    },
    async restart(extra = {}) {
      await current.baton.stop();
      current = await start(extra);
    },
  };
  t.after(async () => {
    await current.baton.stop();
    await mock.stop();
    await waitForNoDescendants(5000);
    for (const dir of temps) rmSync(dir, { recursive: true, force: true });
    assertNoLeakedProcesses(t.fullName);
  });
  return harness;
}
