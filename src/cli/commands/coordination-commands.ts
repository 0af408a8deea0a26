import { resolve } from "node:path";
import { type Command, InvalidArgumentError } from "commander";
import { listChildren, listOthers } from "../../coordination/session-neighbours.ts";
import { sessionDetail, sessionTable } from "../format.ts";
import { clientFrom, EXIT, type GlobalOptions, print, reportFailure, runCommand } from "../run-command.ts";

/**
 * The coordination verbs, for people and for agents: an agent's shell has BATON_URL, BATON_SESSION_ID and
 * (with auth) BATON_TOKEN, so `baton children` means "my children" there.
 */
export function registerCoordinationCommands(program: Command): void {
  program
    .command("children")
    .description("list a session's children (default: yours, $BATON_SESSION_ID)")
    .argument("[session]", "session id or name")
    .action((session: string | undefined, _options: unknown, command: Command) =>
      runCommand(async () => {
        const global = command.optsWithGlobals<GlobalOptions>();
        const parent = session ?? selfOrUsage("children", "name the session: baton children <session>");
        if (!parent) return;
        const sessions = await listChildren(clientFrom(global), parent);
        print(global, { sessions }, (value) =>
          value.sessions.length ? sessionTable(value.sessions) : "no children",
        );
      }),
    );

  program
    .command("status")
    .description("show a session's status, counters and result (default: yours, $BATON_SESSION_ID)")
    .argument("[session]", "session id or name")
    .action((session: string | undefined, _options: unknown, command: Command) =>
      runCommand(async () => {
        const global = command.optsWithGlobals<GlobalOptions>();
        const target = session ?? selfOrUsage("status", "name the session: baton status <session>");
        if (!target) return;
        print(global, await clientFrom(global).get(target), sessionDetail);
      }),
    );

  program
    .command("name")
    .description("set your session's friendly name ($BATON_SESSION_ID), or another's with --session")
    .argument("<new-name>", "letters, digits, '.', '_' or '-'; unique among live sessions")
    .option("-s, --session <session>", "rename this session instead of $BATON_SESSION_ID")
    .action((name: string, options: { session?: string }, command: Command) =>
      runCommand(async () => {
        const global = command.optsWithGlobals<GlobalOptions>();
        const target = options.session ?? selfOrUsage("name", "pass --session <session>");
        if (!target) return;
        const renamed = await clientFrom(global).rename(target, name);
        print(global, renamed, (value) => `${value.id} is now named ${value.name}`);
      }),
    );

  for (const verb of ["others", "alone"] as const) {
    program
      .command(verb)
      .description(
        verb === "others"
          ? "list the other live sessions in your working directory (any status but killed)"
          : "exit 0 and print 'alone' when no other live session shares your working directory; else exit 1 and list them",
      )
      .option("-w, --workdir <dir>", "look at this directory instead of your session's")
      .action((options: { workdir?: string }, command: Command) =>
        runCommand(async () => {
          const global = command.optsWithGlobals<GlobalOptions>();
          const self = process.env.BATON_SESSION_ID || undefined;
          if (!self && !options.workdir) {
            usage(verb, "BATON_SESSION_ID is not set: run it from an agent's shell or pass --workdir <dir>");
            return;
          }
          const workDir = options.workdir ? resolve(options.workdir) : undefined;
          const found = await listOthers(clientFrom(global), self, workDir);
          const alone = found.others.length === 0;
          if (verb === "alone") {
            print(global, { alone, ...found }, (value) =>
              value.alone ? "alone" : `not alone:\n${sessionTable(value.others)}`,
            );
            if (!alone) process.exitCode = EXIT.failed;
            return;
          }
          print(global, found, (value) =>
            value.others.length ? sessionTable(value.others) : `no other sessions in ${value.workDir}`,
          );
        }),
      );
  }

  program
    .command("wait")
    .description("be sent a message when <session> finishes, or after <seconds>; returns at once")
    .argument("<session>", "the session to wait for (id or name)")
    .argument("<seconds>", "give up after this many seconds", positiveInteger)
    .addHelpText(
      "after",
      "\nRun it from an agent's shell ($BATON_SESSION_ID is the waiter), then end the turn: the message wakes you.",
    )
    .action((session: string, seconds: number, _options: unknown, command: Command) =>
      runCommand(async () => {
        const global = command.optsWithGlobals<GlobalOptions>();
        const self = selfOrUsage("wait", "only a session can wait (it is woken by a message)");
        if (!self) return;
        const receipt = await clientFrom(global).wait(self, { target: session, timeoutSeconds: seconds });
        print(global, receipt, (value) => `waiting for ${session} until ${value.deadline} (${value.waitId})`);
      }),
    );

  program
    .command("what")
    .description("what a session is doing now: status, time in status, current tool, last output, cost")
    .argument("<session>", "session id or name")
    .action((session: string, _options: unknown, command: Command) =>
      runCommand(async () => {
        const global = command.optsWithGlobals<GlobalOptions>();
        print(global, await clientFrom(global).what(session), (value) => value.description);
      }),
    );

  program
    .command("clear")
    .description("start a fresh conversation in a finished session (same name and counters, history dropped)")
    .argument("<session>", "session id or name")
    .action((session: string, _options: unknown, command: Command) =>
      runCommand(async () => {
        const global = command.optsWithGlobals<GlobalOptions>();
        const cleared = await clientFrom(global).clear(session);
        print(
          global,
          cleared,
          (value) => `${value.name ?? value.id} cleared: the next message starts afresh`,
        );
      }),
    );

  program
    .command("mcp")
    .description("serve Baton's coordination tools to an MCP client over stdio (Claude Desktop, Claude Code)")
    .addHelpText(
      "after",
      "\nClaude Code:  claude mcp add baton -e BATON_URL=http://127.0.0.1:8420 -- baton mcp\nSee docs/coordination.md for Claude Desktop.",
    )
    .action((_options: unknown, command: Command) =>
      runCommand(async () => {
        const global = command.optsWithGlobals<GlobalOptions>();
        // Inside an agent's shell the tools act for that session (its children, its name); elsewhere for a person.
        const self = process.env.BATON_SESSION_ID || undefined;
        // Loaded here: the MCP SDK and the tool schemas would slow every other command's start.
        const { serveMcpOverStdio } = await import("../../mcp/stdio-server.ts");
        const { buildServedTools } = await import("../../coordination/agent-tools.ts");
        await serveMcpOverStdio(buildServedTools(clientFrom(global), self));
      }),
    );
}

/** The calling session from the environment, or a usage error (exit 2) saying what to do instead. */
function selfOrUsage(verb: string, instead: string): string | undefined {
  const self = process.env.BATON_SESSION_ID;
  if (self) return self;
  usage(verb, `BATON_SESSION_ID is not set: run it from an agent's shell, or ${instead}`);
  return undefined;
}

function usage(verb: string, message: string): void {
  reportFailure({ message, exitCode: EXIT.usage, prefix: `baton ${verb}` });
}

function positiveInteger(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0)
    throw new InvalidArgumentError("must be a whole number greater than 0");
  return number;
}
