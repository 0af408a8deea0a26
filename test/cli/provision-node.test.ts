import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const SCRIPT = fileURLToPath(new URL("../../.ci/provision-node.sh", import.meta.url));
const OPTIONS = 'set -o | grep -E "^(errexit|nounset|pipefail)\\s" | tr -s " \\t" " "';

function bash(
  script: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("bash", ["-c", script], { cwd, env, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

/**
 * A copy of the script in a checkout whose .tools already holds this test's own Node (a symlink: nothing is
 * downloaded), and a PATH whose `node` is too old, so the script takes its provisioning branch.
 */
function fakeCheckout(t: { after: (fn: () => void) => void }) {
  const root = mkdtempSync(join(tmpdir(), "baton-provision-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, ".ci"));
  copyFileSync(SCRIPT, join(root, ".ci", "provision-node.sh"));
  mkdirSync(join(root, ".tools"));
  symlinkSync(dirname(dirname(process.execPath)), join(root, ".tools", `node-v${process.versions.node}`));
  const oldBin = join(root, "old-bin");
  mkdirSync(oldBin);
  writeFileSync(join(oldBin, "node"), "#!/bin/sh\necho 20\n");
  writeFileSync(join(oldBin, "npm"), "#!/bin/sh\necho 'npm: no network here' >&2\nexit 1\n");
  chmodSync(join(oldBin, "node"), 0o755);
  chmodSync(join(oldBin, "npm"), 0o755);
  const env = { PATH: `${oldBin}:/usr/bin:/bin`, HOME: root, BATON_NODE_VERSION: process.versions.node };
  return { root, env };
}

test("sourcing provision-node.sh puts Node on PATH and leaves the shell's options as they were", async (t) => {
  const { root, env } = fakeCheckout(t);
  const result = await bash(
    `${OPTIONS}; echo ---; source .ci/provision-node.sh; echo "status $?"; ${OPTIONS}; node --version; ` +
      `set -u; source .ci/provision-node.sh; ${OPTIONS}`,
    root,
    env,
  );
  const [before, after] = result.stdout.split("---\n");
  assert.equal(before, "errexit off\nnounset off\npipefail off\n");
  assert.equal(
    after,
    `status 0\nerrexit off\nnounset off\npipefail off\nv${process.versions.node}\n` +
      "errexit off\nnounset on\npipefail off\n",
    result.stderr,
  );
  assert.match(result.stderr, new RegExp(`using node v${process.versions.node} at ${root}/\\.tools/`));
});

test("a failed provisioning is a status for the sourcing shell, which stays open", async (t) => {
  const { root, env } = fakeCheckout(t);
  const result = await bash(
    `source .ci/provision-node.sh; echo "status $?"; echo still here; ${OPTIONS}`,
    root,
    {
      ...env,
      BATON_NODE_VERSION: "0.0.1-not-provisioned",
    },
  );
  assert.equal(
    result.stdout,
    "status 1\nstill here\nerrexit off\nnounset off\npipefail off\n",
    result.stderr,
  );
  assert.match(result.stderr, /could not install Node 0\.0\.1-not-provisioned/);
});

test("run directly, it is strict and exits with its status", async (t) => {
  const { root, env } = fakeCheckout(t);
  const ok = await bash("bash .ci/provision-node.sh", root, env);
  assert.equal(ok.code, 0, ok.stderr);
  const failed = await bash("bash .ci/provision-node.sh; echo after $?", root, {
    ...env,
    BATON_NODE_VERSION: "0.0.1-x",
  });
  assert.equal(failed.stdout, "after 1\n");
});
