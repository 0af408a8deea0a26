import { readFileSync } from "node:fs";
import { type TestContext, test } from "node:test";
import type { Settings } from "../../src/core/settings-schema.ts";

/**
 * A bus behaviour that must hold whichever process writes the subscriber's socket once it has caught up:
 * Baton's own, or (`fanoutProcess`) the fan-out process. The test runs once per writer.
 */
export function eachWriter(
  name: string,
  body: (t: TestContext, settings: Partial<Settings>) => Promise<void>,
): void {
  test(name, (t) => body(t, {}));
  test(`${name} [fan-out process]`, (t) => body(t, { fanoutProcess: true }));
}

/** The fan-out process of a Baton running in this test's process, found among its children by its script. */
export function fanoutPid(): number | undefined {
  const children = readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, "utf8");
  return children
    .split(" ")
    .filter(Boolean)
    .map(Number)
    .find((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("fanout-child");
      } catch {
        return false; // exited meanwhile
      }
    });
}
