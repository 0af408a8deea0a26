import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { envNameFor } from "../../src/core/config.ts";
import { SettingsSchema } from "../../src/core/settings-schema.ts";

test("docs/configuration.md documents every setting with its env name", () => {
  const doc = readFileSync(new URL("../../docs/configuration.md", import.meta.url), "utf8");
  const missing = Object.keys(SettingsSchema.shape).filter(
    (name) => !doc.includes(`| \`${name}\` | \`${envNameFor(name)}\` |`),
  );
  assert.deepEqual(missing, [], "settings missing from docs/configuration.md");
});
