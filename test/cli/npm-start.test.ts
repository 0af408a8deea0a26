import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { listDescendants } from "../../src/runner/process-tree.ts";
import { assertNoLeakedProcesses } from "../support/leak-guard.ts";
import { waitUntil } from "../support/wait-until.ts";

const REPO = fileURLToPath(new URL("../..", import.meta.url));

test("SIGTERM to the pid of a backgrounded `npm start` stops the server (npm start execs it)", async (t) => {
  const home = mkdtempSync(join(tmpdir(), "baton-npm-start-"));
  const nodeDir = dirname(process.execPath);
  const npm = existsSync(join(nodeDir, "npm")) ? join(nodeDir, "npm") : "npm";
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${nodeDir}${delimiter}${process.env.PATH ?? ""}` };
  for (const key of Object.keys(env)) if (key.startsWith("BATON_")) delete env[key];
  const child = spawn(npm, ["start", "--silent", "--", "--port", "0", "--home", home], {
    cwd: REPO,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let output = "";
  for (const stream of [child.stdout, child.stderr]) stream?.on("data", (chunk: Buffer) => (output += chunk));
  let started: number[] = [];
  t.after(async () => {
    // Had npm not passed the signal on, the server would now be an orphan (no longer our descendant).
    for (const pid of started) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Already gone: the expected case.
      }
    }
    rmSync(home, { recursive: true, force: true });
    assertNoLeakedProcesses(t.fullName);
  });

  const url = await waitUntil(
    () => /"url":"(http:\/\/[^"]+)"/.exec(output)?.[1],
    30_000,
    `listening:\n${output}`,
  );
  assert.equal((await fetch(`${url}/health`)).status, 200);
  started = listDescendants(child.pid as number);
  child.kill("SIGTERM");
  await exited;
  const stopped = await waitUntil(
    () =>
      fetch(`${url}/health`).then(
        () => false,
        () => true,
      ),
    15_000,
    "the server stopped answering",
  );
  assert.equal(stopped, true);
  await waitUntil(
    () => started.every((pid) => !existsSync(`/proc/${pid}`)) || undefined,
    15_000,
    "server gone",
  );
  assert.match(output, /SIGTERM: shutting down/, "the server itself got the signal and shut down gracefully");
});
