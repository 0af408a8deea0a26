import type { Command } from "commander";
import { clientFrom, type GlobalOptions, print, runCommand } from "../run-command.ts";

export function registerAccessCommands(program: Command): void {
  program
    .command("whoami")
    .description("show the principal your token names (role, owner; the session, for an agent's token)")
    .addHelpText(
      "after",
      "\nThe token comes from --token, BATON_TOKEN, or the file a local Baton writes to $BATON_HOME/token.",
    )
    .action((_options: unknown, command: Command) =>
      runCommand(async () => {
        const global = command.optsWithGlobals<GlobalOptions>();
        const who = await clientFrom(global).whoami();
        print(global, who, (value) =>
          [
            value.principal,
            `role: ${value.role}`,
            ...(value.owner ? [`owner: ${value.owner}`] : []),
            ...(value.sessionId ? [`session: ${value.sessionId}`] : []),
          ].join("\n"),
        );
      }),
    );

  program
    .command("open")
    .description("print a one-time login link to the dashboard (Mission Control), as your token's principal")
    .addHelpText(
      "after",
      "\nThe link is the only line on stdout (--json: {url}); it works once, within a minute, and holds no token.",
    )
    .action((_options: unknown, command: Command) =>
      runCommand(async () => {
        const global = command.optsWithGlobals<GlobalOptions>();
        const { url } = await clientFrom(global).loginLink();
        print(global, { url }, (value) => value.url);
      }),
    );
}
