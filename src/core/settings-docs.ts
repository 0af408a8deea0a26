import { z } from "zod";
import { envNameFor } from "./config.ts";
import { SECRET_SETTINGS, SettingsSchema } from "./settings-schema.ts";

/**
 * The settings table of docs/configuration.md, generated from SettingsSchema so its types and defaults are
 * exactly what `baton config` reports (defaults come from parsing an empty configuration, the same path
 * the server takes). `npm run docs` writes it; test/api/docs-match-code.test.ts fails when it is stale.
 */
type JsonSchema = { type?: string; enum?: string[]; description?: string; anyOf?: JsonSchema[] };

export function settingsTable(): string {
  const properties = z.toJSONSchema(SettingsSchema, { io: "input", unrepresentable: "any" })
    .properties as Record<string, JsonSchema>;
  const defaults = SettingsSchema.parse({}) as Record<string, unknown>;
  const rows = Object.keys(SettingsSchema.shape).map((name) => {
    const schema = properties[name] ?? {};
    const value = defaults[name];
    const meaning = [
      schema.description,
      SECRET_SETTINGS.has(name) ? "(secret: masked in `baton config`)" : "",
    ]
      .filter(Boolean)
      .join(" ");
    return `| \`${name}\` | \`${envNameFor(name)}\` | ${typeName(schema)} | ${value === undefined ? "—" : escapePipes(JSON.stringify(value))} | ${escapePipes(meaning)} |`;
  });
  return ["| setting | env | type | default | meaning |", "|---|---|---|---|---|", ...rows].join("\n");
}

function typeName(schema: JsonSchema): string {
  if (schema.anyOf?.some((option) => option.type === "boolean")) return "boolean";
  if (schema.enum) return schema.enum.join(" \\| ");
  return schema.type === "object" ? "map" : (schema.type ?? "any");
}

function escapePipes(text: string): string {
  return text.replaceAll("|", "\\|");
}
