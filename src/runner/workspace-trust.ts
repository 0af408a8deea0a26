import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, realpathSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Marks a session's workDir as trusted in the CLI's global config, the record the interactive trust
 * dialog writes. Measured with CLI 2.1.329: in a folder never trusted, the CLI loads the project's CLAUDE.md
 * but silently ignores its `.claude/settings.json` permission rules (an allow rule still asks canUseTool);
 * once `projects[<path>].hasTrustDialogAccepted` is true they apply. There is no SDK option for it. The
 * workDir is one the operator allowed (allowedRoots) and the agent works in anyway, so Baton trusts it.
 *
 * The file is `$CLAUDE_CONFIG_DIR/.claude.json`, or `$HOME/.claude.json` without CLAUDE_CONFIG_DIR. It is
 * rewritten through a temporary file and a rename, so a reader never sees half a file. Returns true when a
 * folder was not trusted before (a parked spare read the config at its start and does not know it).
 */
export function trustWorkspace(env: Record<string, string | undefined>, dirs: readonly string[]): boolean {
  const configDir = env.CLAUDE_CONFIG_DIR ?? env.HOME;
  if (!configDir) return false;
  const file = join(configDir, ".claude.json");
  const config = readConfig(file);
  const projects = (config.projects ?? {}) as Record<string, Record<string, unknown>>;
  const untrusted = dirs
    .map((dir) => realpathSync(dir))
    .filter((path) => projects[path]?.hasTrustDialogAccepted !== true);
  if (untrusted.length === 0) return false;
  for (const path of untrusted) projects[path] = { ...projects[path], hasTrustDialogAccepted: true };
  config.projects = projects;
  // A config dir the CLI has not created yet (its first run) is created as the CLI would, private.
  mkdirSync(configDir, { recursive: true, mode: 0o700 });
  const temporary = `${file}.${randomUUID()}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  renameSync(temporary, file);
  return true;
}

function readConfig(file: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, "utf8"));
    return parsed && typeof parsed === "object" && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : {};
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
    // A config the CLI is halfway through writing, or one we cannot parse: leave it alone.
    throw error;
  }
}
