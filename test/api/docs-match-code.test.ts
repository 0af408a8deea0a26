import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { test } from "node:test";
import { spawnFlagsTable } from "../../src/cli/spawn-flags.ts";
import { envNameFor } from "../../src/core/config.ts";
import { settingsTable } from "../../src/core/settings-docs.ts";
import { SettingsSchema } from "../../src/core/settings-schema.ts";
import { runCli } from "../support/run-cli.ts";

/** CLI starts are CPU-bound; on a shared, loaded machine several at once take far longer than alone. */
const CLI_DEADLINE_MS = 120_000;

const CONFIGURATION_MD = new URL("../../docs/configuration.md", import.meta.url);

/** The generated blocks of docs/configuration.md: `npm run docs` (UPDATE_DOCS=1) rewrites them. */
const GENERATED: Record<string, () => string> = { settings: settingsTable, "spawn-flags": spawnFlagsTable };

function withGenerated(doc: string): string {
  let updated = doc;
  for (const [marker, render] of Object.entries(GENERATED)) {
    const block = new RegExp(`(<!-- ${marker}:begin[^>]*-->\\n)[\\s\\S]*?(<!-- ${marker}:end -->)`);
    assert.match(updated, block, `docs/configuration.md has the ${marker} markers`);
    updated = updated.replace(
      block,
      (_match, begin: string, end: string) => `${begin}\n${render()}\n\n${end}`,
    );
  }
  return updated;
}

test("docs/configuration.md's tables are generated from the schemas and up to date (npm run docs)", () => {
  const doc = readFileSync(CONFIGURATION_MD, "utf8");
  const generated = withGenerated(doc);
  if (process.env.UPDATE_DOCS === "1") writeFileSync(CONFIGURATION_MD, generated);
  else assert.equal(doc, generated, "docs/configuration.md is stale: run npm run docs");
  const missing = Object.keys(SettingsSchema.shape).filter(
    (name) => !generated.includes(`| \`${name}\` | \`${envNameFor(name)}\` |`),
  );
  assert.deepEqual(missing, [], "settings missing from docs/configuration.md");
});

test("the documented defaults are the ones baton config reports, and every spawn flag is in spawn --help", async () => {
  const [local, help] = await Promise.all([
    runCli(["config", "--local", "--json"], {}, CLI_DEADLINE_MS),
    runCli(["spawn", "--help"], {}, CLI_DEADLINE_MS),
  ]);
  assert.equal(local.code, 0, local.stderr);
  const reported = JSON.parse(local.stdout) as Record<string, unknown>;
  const doc = readFileSync(CONFIGURATION_MD, "utf8");
  for (const name of ["quietAgents", "outboxJitter", "maxConcurrent", "telegramApiRoot"]) {
    const row = doc.split("\n").find((line) => line.startsWith(`| \`${name}\` |`)) ?? "";
    const documented = row.split(" | ")[3];
    assert.equal(documented, JSON.stringify(reported[name]), `${name}: docs say ${documented}`);
  }
  const flags = [...doc.matchAll(/^\| `\w+` \| `([^`]+)` \|/gm)].map((match) => match[1] ?? "");
  const spawnFlags = flags.filter((flag) => flag.startsWith("-") && !flag.startsWith("BATON_"));
  assert.ok(spawnFlags.length >= 20, `the per-session table lists the spawn flags (${spawnFlags.length})`);
  for (const flag of spawnFlags) assert.ok(help.stdout.includes(flag), `${flag} is in baton spawn --help`);
  for (const flag of ["--isolation <mode>", "--notify <json>", "--webhooks <json>"]) {
    assert.ok(spawnFlags.includes(flag), `${flag} is documented`);
  }
});
