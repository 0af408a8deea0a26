import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { startMockModel } from "../../src/mock-model/index.ts";
import { type BatonProcess, stopBatonProcess } from "./baton-process.ts";
import { testSettings } from "./harness.ts";

export interface ProcessFixture {
  /** A fresh temporary directory, removed after the test. */
  root: string;
  /** Settings for a `baton serve` child on `root` and a scripted model. */
  settings: Record<string, unknown>;
  /** The Baton process the test has running now: stopped after the test if it is still set. */
  baton: BatonProcess | undefined;
}

/** A scripted model and a temp root for tests that run `baton serve` as real child processes. */
export async function processFixture(t: TestContext, prefix: string): Promise<ProcessFixture> {
  const mock = await startMockModel();
  const root = mkdtempSync(join(tmpdir(), prefix));
  const fixture: ProcessFixture = { root, settings: testSettings(root, mock.url), baton: undefined };
  t.after(async () => {
    if (fixture.baton) await stopBatonProcess(fixture.baton);
    await mock.stop();
    rmSync(root, { recursive: true, force: true });
  });
  return fixture;
}
