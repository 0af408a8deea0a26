import { Command } from "commander";
import { VERSION } from "../core/version.ts";
import { registerAccessCommands } from "./commands/access-commands.ts";
import { registerCoordinationCommands } from "./commands/coordination-commands.ts";
import { registerEventCommands } from "./commands/event-commands.ts";
import { registerLockCommands } from "./commands/lock-commands.ts";
import { registerNodesCommand } from "./commands/nodes-command.ts";
import { registerPermissionCommands } from "./commands/permission-commands.ts";
import { registerServerCommands } from "./commands/server-commands.ts";
import { registerSessionCommands } from "./commands/session-commands.ts";
import { registerUsageCommand } from "./commands/usage-command.ts";
import { registerWatchCommand } from "./commands/watch-command.ts";
import { setJsonErrors } from "./run-command.ts";

const HELP_HINT = "(run with --help for usage)";

export function buildProgram(): Command {
  const program = new Command("baton")
    .description("Baton: a session manager and event bus for Claude agents")
    .version(VERSION)
    .option("--json", "print machine-readable JSON")
    .option("--url <url>", "Baton server URL (env BATON_URL, default http://127.0.0.1:8420)")
    .option(
      "--token <token>",
      "bearer token (env BATON_TOKEN; else $BATON_HOME/token, which a local Baton writes on first start)",
    )
    .showHelpAfterError(HELP_HINT)
    .addHelpText(
      "after",
      `
Quick tour:
  baton serve                                     start the server (127.0.0.1:8420, data in ~/.baton)
  baton spawn "Fix the failing test" -w ~/proj -n fixer --budget 3
  baton ls                                        sessions: name, status, owner, turns, cost, age
  baton show fixer                                config, status, result, cost, turns, error
  baton send fixer "Also add a regression test"   follow-up into the same conversation
  baton events fixer --follow                     the session's events, live
  baton kill fixer

Exit codes: 0 ok, 1 the request failed (e.g. unknown session), 2 bad usage or configuration,
3 Baton is not reachable.`,
    );
  // Global options are parsed before a subcommand's, so --json is known for every failure after this point.
  program.hook("preAction", (_program, action) => setJsonErrors(action.optsWithGlobals().json === true));
  program.configureOutput({
    outputError: (text, write) => {
      const message = text.replace(/^error: /, "").trimEnd();
      if (program.opts().json === true) write(`${JSON.stringify({ error: { code: "USAGE", message } })}\n`);
      else write(`baton: ${message}\n`);
    },
    // Under --json stderr carries exactly one JSON error: no hint line after it.
    writeErr: (text) => {
      if (!(program.opts().json === true && text.trim() === HELP_HINT)) process.stderr.write(text);
    },
  });
  program.exitOverride((error) => {
    process.exit(error.exitCode === 0 ? 0 : 2);
  });
  registerServerCommands(program);
  registerSessionCommands(program);
  registerEventCommands(program);
  registerWatchCommand(program);
  registerPermissionCommands(program);
  registerLockCommands(program);
  registerCoordinationCommands(program);
  registerAccessCommands(program);
  registerUsageCommand(program);
  registerNodesCommand(program);
  return program;
}
