import { type Command, InvalidArgumentError } from "commander";
import { followEventsOverWs } from "../../client/index.ts";
import type { BatonEvent } from "../../events/catalogue.ts";
import { describeEvent } from "../format.ts";
import { clientFrom, cliToken, type GlobalOptions, runCommand } from "../run-command.ts";

interface WatchOptions {
  topics?: string;
  /** Commander's `--no-output` sets this to false. */
  output: boolean;
  deltas?: boolean;
  after?: number;
}

export function registerWatchCommand(program: Command): void {
  program
    .command("watch")
    .description("follow events live, readably: tool calls, output, costs, status changes")
    .argument("[session]", "only this session (id or name); its history is shown first")
    .option("-t, --topics <topics>", "comma-separated topics: exact, session.*, or * (default: all)")
    .option("--no-output", "leave out session.output (assistant text)")
    .option("--deltas", "also show assistant text as it streams (pieces marked …), before the whole text")
    .option("--after <seq>", "start after this seq (default: a session's whole history, or now)", seq)
    .addHelpText(
      "after",
      `
Reconnects by itself (after a network drop or a Baton restart) without losing or repeating an event.
If Baton cannot be reached at the start, exits with code 3 instead of waiting for it.
With --json each event is one JSON line on stdout; notices go to stderr. Ctrl-C stops.

Examples:
  baton watch fixer                 one session, from its start, live
  baton watch -t 'session.*,lab.*'  everything on those topics from now on`,
    )
    .action((session: string | undefined, options: WatchOptions, command: Command) =>
      runCommand(async () => {
        const global = command.optsWithGlobals<GlobalOptions>();
        const client = clientFrom(global);
        const colour = !global.json && process.stdout.isTTY === true;
        const print = (event: BatonEvent) =>
          process.stdout.write(
            global.json ? `${JSON.stringify(event)}\n` : `${describeEvent(event, colour)}\n`,
          );
        const notice = (text: string) => process.stderr.write(`baton: ${text}\n`);
        const controller = new AbortController();
        const stop = () => controller.abort();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
        if (!global.json) notice(`watching ${session ?? "all events"} at ${client.url} (Ctrl-C to stop)`);
        await followEventsOverWs({
          url: client.url,
          token: cliToken(global),
          session,
          topics: options.topics
            ?.split(",")
            .map((topic) => topic.trim())
            .filter(Boolean),
          output: options.output,
          deltas: options.deltas === true,
          after: options.after ?? (session ? 0 : undefined),
          signal: controller.signal,
          // Never connected: Baton is not running (exit 3, as every command). Once connected, a drop is retried.
          requireFirstConnection: true,
          onEvent: print,
          onReconnect: (after, reason) =>
            notice(`connection lost (${reason}); retrying until Baton is back, resuming after #${after}`),
          onReset: ({ after, oldestSeq, latestSeq }) => {
            notice(
              after > latestSeq
                ? `#${after} is past the newest event #${latestSeq} (another database?); showing everything kept`
                : `events #${after + 1} to #${oldestSeq - 1} were pruned (retention); going on from #${oldestSeq}`,
            );
            return oldestSeq - 1;
          },
        });
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
      }),
    );
}

function seq(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0) throw new InvalidArgumentError("must be a whole number >= 0");
  return number;
}
