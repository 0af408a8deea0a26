import { Command, InvalidArgumentError, Option } from "commander";
import { z } from "zod";
import { type SessionConfigInput, SessionConfigSchema } from "../sessions/session-schema.ts";

/**
 * `baton spawn`'s flags, one per field of SessionConfigSchema (the spawn request the server validates), so
 * the CLI offers every per-session setting the API takes and a new field gets a flag without anyone
 * remembering to add it (test/cli/cli.test.ts checks `spawn --help` against the schema). Fields with a
 * short or established flag name say so here; the rest get `--kebab-case` and the schema's description.
 */
interface FlagStyle {
  flags?: string;
  description?: string;
}

const STYLE: Partial<Record<keyof SessionConfigInput, FlagStyle>> = {
  workDir: {
    flags: "-w, --workdir <dir>",
    description: "directory the agent works in (default: the current directory)",
  },
  name: { flags: "-n, --name <name>", description: "a unique friendly name, usable instead of the id" },
  owner: { flags: "--owner <owner>", description: "who the session belongs to (per-owner limits apply)" },
  maxBudgetUsd: { flags: "--budget <usd>", description: "spending cap in USD (default 5.00)" },
  maxTurns: { flags: "--max-turns <n>", description: "turn cap (default 50)" },
  model: { flags: "--model <model>", description: "model to use (default: the CLI's)" },
  permissionMode: { flags: "--permission-mode <mode>", description: "how tool calls are approved" },
  permissionTimeoutMs: {
    flags: "--permission-timeout <ms>",
    description: "deny a permission request nobody answered within this time (default: wait)",
  },
  isolation: {
    flags: "--isolation <mode>",
    description: "worktree: run in a new git worktree on branch baton/<name> (docs/locks-and-worktrees.md)",
  },
  key: { flags: "--key <key>" },
  notifyParent: { description: "do not message the parent when a turn ends" },
  coordinationTools: { description: "no mcp__baton__* tools for the agent (starts 10-20 ms sooner)" },
  maxTreeBudgetUsd: {
    flags: "--tree-budget <usd>",
    description: "on a root session: cap on the spend of it and all its descendants",
  },
  allowedTools: { description: "comma-separated tools allowed without asking" },
  disallowedTools: { description: "comma-separated tools never allowed" },
  parentSessionId: {
    flags: "--parent <session>",
    description: "parent session id (default: $BATON_SESSION_ID when run by an agent)",
  },
  runIdentifier: { flags: "--run-id <id>", description: "external run to call back on completion" },
  idleTimeoutMs: {
    flags: "--idle-timeout <ms>",
    description: "no activity this long while running emits session.idle",
  },
  priority: { flags: "--priority <n>", description: "queue priority, -100..100 (default 0)" },
  claudeMdContent: { flags: "--claude-md <text>", description: "extra CLAUDE.md instructions for the agent" },
  notify: { description: 'where to notify, JSON: \'{"channel":"telegram","target":"123"}\'' },
  webhooks: { description: 'JSON list of {url, events?}, e.g. \'[{"url":"https://ci.example/hook"}]\'' },
};

/** Booleans that default to on get a `--no-…` flag; the rest a plain switch. */
const DEFAULT_ON = new Set<string>(["coordinationTools", "notifyParent"]);

type JsonSchema = {
  type?: string;
  enum?: string[];
  description?: string;
  items?: JsonSchema;
  exclusiveMinimum?: number;
};

/** The fields that become flags (the prompt is the argument). */
export function spawnFields(): string[] {
  return Object.keys(SessionConfigSchema.shape).filter((field) => field !== "prompt");
}

export function addSpawnFlags(command: Command): Command {
  const properties = z.toJSONSchema(SessionConfigSchema, { io: "input", unrepresentable: "any" })
    .properties as Record<string, JsonSchema>;
  for (const field of spawnFields()) {
    const schema = properties[field] ?? {};
    const style = STYLE[field as keyof SessionConfigInput] ?? {};
    const kebab = field.replaceAll(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
    const description =
      style.description ?? schema.description ?? (schema.enum ? schema.enum.join(" | ") : field);
    if (schema.type === "boolean") {
      command.addOption(new Option(DEFAULT_ON.has(field) ? `--no-${kebab}` : `--${kebab}`, description));
      continue;
    }
    const option = new Option(style.flags ?? `--${kebab} <${valueName(schema)}>`, description).argParser(
      parserFor(schema),
    );
    if (schema.enum) option.choices(schema.enum);
    command.addOption(option);
  }
  return command;
}

/** The spawn request from the parsed flags: only what was given (the server applies its defaults). */
export function configFromFlags(options: Record<string, unknown>): Partial<SessionConfigInput> {
  const config: Record<string, unknown> = {};
  for (const field of spawnFields()) {
    const value = options[optionKey(field)];
    // A `--no-…` flag makes commander default its value to true: only the flag given says anything.
    if (value === undefined || (DEFAULT_ON.has(field) && value === true)) continue;
    config[field] = value;
  }
  return config as Partial<SessionConfigInput>;
}

/** Commander's attribute name for a field's option (`--workdir` → workdir, `--budget` → budget). */
function optionKey(field: string): string {
  const flags = STYLE[field as keyof SessionConfigInput]?.flags;
  if (!flags) return field;
  const long = /--([\w-]+)/.exec(flags)?.[1] ?? field;
  return long.replaceAll(/-(\w)/g, (_match, letter: string) => letter.toUpperCase());
}

function valueName(schema: JsonSchema): string {
  if (schema.type === "integer" || schema.type === "number") return "n";
  if (schema.type === "array" && schema.items?.type === "string") return "list";
  if (schema.type === "array" || schema.type === "object") return "json";
  return "value";
}

function parserFor(schema: JsonSchema): (value: string) => unknown {
  if (schema.type === "integer" || schema.type === "number") {
    const whole = schema.type === "integer";
    const positive = schema.exclusiveMinimum === 0;
    return (value) => {
      const number = Number(value);
      if (!Number.isFinite(number) || (whole && !Number.isInteger(number)))
        throw new InvalidArgumentError(whole ? "must be a whole number" : "must be a number");
      if (positive && number <= 0) throw new InvalidArgumentError("must be a number greater than 0");
      return number;
    };
  }
  if (schema.type === "array" && schema.items?.type === "string") {
    return (value) =>
      value
        .split(",")
        .map((part) => part.trim())
        .filter(Boolean);
  }
  if (schema.type === "array" || schema.type === "object") {
    return (value) => {
      try {
        return JSON.parse(value) as unknown;
      } catch {
        throw new InvalidArgumentError("must be JSON");
      }
    };
  }
  return (value) => value;
}

/** The per-session table of docs/configuration.md: request field, its `baton spawn` flag, meaning. */
export function spawnFlagsTable(): string {
  const options = addSpawnFlags(new Command("spawn")).options;
  const rows = spawnFields().map((field) => {
    const option = options.find((candidate) => optionKey(field) === candidate.attributeName());
    const flag = option ? `\`${option.flags}\`` : "—";
    const choices = option?.argChoices ? ` (${option.argChoices.join(", ")})` : "";
    return `| \`${field}\` | ${flag} | ${`${option?.description ?? ""}${choices}`.replaceAll("|", "\\|")} |`;
  });
  return ["| spawn field | `baton spawn` flag | meaning |", "|---|---|---|", ...rows].join("\n");
}
