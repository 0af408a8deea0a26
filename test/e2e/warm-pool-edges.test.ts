import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { BatonClient } from "../../src/client/baton-client.ts";
import { startMockModel } from "../../src/mock-model/index.ts";
import {
  isAlive,
  isSameProcess,
  killProcessTree,
  listDescendants,
  readProcessStartTime,
} from "../../src/runner/process-tree.ts";
import { type BatonProcess, startBatonProcess, stopBatonProcess } from "../support/baton-process.ts";
import { agentEnvFor, startHarness, testSettings } from "../support/harness.ts";
import { isTurnEnd, waitForEvent } from "../support/wait-for-event.ts";
import { waitUntil } from "../support/wait-until.ts";
import { commandLine, parkedSpares, runSession, shapeOf } from "../support/warm-spares.ts";

// A command the default mode does not allow by itself: only the folder's own allow rule lets it run unasked.
const RULED_COMMAND = `python3 -c "open('made-by-rule.txt','w').write('x')"`;

/** A project folder whose `.claude/settings.json` allows RULED_COMMAND (and holds `extra` settings). */
function writeProject(dir: string, extra: Record<string, unknown> = {}): string {
  mkdirSync(join(dir, ".claude"), { recursive: true });
  writeFileSync(
    join(dir, ".claude", "settings.json"),
    JSON.stringify({ permissions: { allow: ["Bash(python3 -c:*)"] }, ...extra }),
  );
  return dir;
}

function trustedFolders(configDir: string): string[] {
  const file = join(configDir, ".claude.json");
  if (!existsSync(file)) return [];
  const projects = (JSON.parse(readFileSync(file, "utf8")) as { projects?: Record<string, unknown> })
    .projects;
  return Object.keys(projects ?? {});
}

test("a spawn into a folder never trusted before starts cold; once trusted, a spare applies its settings too", async (t) => {
  const h = await startHarness(t, { warmPool: 1 });
  const configDir = String(h.baton.config.agentEnv.CLAUDE_CONFIG_DIR);
  const script = `@bash ${RULED_COMMAND}\n@say ran`;
  // No allowedTools: only the folder's rule can let the command run without a permission request.
  const noTools = { allowedTools: undefined };
  const cold = await runSession(h, writeProject(h.tempDir()), noTools, script);
  const [spare] = await parkedSpares(h, 1);
  assert.ok(spare, "a spare is parked after the first spawn of this kind");

  // A parked spare read the CLI's config (trusted folders) when it started: it would ignore the settings of
  // a folder trusted after that, so that spawn starts cold, exactly like the first one.
  const folder = writeProject(h.tempDir());
  assert.ok(!trustedFolders(configDir).includes(realpathSync(folder)), "the folder is not trusted yet");
  const fresh = await runSession(h, folder, noTools, script);
  assert.notEqual(fresh.pid, spare, "a folder trusted only now is not served by the spare");
  assert.ok(trustedFolders(configDir).includes(realpathSync(folder)), "trust was recorded for the folder");
  assert.deepEqual(shapeOf(fresh), shapeOf(cold), "no permission request: the folder's rule applied");
  assert.ok(existsSync(join(folder, "made-by-rule.txt")), "the ruled command ran in the session's folder");
  assert.equal(isAlive(spare), true, "the spare stays parked");

  // The next spawn into that folder (trusted now) claims the spare, and the folder's rule applies there too.
  rmSync(join(folder, "made-by-rule.txt"));
  const warm = await runSession(h, folder, noTools, script);
  assert.equal(warm.pid, spare, `the session ran on the parked spare (${commandLine(warm.pid)})`);
  assert.deepEqual(shapeOf(warm), shapeOf(cold), "the warm session's stream is the cold one's");
  assert.ok(existsSync(join(folder, "made-by-rule.txt")), "the ruled command ran on the spare");
});

test("spares of a Baton killed with SIGKILL do not outlive it", async (t) => {
  const mock = await startMockModel();
  const root = mkdtempSync(join(tmpdir(), "baton-spare-kill-"));
  let baton: BatonProcess | undefined;
  const recorded: Array<{ pid: number; startTime: string | undefined }> = [];
  t.after(async () => {
    if (baton) await stopBatonProcess(baton);
    // Whatever this test started and is still the same process is killed by pid, never by name.
    for (const { pid, startTime } of recorded)
      if (startTime && isSameProcess(pid, startTime)) await killProcessTree(pid, 0);
    await mock.stop();
    rmSync(root, { recursive: true, force: true });
  });
  const settings = testSettings(root, mock.url, { warmPool: 1, keepAliveMs: 0 });
  baton = await startBatonProcess(settings);
  const client = new BatonClient({ url: baton.url, token: baton.token });
  const workDir = mkdtempSync(join(root, "work-"));
  const session = await client.spawn({ prompt: "@say warm me up", workDir });
  const end = await waitForEvent(
    { url: baton.url, session: session.id, timeoutMs: 60_000 },
    isTurnEnd(session.id),
  );
  assert.equal(end.topic, "session.completed", JSON.stringify(end.data));
  await waitUntil(async () => (await client.health()).warmPool.ready === 1, 60_000, "a parked spare");
  const batonPid = baton.pid;
  const spares = await waitUntil(
    () => {
      const found = listDescendants(batonPid).filter(
        (pid) => isAlive(pid) && commandLine(pid).includes("claude"),
      );
      return found.length === 1 ? found : undefined; // the session's own process is released (keepAliveMs 0)
    },
    20_000,
    "the spare as Baton's only claude process",
  );
  const tree = spares.flatMap((pid) => [pid, ...listDescendants(pid)]);
  for (const pid of tree) recorded.push({ pid, startTime: readProcessStartTime(pid) });

  baton.child.kill("SIGKILL");
  await baton.exited;
  baton = undefined;
  for (const { pid } of recorded)
    await waitUntil(() => !isAlive(pid), 30_000, `spare process ${pid} gone after Baton was killed`);
});

test("a spare that refuses its claim is let go; the session starts cold in the same conversation and ends like a cold one", async (t) => {
  const h = await startHarness(t, { warmPool: 1 });
  // bypassPermissions as root needs IS_SANDBOX (this machine runs the tests as root).
  await h.restart({ agentEnv: { ...agentEnvFor(h.root), IS_SANDBOX: "1" } });
  const bypass = { permissionMode: "bypassPermissions" };
  await runSession(h, h.tempDir(), bypass);
  const [spare] = await parkedSpares(h, 1);
  assert.ok(spare, "a spare of the bypassPermissions kind is parked");
  // A folder whose settings disable that mode: the spare refuses a claim into it
  // (`project_settings_not_claimable`: a cold start applies that setting during start-up, a claim cannot).
  // Its first spawn (the folder trusted only now) is cold.
  const folder = writeProject(h.tempDir(), { permissions: { disableBypassPermissionsMode: "disable" } });
  const cold = await runSession(h, folder, bypass);
  assert.notEqual(cold.pid, spare);
  assert.equal(isAlive(spare), true, "the spare stays parked");

  const refused = await runSession(h, folder, bypass);
  assert.equal(refused.pid, spare, "session.spawned names the spare the claim went to");
  const shown = await h.client.get(refused.id);
  assert.ok(shown.pid && shown.pid !== spare, `the session's process is a cold one (${shown.pid})`);
  assert.equal(isAlive(spare), false, "the refusing spare was let go");
  assert.deepEqual(shapeOf(refused), shapeOf(cold), "the stream is a cold session's");
  const requests = h.mock.requests.filter((request) => request.sessionId === shown.agentSessionId);
  assert.equal(requests.length, 2, "the cold start kept the conversation id the session recorded");
  const [refill] = await parkedSpares(h, 1);
  assert.ok(refill && refill !== spare, "the pool parked a fresh spare");
});
