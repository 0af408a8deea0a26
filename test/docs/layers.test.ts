import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";

const run = promisify(execFile);
const SCRIPT = join(import.meta.dirname, "..", "..", "scripts", "check-layers.ts");

async function checkLayers(root?: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [SCRIPT, ...(root ? [root] : [])]);
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, output: failed.stdout + failed.stderr };
  }
}

test("every import in src/ and web/ follows the dependency picture of docs/architecture.md", async () => {
  const { code, output } = await checkLayers();
  assert.equal(code, 0, output);
});

test("an upward import fails the check, naming the file, the line and the rule", async (t) => {
  const root = mkdtempSync(join(tmpdir(), "baton-layers-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  write("src/sessions/service.ts", 'import { route } from "../api/route.ts";\nexport const x = route;\n');
  write(
    "src/api/route.ts",
    'import { x } from "../sessions/service.ts";\nexport const route = 1;\nvoid x;\n',
  );
  write(
    "src/cli/command.ts",
    'import { BatonClient } from "../client/baton-client.ts";\nvoid BatonClient;\n',
  );
  const { code, output } = await checkLayers(root);
  assert.equal(code, 1);
  assert.match(
    output,
    /src\/sessions\/service\.ts:1 imports api\/route\.ts: sessions may import only core, store, events/,
  );
  assert.match(output, /src\/cli\/command\.ts:1 imports client\/baton-client\.ts: .*client\/index\.ts/);
  assert.doesNotMatch(output, /src\/api\/route\.ts/, "api may import sessions");
});
