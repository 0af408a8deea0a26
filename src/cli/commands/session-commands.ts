import { resolve } from "node:path";
import { type Command, InvalidArgumentError, Option } from "commander";
import type { DeliveryMode, SessionConfigInput } from "../../sessions/session-schema.ts";
import { sessionDetail, sessionTable } from "../format.ts";
import { clientFrom, type GlobalOptions, print, runCommand } from "../run-command.ts";
import { addSpawnFlags, configFromFlags } from "../spawn-flags.ts";
import { WAIT_UNTIL, type WaitUntil, waitForSession } from "../wait-for-session.ts";

export function registerSessionCommands(program: Command): void {
  addSpawnFlags(
    program
      .command("spawn")
      .description("start a new agent session working on <prompt> in a directory")
      .argument("<prompt>", "what the agent should do"),
  )
    .addHelpText(
      "after",
      '\nEvery field of the spawn request has a flag (docs/configuration.md).\nExample:\n  baton spawn "Fix the failing test in src/auth" --workdir ~/proj --name fixer --budget 3',
    )
    .action((prompt: string, options: Record<string, unknown>, command: Command) =>
      runCommand(async () => {
        const global = command.optsWithGlobals<GlobalOptions>();
        const given = configFromFlags(options);
        const parent = given.parentSessionId ?? process.env.BATON_SESSION_ID;
        const config: SessionConfigInput = {
          ...given,
          prompt,
          workDir: resolve(given.workDir ?? process.cwd()),
          ...(parent && { parentSessionId: parent }),
        };
        const session = await clientFrom(global).spawn(config);
        print(
          global,
          session,
          (value) =>
            `${value.name ?? value.id} ${value.status}${value.queuePosition ? ` (queue position ${value.queuePosition})` : ""}\nid: ${value.id}`,
        );
      }),
    );

  program
    .command("ls")
    .description("list sessions, newest first")
    .option("-s, --status <statuses>", "only these statuses (comma-separated)")
    .option("--owner <owner>", "only this owner's sessions")
    .option("--parent <session>", "only children of this session")
    .option("--limit <n>", "at most this many (default 50)", positiveInteger)
    .action(
      (options: { status?: string; owner?: string; parent?: string; limit?: number }, command: Command) =>
        runCommand(async () => {
          const global = command.optsWithGlobals<GlobalOptions>();
          const page = await clientFrom(global).list({
            ...(options.status && { status: options.status }),
            ...(options.owner && { owner: options.owner }),
            ...(options.parent && { parentSessionId: options.parent }),
            ...(options.limit && { limit: options.limit }),
          });
          print(global, page, (value) => sessionTable(value.sessions));
        }),
    );

  program
    .command("show")
    .description("show one session: config, status, result, cost, turns, error")
    .argument("<session>", "session id or name")
    .addOption(
      new Option("--wait [until]", "first wait: idle (turn over, or waiting for a human) or tool (one runs)")
        .choices(WAIT_UNTIL)
        .preset("idle"),
    )
    .option("--timeout <s>", "give up waiting after this many seconds (exit 1)", positiveInteger, 300)
    .action((session: string, options: { wait?: WaitUntil; timeout: number }, command: Command) =>
      runCommand(async () => {
        const global = command.optsWithGlobals<GlobalOptions>();
        const client = clientFrom(global);
        const shown = options.wait
          ? await waitForSession(client, session, options.wait, options.timeout)
          : await client.get(session);
        print(global, shown, sessionDetail);
      }),
    );

  program
    .command("send")
    .description("send a follow-up message into a session's conversation, or to the session holding a key")
    .argument("<session>", "session id or name (with --key: the message)")
    .argument("[text]", "the message")
    .option(
      "-m, --mode <mode>",
      "queue (after the current turn), steer (into the running turn), interrupt (default: queue; with --key, steer while it works)",
    )
    .option("-k, --idempotency-key <key>", "a retried send with the same key is delivered once")
    .option(
      "--key <key>",
      "send to the live session that holds this key (e.g. ticket-42), spawning one from keyTemplates if none does",
    )
    .addHelpText(
      "after",
      '\nExamples:\n  baton send fixer "Also add a regression test"\n  baton send --key ticket-42 "The customer replied: it works now"',
    )
    .action(
      (
        first: string,
        second: string | undefined,
        options: { mode?: string; idempotencyKey?: string; key?: string },
        command: Command,
      ) =>
        runCommand(async () => {
          const global = command.optsWithGlobals<GlobalOptions>();
          const client = clientFrom(global);
          const extra = {
            // The server checks the mode and names it when it is not one of the three.
            ...(options.mode && { mode: options.mode as DeliveryMode }),
            ...(options.idempotencyKey && { idempotencyKey: options.idempotencyKey }),
          };
          if (options.key) {
            if (second !== undefined)
              throw new Error("with --key, give only the message: baton send --key K <text>");
            const receipt = await client.sendToKey(options.key, { text: first, ...extra });
            print(global, receipt, (value) =>
              value.created
                ? `spawned ${value.sessionId} for key ${options.key}`
                : `message ${value.messageId} to ${value.sessionId} (key ${options.key})`,
            );
            return;
          }
          if (second === undefined) throw new Error("missing the message: baton send <session> <text>");
          const receipt = await client.send(first, { text: second, ...extra });
          print(
            global,
            receipt,
            (value) => `message ${value.messageId} ${value.deliveredAt ? "delivered" : "queued"}`,
          );
        }),
    );

  for (const [name, description] of [
    ["interrupt", "stop the current turn; the session stays usable"],
    ["kill", "kill the session and every process it started; it takes no more work"],
  ] as const) {
    program
      .command(name)
      .description(description)
      .argument("<session>", "session id or name")
      .action((session: string, _options: unknown, command: Command) =>
        runCommand(async () => {
          const global = command.optsWithGlobals<GlobalOptions>();
          const client = clientFrom(global);
          const result = name === "kill" ? await client.kill(session) : await client.interrupt(session);
          print(
            global,
            result,
            (value) => `${value.name ?? value.id} ${name === "kill" ? "killed" : "interrupted"}`,
          );
        }),
      );
  }
}

function positiveInteger(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0)
    throw new InvalidArgumentError("must be a whole number greater than 0");
  return number;
}
