import { resolve } from "node:path";
import type { Command } from "commander";
import type { LockList } from "../../locks/lock-schema.ts";
import { formatAge, renderTable } from "../format.ts";
import { clientFrom, EXIT, type GlobalOptions, print, reportFailure, runCommand } from "../run-command.ts";

interface SessionOption {
  session?: string;
}

/** `lock`, `unlock` and `locks`: workspace locks (docs/locks-and-worktrees.md). */
export function registerLockCommands(program: Command): void {
  program
    .command("lock")
    .description("lock a workDir (default: the session's) or a file until unlock or the end of the turn")
    .argument("<reason>", "why: shown to sessions that wait for it")
    .option("-s, --session <session>", "the holder (default: $BATON_SESSION_ID)")
    .option("-p, --path <path>", "a directory or file (relative to the current directory), or file:/workdir:")
    .option("--wait <ms>", "wait this long for a holder to let go (default: fail at once)")
    .action((reason: string, options: SessionOption & { path?: string; wait?: string }, command: Command) =>
      runCommand(async () => {
        const global = command.optsWithGlobals<GlobalOptions>();
        const session = sessionOf(options);
        if (!session) return;
        const waitMs = options.wait === undefined ? undefined : Number(options.wait);
        if (waitMs !== undefined && !(Number.isInteger(waitMs) && waitMs >= 0)) {
          usage("--wait takes a whole number of milliseconds");
          return;
        }
        const lock = await clientFrom(global).lock(session, {
          reason,
          ...(options.path ? { resource: absoluteResource(options.path) } : {}),
          ...(waitMs !== undefined ? { waitMs } : {}),
        });
        print(global, lock, (value) => `locked ${value.resource} (${value.reason ?? ""})`);
      }),
    );

  program
    .command("unlock")
    .description("release one lock, or every lock the session holds")
    .option("-s, --session <session>", "the holder (default: $BATON_SESSION_ID)")
    .option("-p, --path <path>", "only this directory or file (default: everything)")
    .action((options: SessionOption & { path?: string }, command: Command) =>
      runCommand(async () => {
        const global = command.optsWithGlobals<GlobalOptions>();
        const session = sessionOf(options);
        if (!session) return;
        const result = await clientFrom(global).unlock(
          session,
          options.path ? { resource: absoluteResource(options.path) } : {},
        );
        print(global, result, (value) =>
          value.released.length === 0
            ? "nothing to unlock"
            : value.released.map((lock) => `released ${lock.resource}`).join("\n"),
        );
      }),
    );

  program
    .command("locks")
    .description("who holds which workspace lock, and who waits for whom")
    .option("-s, --session <session>", "only this session's locks and waits")
    .action((options: SessionOption, command: Command) =>
      runCommand(async () => {
        const global = command.optsWithGlobals<GlobalOptions>();
        const list = await clientFrom(global).locks(options.session ? { session: options.session } : {});
        print(global, list, locksText);
      }),
    );
}

function sessionOf(options: SessionOption): string | undefined {
  const session = options.session ?? process.env.BATON_SESSION_ID;
  if (!session)
    usage("no session: pass --session <id|name>, or run inside a Baton session ($BATON_SESSION_ID)");
  return session || undefined;
}

function usage(message: string): void {
  reportFailure({ message, exitCode: EXIT.usage });
}

/** A path on the command line means the caller's current directory, not the session's workDir. */
function absoluteResource(path: string): string {
  const match = /^(file|workdir):(.+)$/.exec(path);
  if (match?.[1] && match[2]) return `${match[1]}:${resolve(match[2])}`;
  return resolve(path);
}

function locksText(list: LockList): string {
  const held =
    list.locks.length === 0
      ? "no locks held"
      : renderTable(
          ["RESOURCE", "HOLDER", "KIND", "REASON", "AGE"],
          list.locks.map((lock) => [
            lock.resource,
            lock.sessionName ?? lock.sessionId,
            lock.kind,
            lock.reason ?? "-",
            formatAge(lock.acquiredAt),
          ]),
        );
  if (list.waiters.length === 0) return held;
  const waiting = renderTable(
    ["WAITER", "RESOURCE", "HOLDER", "WAITING"],
    list.waiters.map((waiter) => [
      waiter.sessionId,
      waiter.resource,
      waiter.holderName ?? waiter.holder,
      `${formatAge(waiter.since)} of ${Math.round(waiter.timeoutMs / 1000)}s`,
    ]),
  );
  return `${held}\n\n${waiting}`;
}
