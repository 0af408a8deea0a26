import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { prepareAgentBin } from "../../src/runner/agent-bin.ts";
import { waitUntil } from "../support/wait-until.ts";

const REPO = fileURLToPath(new URL("../..", import.meta.url));

/** The fenced block right after `<!-- <marker>: … -->` in a doc: the commands a reader copies. */
function taggedBlock(doc: string, marker: string): string {
  const match = new RegExp(`<!-- ${marker}:[^>]*-->\\n\`\`\`sh\\n([\\s\\S]*?)\`\`\``).exec(doc);
  assert.ok(match?.[1], `a block tagged ${marker}`);
  return match[1];
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === "object" && address ? address.port : 0;
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

interface ScriptRun {
  code: number | null;
  output: string;
}

/**
 * Runs `script` with bash exactly as written (-e: the first failing command fails the run), in its own
 * process group so that what it starts in the background is ours to stop. `env` only sets variables the
 * doc itself reads, plus a PATH with `baton` on it (what `npm link` gives a reader) and an agent HOME.
 */
async function runDocScript(
  t: { after(fn: () => void | Promise<void>): void },
  script: string,
  env: Record<string, string>,
  timeoutMs: number,
): Promise<ScriptRun> {
  const root = mkdtempSync(join(tmpdir(), "baton-doc-"));
  const binDir = prepareAgentBin(join(root, "cli"));
  const file = join(root, "script.sh");
  writeFileSync(file, script);
  mkdirSync(join(root, "tmp"));
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(base))
    if (key.startsWith("BATON_") || key.startsWith("ANTHROPIC_")) delete base[key];
  const child = spawn("bash", ["-e", file], {
    cwd: REPO,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...base,
      PATH: `${binDir}${delimiter}${process.env.PATH ?? ""}`,
      // Agents read ~/.claude: give them an empty home, as every test does.
      HOME: join(root, "home"),
      CLAUDE_CONFIG_DIR: join(root, "claude-config"),
      // `mktemp -d` in a doc then makes its directory under this test's root, removed afterwards.
      TMPDIR: join(root, "tmp"),
      ...env,
    },
  });
  const pgid = child.pid as number;
  t.after(async () => {
    if (groupAlive(pgid)) process.kill(-pgid, "SIGKILL");
    await waitUntil(() => !groupAlive(pgid) || undefined, 10_000, "the script's processes gone");
    rmSync(root, { recursive: true, force: true });
  });
  let output = "";
  for (const stream of [child.stdout, child.stderr]) stream?.on("data", (chunk: Buffer) => (output += chunk));
  const timer = setTimeout(() => process.kill(-pgid, "SIGKILL"), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  clearTimeout(timer);
  // What a script that ran through started in the background stops with it (its own `kill` lines).
  if (code === 0) {
    await waitUntil(() => !groupAlive(pgid) || undefined, 40_000, `background processes stopped:\n${output}`);
  }
  return { code, output };
}

test("README: 'Try it offline in 5 minutes' runs exactly as written", { timeout: 300_000 }, async (t) => {
  const readme = readFileSync(join(REPO, "README.md"), "utf8");
  const script = taggedBlock(readme, "quick-start");
  const home = mkdtempSync(join(tmpdir(), "baton-quick-start-"));
  t.after(() => rmSync(home, { recursive: true, force: true }));
  const env = {
    BATON_HOME: home,
    BATON_PORT: String(await freePort()),
    MOCK_PORT: String(await freePort()),
  };
  const run = await runDocScript(t, script, env, 240_000);
  assert.equal(run.code, 0, run.output);
  const { output } = run;
  assert.match(output, /^hello from the agent$/m, "1. the tool ran");
  assert.match(output, /result: +I wrote hello\.txt/);
  assert.match(output, /result: +interrupted/, "2. the interrupted turn says so");
  assert.match(output, /result: +still here/);
  assert.match(output, /status: +waiting/, "3. waiting for permission");
  assert.match(output, /asker +Bash/, "pending shows the session's name");
  assert.match(output, /^approved$/m, "the approved command ran");
  assert.match(output, /result: +the child is done/, "4. the child ran");
  assert.match(output, /parent: +ses_/, "the child's parent is set");
  assert.doesNotMatch(output, /ede_diagnostic|command not found/);
});

test("docs/mock-model.md: the claude -p example runs as written and writes its file", {
  timeout: 120_000,
}, async (t) => {
  const doc = readFileSync(join(REPO, "docs", "mock-model.md"), "utf8");
  const run = await runDocScript(
    t,
    taggedBlock(doc, "claude-p"),
    { MOCK_PORT: String(await freePort()) },
    90_000,
  );
  assert.equal(run.code, 0, run.output);
  assert.match(run.output, /^finished$/m, "the scripted turn's answer");
  assert.match(run.output, /^hi$/m, "out.txt was written: --allowedTools Bash let the call run");
});
