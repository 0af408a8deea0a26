import { type Command, InvalidArgumentError } from "commander";
import { followEvents } from "../../client/index.ts";
import { describeEvent } from "../format.ts";
import { clientFrom, cliToken, type GlobalOptions, runCommand } from "../run-command.ts";

interface EventOptions {
  after?: number;
  limit?: number;
  topics?: string;
  output?: boolean;
  deltas?: boolean;
  follow?: boolean;
}

export function registerEventCommands(program: Command): void {
  program
    .command("events")
    .description("print the event log: one session's, or the global log without <session>")
    .argument("[session]", "session id or name")
    .option("--after <seq>", "only events after this seq", nonNegativeInteger)
    .option("--limit <n>", "at most this many (default 500)", nonNegativeInteger)
    .option("-t, --topics <topics>", "comma-separated topics: exact, session.*, or *")
    .option("-o, --output", "include session.output (assistant text)")
    .option("--deltas", "also its streamed pieces (session.output with delta: true)")
    .option("-f, --follow", "keep streaming new events (reconnects without losing any)")
    .action((session: string | undefined, options: EventOptions, command: Command) =>
      runCommand(async () => {
        const global = command.optsWithGlobals<GlobalOptions>();
        const client = clientFrom(global);
        const topics = options.topics
          ?.split(",")
          .map((topic) => topic.trim())
          .filter(Boolean);
        const printEvent = (event: Parameters<typeof describeEvent>[0]) =>
          process.stdout.write(
            global.json
              ? `${JSON.stringify(event)}\n`
              : `${describeEvent(event, process.stdout.isTTY === true)}\n`,
          );
        const query = {
          ...(options.after !== undefined && { after: options.after }),
          ...(options.limit !== undefined && { limit: options.limit }),
          ...(topics && { topics }),
          ...(options.output && { output: true }),
          ...(options.deltas && { deltas: true }),
        };
        const page = session ? await client.sessionEvents(session, query) : await client.events(query);
        if (!options.follow) {
          if (global.json) process.stdout.write(`${JSON.stringify(page, null, 2)}\n`);
          else for (const event of page.events) printEvent(event);
          return;
        }
        for (const event of page.events) printEvent(event);
        const controller = new AbortController();
        process.once("SIGINT", () => controller.abort());
        await followEvents({
          url: client.url,
          token: cliToken(global),
          path: session ? `/sessions/${encodeURIComponent(session)}/events` : "/events",
          after: page.nextAfter,
          topics,
          output: options.output,
          deltas: options.deltas,
          signal: controller.signal,
          onEvent: printEvent,
          onReconnect: (after, reason) =>
            process.stderr.write(`baton: stream dropped (${reason}); resuming after #${after}\n`),
        });
      }),
    );
}

function nonNegativeInteger(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0) throw new InvalidArgumentError("must be a whole number >= 0");
  return number;
}
